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
    /// makes it the durable blob `digest`; the blob's size. Afterwards the session is gone,
    /// unless the last chunk itself failed (then it is as before, as with `append`).
    async fn commit(&self, id: &str, digest: &Digest, last: Option<Chunk>) -> Result<u64>;

    /// Drops a session and its bytes.
    async fn abort(&self, id: &str) -> Result<()>;
}
