//! The behaviour every BlobStore backend must show. Today it runs on the filesystem
//! backend; an object-store backend gets the same functions.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use wharf_blobs::{AppendCheck, BlobError, BlobStore, ByteStream, Chunk, FsBlobStore};
use wharf_oci::{Algorithm, Digest};

fn body(chunks: &[&[u8]]) -> ByteStream {
    let items: Vec<io::Result<Bytes>> = chunks.iter().map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    Box::pin(stream::iter(items))
}

fn failing_body(first: &[u8]) -> ByteStream {
    let items = vec![Ok(Bytes::copy_from_slice(first)), Err(io::Error::other("client went away"))];
    Box::pin(stream::iter(items))
}

async fn read_all(store: &dyn BlobStore, digest: &Digest, start: u64, end: u64) -> Vec<u8> {
    let mut s = store.read(digest, start, end).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

fn fs_store(dir: &std::path::Path) -> Arc<dyn BlobStore> {
    Arc::new(FsBlobStore::open(dir, 1 << 20).unwrap())
}

#[tokio::test]
async fn chunked_upload_commit_and_ranged_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    store.create_upload("u").await.unwrap();
    assert_eq!(store.append("u", Chunk::new(AppendCheck::default(), body(&[b"hello ", b"wor"]))).await.unwrap(), 9);
    let check = AppendCheck { offset: Some(9), length: Some(2) };
    assert_eq!(store.append("u", Chunk::new(check, body(&[b"ld"]))).await.unwrap(), 11);
    assert_eq!(store.upload_len("u").await.unwrap(), Some(11));
    let digest = Digest::sha256_of(b"hello world");
    assert!(!store.exists(&digest).await.unwrap(), "invisible before commit");
    assert_eq!(store.commit("u", &digest, None).await.unwrap(), 11);
    assert!(store.exists(&digest).await.unwrap());
    assert_eq!(store.upload_len("u").await.unwrap(), Some(11), "the session stays until settled");
    store.settle("u", &digest).await.unwrap();
    assert_eq!(store.upload_len("u").await.unwrap(), None, "session gone");
    assert_eq!(read_all(&*store, &digest, 0, 11).await, b"hello world");
    assert_eq!(read_all(&*store, &digest, 6, 9).await, b"wor");
}

#[tokio::test]
async fn a_failed_append_leaves_the_session_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    store.create_upload("u").await.unwrap();
    store.append("u", Chunk::new(AppendCheck::default(), body(&[b"abc"]))).await.unwrap();

    let wrong_offset = AppendCheck { offset: Some(0), length: None };
    let e = store.append("u", Chunk::new(wrong_offset, body(&[b"x"]))).await.unwrap_err();
    assert!(matches!(e, BlobError::OffsetMismatch { current: 3, requested: 0 }), "{e}");

    let short = AppendCheck { offset: Some(3), length: Some(10) };
    let e = store.append("u", Chunk::new(short, body(&[b"12345"]))).await.unwrap_err();
    assert!(matches!(e, BlobError::LengthMismatch { expected: 10, received: 5 }), "{e}");

    let long = AppendCheck { offset: None, length: Some(2) };
    assert!(matches!(
        store.append("u", Chunk::new(long, body(&[b"12345"]))).await,
        Err(BlobError::LengthMismatch { .. })
    ));

    let e = store.append("u", Chunk::new(AppendCheck::default(), failing_body(b"zzz"))).await.unwrap_err();
    assert!(matches!(e, BlobError::Body(_)), "{e}");

    assert_eq!(store.upload_len("u").await.unwrap(), Some(3), "all or nothing");
    store.append("u", Chunk::new(AppendCheck::default(), body(&[b"def"]))).await.unwrap();
    assert_eq!(store.commit("u", &Digest::sha256_of(b"abcdef"), None).await.unwrap(), 6);
}

#[tokio::test]
async fn digest_mismatch_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    store.create_upload("u").await.unwrap();
    store.append("u", Chunk::new(AppendCheck::default(), body(&[b"data"]))).await.unwrap();
    let claimed = Digest::sha256_of(b"other");
    assert!(matches!(store.commit("u", &claimed, None).await, Err(BlobError::DigestMismatch { .. })));
    assert!(!store.exists(&claimed).await.unwrap());
    assert!(!store.exists(&Digest::sha256_of(b"data")).await.unwrap());
    assert_eq!(store.upload_len("u").await.unwrap(), None);
}

