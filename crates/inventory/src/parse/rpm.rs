//! rpm's database. rpm ≥ 4.16 (RHEL 9 and its rebuilds, Fedora ≥ 33) keeps it in SQLite,
//! `rpmdb.sqlite`, whose `Packages` table holds each installed package's header blob.
//!
//! The SQLite file is opened from memory with SQLite itself (`rusqlite`, on the same bundled
//! `libsqlite3-sys` the metadata store already builds): the format has B-trees, overflow
//! pages and freelists that a hand-written reader would get wrong on some real database, and
//! SQLite is hardened against corrupt files. It is deserialised rather than written to a
//! temporary file because this crate does no disk I/O of its own.
//!
//! The header blob format (rpm's `headerImport`) is small and has no Rust crate worth its
//! weight, so it is parsed here.

use rusqlite::{Connection, DatabaseName, OpenFlags};

use crate::model::{Package, PackageKind};
use crate::parse::distro_package;
use crate::parse::elf::{read_uint, slice};

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_SOURCERPM: u32 = 1044;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;
/// rpm refuses headers with more index entries or data than this (`hdrchkTags`, `hdrchkData`).
const MAX_INDEX_ENTRIES: u64 = 0x00ff_ffff;
const ENTRY_LEN: u64 = 16;

/// The installed packages in an `rpmdb.sqlite` file.
pub(crate) fn parse_sqlite(data: &[u8]) -> Vec<Package> {
    read_blobs(data).unwrap_or_default().iter().filter_map(|blob| package_from_header(blob)).collect()
}

fn read_blobs(data: &[u8]) -> Result<Vec<Vec<u8>>, rusqlite::Error> {
    let mut db = Connection::open_in_memory_with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    db.deserialize(DatabaseName::Main, sqlite_buffer(data)?, true)?;
    let mut statement = db.prepare("SELECT blob FROM Packages ORDER BY hnum")?;
    statement.query_map([], |row| row.get::<_, Vec<u8>>(0))?.collect()
}

/// A copy of the database in memory SQLite allocated, as `sqlite3_deserialize` requires.
///
/// rpm runs its database in WAL mode, which an in-memory database cannot be in: SQLite then
/// refuses to read it. The header's read and write versions (bytes 18 and 19) are set back to
/// the rollback journal. Pages still in a `-wal` file beside the database are not seen; images
/// are built after rpm has checkpointed, which leaves that file empty.
fn sqlite_buffer(data: &[u8]) -> Result<rusqlite::serialize::OwnedData, rusqlite::Error> {
    let mut copy = data.to_vec();
    if copy.len() >= 20 && copy[18] == 2 && copy[19] == 2 {
        copy[18] = 1;
        copy[19] = 1;
    }
    let len = copy.len();
    // SAFETY: sqlite3_malloc64 returns either null (checked) or a buffer of `len` bytes that
    // we own; `copy` is `len` bytes and cannot overlap it. OwnedData takes the buffer over and
    // hands it to SQLite, which frees it with sqlite3_free.
    unsafe {
        let ptr = rusqlite::ffi::sqlite3_malloc64(len.max(1) as u64).cast::<u8>();
        let ptr = std::ptr::NonNull::new(ptr)
            .ok_or(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOMEM), None))?;
        std::ptr::copy_nonoverlapping(copy.as_ptr(), ptr.as_ptr(), len);
        Ok(rusqlite::serialize::OwnedData::from_raw_nonnull(ptr, len))
    }
}

/// The package a header blob describes: an index of (tag, type, offset, count) entries and the
/// data they point into, all big-endian. `gpg-pubkey` entries are imported signing keys, not
/// packages.
pub(crate) fn package_from_header(blob: &[u8]) -> Option<Package> {
    let header = Header::parse(blob)?;
    let name = header.string(TAG_NAME)?;
    if name == "gpg-pubkey" {
        return None;
    }
    let version = header.string(TAG_VERSION)?;
    let release = header.string(TAG_RELEASE)?;
    // OSV's rpm versions carry the epoch only when it is not zero, as rpm prints them.
    let full_version = match header.int32(TAG_EPOCH) {
        Some(epoch) if epoch != 0 => format!("{epoch}:{version}-{release}"),
        _ => format!("{version}-{release}"),
    };
    let source = header.string(TAG_SOURCERPM).and_then(|srpm| split_source_rpm(&srpm));
    let (source_name, source_version) = source.unwrap_or_else(|| (name.clone(), format!("{version}-{release}")));
    Some(distro_package(PackageKind::Rpm, &name, &full_version, (&source_name, &source_version)))
}

