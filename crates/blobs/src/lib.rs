//! `BlobStore`: content-addressed bytes and the upload sessions that produce them.
//!
//! A blob becomes visible only when all of it is written, its digest verified and it is
//! durable; a failed or interrupted upload leaves nothing visible. Which repositories may
//! read a blob is not the store's business: that is metadata.

mod fs;

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use wharf_oci::Digest;

pub use fs::FsBlobStore;

/// A stream of blob bytes, as read from a store or received from a client.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("upload session not found")]
    UploadUnknown,
    /// An append that does not start where the session ends.
    #[error("upload is at offset {current}, not {requested}")]
    OffsetMismatch { current: u64, requested: u64 },
    /// The body did not have the length the request declared.
    #[error("expected {expected} bytes, received {received}")]
    LengthMismatch { expected: u64, received: u64 },
    #[error("upload would exceed the maximum blob size of {max} bytes")]
    TooLarge { max: u64 },
    #[error("content digest is {actual}, not the declared {declared}")]
    DigestMismatch { declared: Digest, actual: Digest },
    #[error("blob not found")]
    NotFound,
    /// The client's body stream failed (disconnect, malformed chunking).
    #[error("request body: {0}")]
    Body(io::Error),
    #[error("storage I/O: {0}")]
    Io(#[from] io::Error),
}

pub type Result<T, E = BlobError> = std::result::Result<T, E>;

/// What an append should check about the bytes it receives.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppendCheck {
    /// Where the client says the bytes start (`Content-Range`).
    pub offset: Option<u64>,
    /// How many bytes the client says it sends (`Content-Length` / `Content-Range`).
    pub length: Option<u64>,
}

/// Bytes of an upload as received, with what the client declared about them.
pub struct Chunk {
    pub check: AppendCheck,
    pub body: ByteStream,
}

impl Chunk {
    pub fn new(check: AppendCheck, body: ByteStream) -> Chunk {
        Chunk { check, body }
    }
}

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Bytes `start..end` of a blob (`end` exclusive, at most the blob's size).
    async fn read(&self, digest: &Digest, start: u64, end: u64) -> Result<ByteStream>;

    async fn exists(&self, digest: &Digest) -> Result<bool>;

    /// Opens an empty upload session.
    async fn create_upload(&self, id: &str) -> Result<()>;

    /// How many bytes a session holds, `None` if it does not exist.
    async fn upload_len(&self, id: &str) -> Result<Option<u64>>;

    /// Appends a chunk. Either every byte of it lands or none does; the new length.
    async fn append(&self, id: &str, chunk: Chunk) -> Result<u64>;

    /// Appends an optional last chunk, verifies the session's content against `digest` and
    /// makes it the durable blob `digest`; the blob's size. The session's bytes stay until
    /// [`settle`](BlobStore::settle) (or `abort`); a last chunk that failed leaves the
    /// session as it was, as with `append`, and a digest mismatch ends it.
    async fn commit(&self, id: &str, digest: &Digest, last: Option<Chunk>) -> Result<u64>;

    /// After the metadata recorded blob `digest` committed from session `id`: makes sure the
    /// blob is in place, installing it again from the session if a garbage collection took
    /// it away in between, then drops the session.
    ///
    /// This is the upload's half of the race with garbage collection: a collection moves a
    /// blob aside, then looks for its row, and puts it back if the row is there. A row
    /// written after that look is followed by this call, which finds the blob gone and
    /// reinstalls it. Either way a recorded blob ends up in place.
    async fn settle(&self, id: &str, digest: &Digest) -> Result<()>;

    /// Drops a session and its bytes.
    async fn abort(&self, id: &str) -> Result<()>;

    /// Every stored blob, with when its file was last written.
    async fn stored_blobs(&self) -> Result<Vec<StoredBlob>>;

    /// Moves a blob aside, where reads no longer find it; whether it was there.
    async fn quarantine(&self, digest: &Digest) -> Result<bool>;

    /// Puts a quarantined blob back (unless the same content was installed meanwhile).
    async fn restore(&self, digest: &Digest) -> Result<()>;

    /// Deletes a quarantined blob for good.
    async fn discard(&self, digest: &Digest) -> Result<()>;

    /// Blobs left in quarantine (by a collection that stopped half-way).
    async fn quarantined(&self) -> Result<Vec<Digest>>;

    /// Every upload session, with when it was last written.
    async fn stored_uploads(&self) -> Result<Vec<StoredUpload>>;
}

/// A blob found in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub digest: Digest,
    pub size: u64,
    /// Last write, epoch milliseconds.
    pub modified_at: i64,
}

/// An upload session found in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpload {
    pub id: String,
    /// Last write, epoch milliseconds.
    pub modified_at: i64,
}