#[tokio::test]
async fn a_session_resumes_in_a_new_process() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = fs_store(dir.path());
        store.create_upload("u").await.unwrap();
        store.append("u", Chunk::new(AppendCheck::default(), body(&[b"first half, "]))).await.unwrap();
    }
    // A fresh store (a restarted server, another node) rebuilds the hash from the file.
    let store = fs_store(dir.path());
    let len = store.upload_len("u").await.unwrap().unwrap();
    let rest = Chunk::new(AppendCheck { offset: Some(len), length: None }, body(&[b"second half"]));
    store.append("u", rest).await.unwrap();
    let digest = Digest::sha256_of(b"first half, second half");
    assert_eq!(store.commit("u", &digest, None).await.unwrap(), 23);
}

#[tokio::test]
async fn sha512_and_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    store.create_upload("u").await.unwrap();
    store.append("u", Chunk::new(AppendCheck::default(), body(&[b"x"]))).await.unwrap();
    let digest = Digest::of(Algorithm::Sha512, b"x");
    assert_eq!(store.commit("u", &digest, None).await.unwrap(), 1);
    assert_eq!(read_all(&*store, &digest, 0, 1).await, b"x");

    store.create_upload("big").await.unwrap();
    let mib = vec![0u8; 1 << 20];
    let e = store.append("big", Chunk::new(AppendCheck::default(), body(&[&mib, b"!"]))).await.unwrap_err();
    assert!(matches!(e, BlobError::TooLarge { .. }), "{e}");
    assert_eq!(store.upload_len("big").await.unwrap(), Some(0));
}

#[tokio::test]
async fn the_same_blob_committed_concurrently_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    let digest = Digest::sha256_of(b"shared layer");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        let digest = digest.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("u{i}");
            store.create_upload(&id).await.unwrap();
            store.append(&id, Chunk::new(AppendCheck::default(), body(&[b"shared ", b"layer"]))).await.unwrap();
            let size = store.commit(&id, &digest, None).await.unwrap();
            store.settle(&id, &digest).await.unwrap();
            size
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 12);
    }
    assert_eq!(read_all(&*store, &digest, 0, 12).await, b"shared layer");
    let leftovers = std::fs::read_dir(dir.path().join("uploads")).unwrap().count();
    assert_eq!(leftovers, 0, "every session file was installed or dropped");
}

#[tokio::test]
async fn unknown_sessions_and_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    assert!(matches!(
        store.append("nope", Chunk::new(AppendCheck::default(), body(&[b"x"]))).await,
        Err(BlobError::UploadUnknown)
    ));
    assert!(matches!(store.commit("nope", &Digest::sha256_of(b""), None).await, Err(BlobError::UploadUnknown)));
    assert!(matches!(store.abort("nope").await, Err(BlobError::UploadUnknown)));
    assert!(matches!(store.read(&Digest::sha256_of(b"none"), 0, 1).await, Err(BlobError::NotFound)));
    store.create_upload("u").await.unwrap();
    store.abort("u").await.unwrap();
    assert_eq!(store.upload_len("u").await.unwrap(), None);
}

#[tokio::test]
async fn commit_with_a_last_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    store.create_upload("u").await.unwrap();
    store.append("u", Chunk::new(AppendCheck::default(), body(&[b"head "]))).await.unwrap();
    let digest = Digest::sha256_of(b"head tail");

    // A last chunk that does not arrive as declared changes nothing.
    let short = Chunk::new(AppendCheck { offset: Some(5), length: Some(9) }, body(&[b"tail"]));
    assert!(matches!(store.commit("u", &digest, Some(short)).await, Err(BlobError::LengthMismatch { .. })));
    assert!(!store.exists(&digest).await.unwrap());
    assert_eq!(store.upload_len("u").await.unwrap(), Some(5));

    let last = Chunk::new(AppendCheck { offset: Some(5), length: Some(4) }, body(&[b"tail"]));
    assert_eq!(store.commit("u", &digest, Some(last)).await.unwrap(), 9);
    assert_eq!(read_all(&*store, &digest, 0, 9).await, b"head tail");
    store.settle("u", &digest).await.unwrap();
    assert_eq!(store.upload_len("u").await.unwrap(), None);

    // A mismatching digest ends the session and stores nothing.
    store.create_upload("v").await.unwrap();
    let wrong = Digest::sha256_of(b"something else");
    let last = Chunk::new(AppendCheck::default(), body(&[b"data"]));
    assert!(matches!(store.commit("v", &wrong, Some(last)).await, Err(BlobError::DigestMismatch { .. })));
    assert!(!store.exists(&wrong).await.unwrap());
    assert_eq!(store.upload_len("v").await.unwrap(), None);
}

