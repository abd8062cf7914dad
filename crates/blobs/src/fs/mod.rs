//! The filesystem backend: `blobs/<alg>/<2 hex>/<hex>` for blobs, `uploads/<id>` for
//! sessions, `trash/<alg>-<hex>` for blobs a garbage collection moved aside. A session's
//! SHA-256 state is kept in memory between requests and rebuilt by re-reading its file
//! when missing (after a restart, or on another node sharing the folder), so the file is
//! the only truth.

mod writer;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, spawn_blocking};
use wharf_oci::{Algorithm, Digest, Hasher};

use self::writer::{SessionWriter, StagePool};
use crate::{BlobError, BlobStore, ByteStream, Chunk, Result, StoredBlob, StoredUpload};

/// Read size for serving blobs: each chunk costs a hand-off to the blocking pool, so it is
/// large; one is read ahead, so a download holds at most two.
const READ_CHUNK: usize = 1024 * 1024;
/// Session states kept between requests; past this, idle ones are dropped.
const MAX_CACHED_SESSIONS: usize = 4096;
/// Received pieces are handed to the writer thread in batches of about this many bytes:
/// the body arrives in pieces of a few KiB, and waking the thread for each would cost more
/// CPU than hashing them. Batching moves the pieces, it does not copy them.
const WRITE_BATCH: usize = 256 * 1024;
/// Batches queued between the receiving side and the writer thread.
const WRITE_QUEUE: usize = 4;

/// What is known about a session between requests.
#[derive(Clone)]
struct SessionState {
    len: u64,
    /// SHA-256 of the first `len` bytes.
    hasher: Hasher,
}

type Slot = Arc<tokio::sync::Mutex<Option<SessionState>>>;

pub struct FsBlobStore {
    root: PathBuf,
    max_blob_bytes: u64,
    /// One lock per open session: requests on one session run one at a time, in order.
    sessions: Mutex<HashMap<String, Slot>>,
    stages: Arc<StagePool>,
}