/// `openssl-3.0.7-27.el9.src.rpm` → (`openssl`, `3.0.7-27.el9`): name-version-release, where
/// only the name may contain dashes.
fn split_source_rpm(file: &str) -> Option<(String, String)> {
    let nvr = file.strip_suffix(".src.rpm").or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (name_version, release) = nvr.rsplit_once('-')?;
    let (name, version) = name_version.rsplit_once('-')?;
    Some((name.to_string(), format!("{version}-{release}")))
}

struct Header<'a> {
    index: &'a [u8],
    store: &'a [u8],
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Option<Header<'a>> {
        let count = read_uint(blob, 0, 4, false)?;
        let data_len = read_uint(blob, 4, 4, false)?;
        if count > MAX_INDEX_ENTRIES || data_len > MAX_INDEX_ENTRIES * ENTRY_LEN {
            return None;
        }
        let index = slice(blob, 8, count * ENTRY_LEN)?;
        let store = slice(blob, 8 + count * ENTRY_LEN, data_len)?;
        Some(Header { index, store })
    }

    /// (type, offset, count) of `tag`'s entry.
    fn entry(&self, tag: u32) -> Option<(u32, u64, u64)> {
        self.index.chunks_exact(ENTRY_LEN as usize).find_map(|entry| {
            let field = |i: u64| read_uint(entry, i * 4, 4, false);
            (field(0)? == u64::from(tag)).then(|| Some((field(1)? as u32, field(2)?, field(3)?)))?
        })
    }

    fn string(&self, tag: u32) -> Option<String> {
        let (kind, offset, _) = self.entry(tag)?;
        if kind != TYPE_STRING && kind != TYPE_I18NSTRING {
            return None;
        }
        let rest = self.store.get(usize::try_from(offset).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned()).filter(|s| !s.is_empty())
    }

    fn int32(&self, tag: u32) -> Option<u32> {
        let (kind, offset, count) = self.entry(tag)?;
        if kind != TYPE_INT32 || count == 0 {
            return None;
        }
        read_uint(self.store, offset, 4, false).map(|n| n as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_names() {
        let cases = [
            ("openssl-3.0.7-27.el9.src.rpm", Some(("openssl", "3.0.7-27.el9"))),
            ("python-setuptools-53.0.0-12.el9.src.rpm", Some(("python-setuptools", "53.0.0-12.el9"))),
            ("kernel-5.14.0-427.13.1.el9_4.nosrc.rpm", Some(("kernel", "5.14.0-427.13.1.el9_4"))),
            ("(none)", None),
            ("bash-5.1.src.rpm", None),
        ];
        for (file, expected) in cases {
            let expected = expected.map(|(n, v)| (n.to_string(), v.to_string()));
            assert_eq!(split_source_rpm(file), expected, "{file}");
        }
    }

    /// A header blob with the given (tag, type, data) entries.
    fn header(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let (mut index, mut store) = (Vec::new(), Vec::new());
        for (tag, kind, data) in entries {
            for n in [*tag, *kind, store.len() as u32, 1] {
                index.extend_from_slice(&n.to_be_bytes());
            }
            store.extend_from_slice(data);
        }
        let mut blob = (entries.len() as u32).to_be_bytes().to_vec();
        blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
        blob.extend(index);
        blob.extend(store);
        blob
    }

    #[test]
    fn headers_without_epoch_or_source_and_broken_headers() {
        let blob = header(&[
            (TAG_NAME, TYPE_STRING, b"curl\0"),
            (TAG_VERSION, TYPE_STRING, b"7.76.1\0"),
            (TAG_RELEASE, TYPE_STRING, b"29.el9_4\0"),
        ]);
        let package = package_from_header(&blob).unwrap();
        assert_eq!((package.name.as_str(), package.version.as_str()), ("curl", "7.76.1-29.el9_4"));
        assert_eq!(package.source.unwrap().name, "curl");
        let key = header(&[
            (TAG_NAME, TYPE_STRING, b"gpg-pubkey\0"),
            (TAG_VERSION, TYPE_STRING, b"b86b3716\0"),
            (TAG_RELEASE, TYPE_STRING, b"61e69f29\0"),
        ]);
        assert!(package_from_header(&key).is_none(), "signing keys are not packages");
        for cut in 0..blob.len() {
            assert!(package_from_header(&blob[..cut]).is_none());
        }
        let unterminated = header(&[(TAG_NAME, TYPE_STRING, b"curl")]);
        assert!(package_from_header(&unterminated).is_none());
        assert!(parse_sqlite(b"SQLite format 3\0 but nothing else").is_empty());
    }
}