/// The upload's half of the race with garbage collection: a blob moved aside between the
/// commit and the metadata write is installed again by `settle`.
#[tokio::test]
async fn settle_reinstalls_a_blob_collected_in_between() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    let digest = Digest::sha256_of(b"layer");
    store.create_upload("u").await.unwrap();
    store.commit("u", &digest, Some(Chunk::new(AppendCheck::default(), body(&[b"layer"])))).await.unwrap();
    assert!(store.quarantine(&digest).await.unwrap());
    assert!(!store.exists(&digest).await.unwrap(), "reads no longer find it");
    store.discard(&digest).await.unwrap();
    store.settle("u", &digest).await.unwrap();
    assert_eq!(read_all(&*store, &digest, 0, 5).await, b"layer");
    assert!(store.stored_uploads().await.unwrap().is_empty());
}

#[tokio::test]
async fn quarantine_restore_and_listings() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path());
    let (a, b) = (Digest::sha256_of(b"a"), Digest::sha256_of(b"bb"));
    for (id, digest, bytes) in [("ua", &a, &b"a"[..]), ("ub", &b, &b"bb"[..])] {
        store.create_upload(id).await.unwrap();
        store.commit(id, digest, Some(Chunk::new(AppendCheck::default(), body(&[bytes])))).await.unwrap();
        store.settle(id, digest).await.unwrap();
    }
    store.create_upload("open").await.unwrap();
    let uploads = store.stored_uploads().await.unwrap();
    assert_eq!(uploads.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["open"]);
    assert!(uploads[0].modified_at > 0);

    let mut stored = store.stored_blobs().await.unwrap();
    stored.sort_by_key(|s| s.size);
    assert_eq!(stored.iter().map(|s| (&s.digest, s.size)).collect::<Vec<_>>(), [(&a, 1), (&b, 2)]);

    assert!(store.quarantine(&a).await.unwrap());
    assert!(!store.quarantine(&a).await.unwrap(), "already moved");
    assert!(store.quarantine(&b).await.unwrap());
    let mut aside = store.quarantined().await.unwrap();
    aside.sort_by_key(|d| d.to_string());
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort_by_key(|d| d.to_string());
    assert_eq!(aside, expected);
    assert_eq!(store.stored_blobs().await.unwrap().len(), 0);

    store.restore(&a).await.unwrap();
    store.discard(&b).await.unwrap();
    assert_eq!(read_all(&*store, &a, 0, 1).await, b"a");
    assert!(!store.exists(&b).await.unwrap());
    assert!(store.quarantined().await.unwrap().is_empty());
}

/// Bytes that differ at every offset, so a piece written to the wrong place shows.
fn patterned(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4093 + seed) as u8).collect()
}

#[tokio::test]
async fn large_appends_from_unaligned_offsets_keep_every_byte() {
    // Stages of a megabyte bypass the page cache with aligned direct writes; chunks that
    // start mid-block and end mid-stage mix them with cached writes.
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(dir.path(), 64 << 20).unwrap());
    let data = patterned(9 * 1024 * 1024 + 12_345, 0);
    let cuts = [0, 1_500_001, 4_194_311, 4_194_312, 8_000_000, data.len()];
    store.create_upload("u").await.unwrap();
    for w in cuts.windows(2) {
        let part = &data[w[0]..w[1]];
        let pieces: Vec<&[u8]> = part.chunks(65_521).collect();
        let check = AppendCheck { offset: Some(w[0] as u64), length: Some(part.len() as u64) };
        assert_eq!(store.append("u", Chunk::new(check, body(&pieces))).await.unwrap(), w[1] as u64);
    }
    let digest = Digest::sha256_of(&data);
    assert_eq!(store.commit("u", &digest, None).await.unwrap(), data.len() as u64);
    assert_eq!(read_all(&*store, &digest, 0, data.len() as u64).await, data);

    // A failed large append is cut back to where the session was.
    let data = patterned(7 * 1024 * 1024 + 3, 1);
    store.create_upload("v").await.unwrap();
    let head = &data[..3_000_001];
    store.append("v", Chunk::new(AppendCheck::default(), body(&[head]))).await.unwrap();
    let tail = data[3_000_001..6_000_000].to_vec();
    let failing = Box::pin(stream::iter(vec![Ok(Bytes::from(tail)), Err(io::Error::other("gone"))]));
    assert!(store.append("v", Chunk::new(AppendCheck::default(), failing)).await.is_err());
    assert_eq!(store.upload_len("v").await.unwrap(), Some(3_000_001));
    let rest = &data[3_000_001..];
    let digest = Digest::sha256_of(&data);
    assert!(!store.exists(&digest).await.unwrap());
    let last = Chunk::new(AppendCheck::default(), body(&rest.chunks(1 << 20).collect::<Vec<_>>()));
    assert_eq!(store.commit("v", &digest, Some(last)).await.unwrap(), data.len() as u64);
    assert_eq!(read_all(&*store, &digest, 0, data.len() as u64).await, data);
}