impl FsBlobStore {
    /// Opens (creating if needed) a store under `root`.
    pub fn open(root: impl Into<PathBuf>, max_blob_bytes: u64) -> io::Result<FsBlobStore> {
        let root = root.into();
        std::fs::create_dir_all(root.join("blobs"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        std::fs::create_dir_all(root.join("trash"))?;
        Ok(FsBlobStore { root, max_blob_bytes, sessions: Mutex::new(HashMap::new()), stages: Arc::default() })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("blobs").join(digest.algorithm().as_str()).join(&hex[..2]).join(hex)
    }

    fn trash_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("trash").join(format!("{}-{}", digest.algorithm().as_str(), digest.hex()))
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    fn slot(&self, id: &str) -> Slot {
        let mut sessions = self.sessions.lock().expect("sessions lock");
        if sessions.len() >= MAX_CACHED_SESSIONS && !sessions.contains_key(id) {
            // Abandoned sessions must not pile up in memory. A state can always be rebuilt
            // from its file, so dropping every slot no request holds right now is safe.
            sessions.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        sessions.entry(id.to_owned()).or_default().clone()
    }

    fn forget(&self, id: &str) {
        self.sessions.lock().expect("sessions lock").remove(id);
    }

    /// The cached state, or one rebuilt from the session file.
    async fn state(&self, id: &str, cached: &mut Option<SessionState>) -> Result<SessionState> {
        if let Some(state) = cached.take() {
            return Ok(state);
        }
        let path = self.upload_path(id);
        let (len, hasher) = spawn_blocking(move || hash_file(&path, Algorithm::Sha256))
            .await
            .map_err(join_error)?
            .map_err(upload_missing)?;
        Ok(SessionState { len, hasher })
    }

    /// Appends a chunk under the session's lock; with `install`, also verifies the whole
    /// content and makes it the blob, in the same blocking task. All or nothing: a chunk
    /// that fails is cut off again and the session stays as it was, unless the content
    /// turned out not to match its digest, which ends the session.
    async fn write(&self, id: &str, chunk: Chunk, install: Option<Install>) -> Result<u64> {
        let slot = self.slot(id);
        let mut cached = slot.lock().await;
        let state = self.state(id, &mut cached).await?;
        if let Some(requested) = chunk.check.offset.filter(|&o| o != state.len) {
            let current = state.len;
            *cached = Some(state);
            return Err(BlobError::OffsetMismatch { current, requested });
        }
        let finishing = install.is_some();
        let target = WriteTarget { path: self.upload_path(id), stages: self.stages.clone(), max: self.max_blob_bytes };
        match write_chunk(target, state.clone(), chunk, install).await {
            Ok(next) => {
                let len = next.len;
                if finishing {
                    self.forget(id);
                } else {
                    *cached = Some(next);
                }
                Ok(len)
            }
            Err(e @ BlobError::DigestMismatch { .. }) => {
                self.forget(id);
                Err(e)
            }
            Err(e) => {
                let path = self.upload_path(id);
                let len = state.len;
                let cut = spawn_blocking(move || OpenOptions::new().write(true).open(path)?.set_len(len));
                match cut.await.map_err(join_error)? {
                    Ok(()) => *cached = Some(state),
                    // The session is gone altogether; the write's own error says why.
                    Err(gone) if gone.kind() == io::ErrorKind::NotFound => {}
                    Err(other) => return Err(other.into()),
                }
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for FsBlobStore {
    async fn read(&self, digest: &Digest, start: u64, end: u64) -> Result<ByteStream> {
        let path = self.blob_path(digest);
        let file = spawn_blocking(move || File::open(path)).await.map_err(join_error)?.map_err(not_found)?;
        Ok(read_stream(Arc::new(file), start, end))
    }

    async fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(tokio::fs::try_exists(self.blob_path(digest)).await?)
    }

    async fn create_upload(&self, id: &str) -> Result<()> {
        let path = self.upload_path(id);
        spawn_blocking(move || OpenOptions::new().write(true).create_new(true).open(path))
            .await
            .map_err(join_error)??;
        let hasher = Algorithm::Sha256.hasher();
        *self.slot(id).lock().await = Some(SessionState { len: 0, hasher });
        Ok(())
    }

    async fn upload_len(&self, id: &str) -> Result<Option<u64>> {
        match tokio::fs::metadata(self.upload_path(id)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn append(&self, id: &str, chunk: Chunk) -> Result<u64> {
        self.write(id, chunk, None).await
    }

    async fn commit(&self, id: &str, digest: &Digest, last: Option<Chunk>) -> Result<u64> {
        let install = Install { declared: digest.clone(), target: self.blob_path(digest) };
        match last {
            Some(chunk) => self.write(id, chunk, Some(install)).await,
            None => {
                let slot = self.slot(id);
                let mut cached = slot.lock().await;
                let state = self.state(id, &mut cached).await;
                self.forget(id);
                let SessionState { len, hasher } = state?;
                let upload = self.upload_path(id);
                spawn_blocking(move || verify_and_install(&upload, &File::open(&upload)?, hasher, &install))
                    .await
                    .map_err(join_error)??;
                Ok(len)
            }
        }
    }

    async fn settle(&self, id: &str, digest: &Digest) -> Result<()> {
        let (upload, target) = (self.upload_path(id), self.blob_path(digest));
        spawn_blocking(move || {
            if !target.exists() {
                link_in(&upload, &target)?;
            }
            match std::fs::remove_file(&upload) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
        .await
        .map_err(join_error)?
        .map_err(upload_missing)
    }

    async fn abort(&self, id: &str) -> Result<()> {
        let slot = self.slot(id);
        let _guard = slot.lock().await;
        self.forget(id);
        tokio::fs::remove_file(self.upload_path(id)).await.map_err(upload_missing)
    }

    async fn stored_blobs(&self) -> Result<Vec<StoredBlob>> {
        let root = self.root.join("blobs");
        Ok(spawn_blocking(move || list_blobs(&root)).await.map_err(join_error)??)
    }

    async fn quarantine(&self, digest: &Digest) -> Result<bool> {
        match tokio::fs::rename(self.blob_path(digest), self.trash_path(digest)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn restore(&self, digest: &Digest) -> Result<()> {
        let (trash, target) = (self.trash_path(digest), self.blob_path(digest));
        spawn_blocking(move || {
            if target.exists() {
                return std::fs::remove_file(&trash);
            }
            make_parent(&target)?;
            std::fs::rename(&trash, &target)?;
            sync_dir(target.parent().expect("blob path has a parent"))
        })
        .await
        .map_err(join_error)??;
        Ok(())
    }

    async fn discard(&self, digest: &Digest) -> Result<()> {
        match tokio::fs::remove_file(self.trash_path(digest)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn quarantined(&self) -> Result<Vec<Digest>> {
        let dir = self.root.join("trash");
        let names = spawn_blocking(move || file_names(&dir)).await.map_err(join_error)??;
        // `<alg>-<hex>`: the digest with its `:` replaced (not a valid file name everywhere).
        Ok(names.iter().filter_map(|(name, _)| name.replacen('-', ":", 1).parse().ok()).collect())
    }

    async fn stored_uploads(&self) -> Result<Vec<StoredUpload>> {
        let dir = self.root.join("uploads");
        let names = spawn_blocking(move || file_names(&dir)).await.map_err(join_error)??;
        Ok(names.into_iter().map(|(id, meta)| StoredUpload { id, modified_at: modified_ms(&meta) }).collect())
    }
}

/// The files of a folder, with their metadata (entries that vanish meanwhile are skipped).
fn file_names(dir: &Path) -> io::Result<Vec<(String, std::fs::Metadata)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(meta) = entry.metadata() else { continue };
        if let (true, Ok(name)) = (meta.is_file(), entry.file_name().into_string()) {
            found.push((name, meta));
        }
    }
    Ok(found)
}

/// Walks `blobs/<alg>/<2 hex>/<hex>`.
fn list_blobs(root: &Path) -> io::Result<Vec<StoredBlob>> {
    let mut blobs = Vec::new();
    for algorithm in std::fs::read_dir(root)? {
        let algorithm = algorithm?;
        let Ok(alg) = algorithm.file_name().into_string() else { continue };
        if !algorithm.file_type()?.is_dir() {
            continue;
        }
        for prefix in std::fs::read_dir(algorithm.path())? {
            let prefix = prefix?;
            if !prefix.file_type()?.is_dir() {
                continue;
            }
            for (hex, meta) in file_names(&prefix.path())? {
                if let Ok(digest) = format!("{alg}:{hex}").parse::<Digest>() {
                    blobs.push(StoredBlob { digest, size: meta.len(), modified_at: modified_ms(&meta) });
                }
            }
        }
    }
    Ok(blobs)
}

fn modified_ms(meta: &std::fs::Metadata) -> i64 {
    let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    modified.map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Where verified content goes, and what it must hash to.
struct Install {
    declared: Digest,
    target: PathBuf,
}

/// What the receiving side tells the writer thread.
enum ToWriter {
    Batch(Vec<Bytes>),
    /// Every byte arrived as declared: go on to verify and install, if asked to.
    Complete,
}

/// The session file a chunk goes to, and what writing it needs.
struct WriteTarget {
    path: PathBuf,
    stages: Arc<StagePool>,
    /// The most bytes a blob may have.
    max: u64,
}

/// Streams `chunk` into the session file on a blocking thread while hashing it, so
/// receiving, hashing and writing overlap; with `install`, the same thread then verifies
/// the content and installs it. Returns the state after the chunk.
async fn write_chunk(
    target: WriteTarget,
    state: SessionState,
    chunk: Chunk,
    install: Option<Install>,
) -> Result<SessionState> {
    let (tx, mut rx) = mpsc::channel::<ToWriter>(WRITE_QUEUE);
    let SessionState { len, mut hasher } = state;
    let WriteTarget { path, stages, max } = target;
    let writer = spawn_blocking(move || -> Result<Hasher> {
        let mut session = SessionWriter::open(&path, len, &stages).map_err(upload_missing)?;
        while let Some(message) = rx.blocking_recv() {
            match message {
                ToWriter::Batch(batch) => {
                    for piece in &batch {
                        session.write(piece)?;
                        hasher.update(piece);
                    }
                }
                ToWriter::Complete => {
                    session.finish()?;
                    if let Some(install) = &install {
                        verify_and_install(&path, session.file(), hasher.clone(), install)?;
                    }
                    break;
                }
            }
        }
        Ok(hasher)
    });
    let (check, mut body) = (chunk.check, chunk.body);
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let mut received: u64 = 0;
    let mut failure = None;
    while let Some(item) = body.next().await {
        let piece = match item {
            Ok(piece) => piece,
            Err(e) => {
                failure = Some(BlobError::Body(e));
                break;
            }
        };
        received += piece.len() as u64;
        if len + received > max {
            failure = Some(BlobError::TooLarge { max });
            break;
        }
        if let Some(expected) = check.length.filter(|&l| received > l) {
            failure = Some(BlobError::LengthMismatch { expected, received });
            break;
        }
        batch_bytes += piece.len();
        batch.push(piece);
        if batch_bytes >= WRITE_BATCH {
            batch_bytes = 0;
            if tx.send(ToWriter::Batch(std::mem::take(&mut batch))).await.is_err() {
                break; // the writer failed; its error is reported below
            }
        }
    }
    if failure.is_none()
        && let Some(expected) = check.length.filter(|&l| received != l)
    {
        failure = Some(BlobError::LengthMismatch { expected, received });
    }
    if failure.is_none() {
        // Without `Complete` the writer stops after what it has, and installs nothing.
        let _ = tx.send(ToWriter::Batch(batch)).await;
        let _ = tx.send(ToWriter::Complete).await;
    }
    drop(tx);
    let hasher = writer.await.map_err(join_error)??;
    match failure {
        Some(e) => Err(e),
        None => Ok(SessionState { len: len + received, hasher }),
    }
}

/// Checks the session's content against the declared digest (`hasher` holds its SHA-256)
/// and makes it the durable blob: data synced, linked into place, directory entry synced.
/// On a mismatch the upload is removed.
fn verify_and_install(upload: &Path, file: &File, hasher: Hasher, install: &Install) -> Result<()> {
    let actual = match install.declared.algorithm() {
        Algorithm::Sha256 => hasher.finish(),
        other => hash_file(upload, other)?.1.finish(),
    };
    if actual != install.declared {
        std::fs::remove_file(upload)?;
        return Err(BlobError::DigestMismatch { declared: install.declared.clone(), actual });
    }
    // The session counts as written now: a collection must not take it for abandoned
    // before `settle` (it shares its inode with the blob, which gets the same time).
    file.set_modified(std::time::SystemTime::now())?;
    if install.target.exists() {
        return Ok(());
    }
    file.sync_data()?;
    Ok(link_in(upload, &install.target)?)
}

/// Links the (synced) session file in as blob `target`, durably. A link, not a rename: the
/// session keeps the bytes until `settle`, which may need them again. Content that is
/// already there has the same bytes.
fn link_in(upload: &Path, target: &Path) -> io::Result<()> {
    make_parent(target)?;
    match std::fs::hard_link(upload, target) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
        Ok(()) => sync_dir(target.parent().expect("blob path has a parent")),
    }
}

/// Creates a blob's prefix folder, durably, if it is missing.
fn make_parent(target: &Path) -> io::Result<()> {
    let dir = target.parent().expect("blob path has a parent");
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        sync_dir(dir.parent().expect("prefix dir has a parent"))?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn hash_file(path: &Path, algorithm: Algorithm) -> io::Result<(u64, Hasher)> {
    let mut file = File::open(path)?;
    let mut hasher = algorithm.hasher();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((len, hasher));
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
}

/// Reads `start..end` chunk by chunk on the blocking pool, one chunk ahead of the
/// consumer, without holding a thread while the client is slow.
fn read_stream(file: Arc<File>, start: u64, end: u64) -> ByteStream {
    fn spawn_read(file: &Arc<File>, pos: u64, end: u64) -> JoinHandle<io::Result<Bytes>> {
        let file = file.clone();
        spawn_blocking(move || {
            let n = (end - pos).min(READ_CHUNK as u64) as usize;
            let mut buf = BytesMut::zeroed(n);
            file.read_exact_at(&mut buf, pos)?;
            Ok(buf.freeze())
        })
    }
    let first = (start < end).then(|| spawn_read(&file, start, end));
    let stream = futures_util::stream::unfold((file, start, first), move |(file, pos, pending)| async move {
        let chunk = match pending?.await {
            Ok(Ok(chunk)) => chunk,
            Ok(Err(e)) => return Some((Err(e), (file, end, None))),
            Err(e) => return Some((Err(io::Error::other(e)), (file, end, None))),
        };
        let next_pos = pos + chunk.len() as u64;
        let next = (next_pos < end).then(|| spawn_read(&file, next_pos, end));
        Some((Ok(chunk), (file, next_pos, next)))
    });
    Box::pin(stream)
}

fn upload_missing(e: io::Error) -> BlobError {
    if e.kind() == io::ErrorKind::NotFound { BlobError::UploadUnknown } else { BlobError::Io(e) }
}

fn not_found(e: io::Error) -> BlobError {
    if e.kind() == io::ErrorKind::NotFound { BlobError::NotFound } else { BlobError::Io(e) }
}

fn join_error(e: tokio::task::JoinError) -> BlobError {
    BlobError::Io(io::Error::other(e))
}
