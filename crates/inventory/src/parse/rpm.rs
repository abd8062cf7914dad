//! rpm's database. rpm ≥ 4.16 (RHEL 9 and its rebuilds, Fedora ≥ 33) keeps it in SQLite,
//! `rpmdb.sqlite`, whose `Packages` table holds each installed package's header blob.
//!
//! The SQLite file is opened from memory with SQLite itself (`rusqlite`, on the same bundled
//! `libsqlite3-sys` the metadata store already builds): the format has B-trees, overflow
//! pages and freelists that a hand-written reader would get wrong on some real database, and
//! SQLite is hardened against corrupt files. It is deserialised rather than written to a
//! temporary file because this crate does no disk I/O of its own.
//!
//! Older rpm (RHEL/CentOS 7 and 8, AlmaLinux and Rocky 8, Amazon Linux 2) keeps the same
//! header blobs in a Berkeley DB hash file, `Packages`. No Rust crate reads Berkeley DB, and
//! only the part rpm uses is needed (hash pages whose values sit on overflow-page chains), so
//! that is parsed here, as are the header blobs (rpm's `headerImport` format), which have no
//! crate worth its weight either. SUSE's NDB format (`Packages.db`) is not read: Debian's rpm,
//! the only one at hand to make a real fixture with, cannot write it.

use rusqlite::config::DbConfig;
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
    // The file comes from an image: SQLite's defensive mode is its setting for untrusted ones.
    db.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    db.deserialize(DatabaseName::Main, sqlite_buffer(data)?, true)?;
    let mut statement = db.prepare("SELECT blob FROM Packages ORDER BY hnum")?;
    statement.query_map([], |row| row.get::<_, Vec<u8>>(0))?.collect()
}

/// The installed packages in a Berkeley DB `Packages` file.
pub(crate) fn parse_bdb(data: &[u8]) -> Vec<Package> {
    bdb_values(data).iter().filter_map(|blob| package_from_header(blob)).collect()
}

const BDB_HASH_MAGIC: u64 = 0x0006_1561;
const BDB_PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

/// Every value of a Berkeley DB hash database. The file is in its writer's byte order, which
/// the magic number tells. Values live inline on hash pages (`H_KEYDATA`) or, for anything
/// the size of an rpm header, on a chain of overflow pages (`H_OFFPAGE`).
fn bdb_values(data: &[u8]) -> Vec<Vec<u8>> {
    let little = match (read_uint(data, 12, 4, true), read_uint(data, 12, 4, false)) {
        (Some(BDB_HASH_MAGIC), _) => true,
        (_, Some(BDB_HASH_MAGIC)) => false,
        _ => return Vec::new(),
    };
    let page_size = read_uint(data, 20, 4, little).unwrap_or(0) as usize;
    if !(512..=65536).contains(&page_size) || data.get(25) != Some(&P_HASHMETA) {
        return Vec::new();
    }
    let page = |n: u64| slice(data, n.checked_mul(page_size as u64)?, page_size as u64);
    let u16_at = |page: &[u8], at: usize| read_uint(page, at as u64, 2, little).map(|n| n as usize);
    let pages = (data.len() / page_size) as u64;
    let mut values = Vec::new();
    for number in 1..pages {
        let Some(hash_page) = page(number).filter(|p| p[25] == P_HASH || p[25] == P_HASH_UNSORTED) else { continue };
        let entries = u16_at(hash_page, 20).unwrap_or(0);
        let offsets: Vec<usize> = (0..entries).map_while(|i| u16_at(hash_page, BDB_PAGE_HEADER + 2 * i)).collect();
        // Entries alternate key, value; an inline item runs to the start of the one before it.
        for i in (1..offsets.len()).step_by(2) {
            let Some(item) = hash_page.get(offsets[i]..) else { continue };
            let value = match item.first() {
                Some(&H_KEYDATA) => hash_page.get(offsets[i] + 1..offsets[i - 1]).map(<[u8]>::to_vec),
                Some(&H_OFFPAGE) => {
                    let start = read_uint(item, 4, 4, little);
                    let len = read_uint(item, 8, 4, little);
                    start.zip(len).and_then(|(start, len)| overflow_chain(&page, start, len, pages, little))
                }
                _ => None,
            };
            values.extend(value);
        }
    }
    values
}

/// `len` bytes from a chain of overflow pages starting at page `start`. The chain is walked at
/// most once per page of the file, so a corrupt file that loops ends.
fn overflow_chain<'a>(
    page: &impl Fn(u64) -> Option<&'a [u8]>,
    start: u64,
    len: u64,
    pages: u64,
    little: bool,
) -> Option<Vec<u8>> {
    let mut value = Vec::new();
    let mut next = start;
    for _ in 0..pages {
        let overflow = page(next).filter(|p| p[25] == P_OVERFLOW)?;
        let used = read_uint(overflow, 22, 2, little)? as usize;
        value.extend_from_slice(overflow.get(BDB_PAGE_HEADER..BDB_PAGE_HEADER + used)?);
        if value.len() as u64 > len {
            return None;
        }
        next = read_uint(overflow, 16, 4, little)?;
        if next == 0 {
            return (value.len() as u64 == len).then_some(value);
        }
    }
    None
}

/// A copy of the database in memory SQLite allocated, as `sqlite3_deserialize` requires.
///
/// rpm runs its database in WAL mode, which an in-memory database cannot be in: SQLite then
/// refuses to read it. The header's read and write versions (bytes 18 and 19) are set back to
/// the rollback journal. Pages still in a `-wal` file beside the database are not seen; images
/// are built after rpm has checkpointed, which leaves that file empty.
fn sqlite_buffer(data: &[u8]) -> Result<rusqlite::serialize::OwnedData, rusqlite::Error> {
    let len = data.len();
    let out_of_memory = || rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOMEM), None);
    // SAFETY: sqlite3_malloc64 returns either null (checked) or a buffer of at least `len`
    // bytes that we own and that cannot overlap `data`. OwnedData takes the buffer over and
    // hands it to SQLite, which frees it with sqlite3_free.
    let buffer = unsafe {
        let ptr = std::ptr::NonNull::new(rusqlite::ffi::sqlite3_malloc64(len.max(1) as u64).cast::<u8>())
            .ok_or_else(out_of_memory)?;
        std::ptr::copy_nonoverlapping(data.as_ptr(), ptr.as_ptr(), len);
        if len >= 20 && data[18] == 2 && data[19] == 2 {
            ptr.as_ptr().add(18).write(1);
            ptr.as_ptr().add(19).write(1);
        }
        rusqlite::serialize::OwnedData::from_raw_nonnull(ptr, len)
    };
    Ok(buffer)
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
    let epoch = match header.int32(TAG_EPOCH) {
        Some(epoch) if epoch != 0 => format!("{epoch}:"),
        _ => String::new(),
    };
    let full_version = format!("{epoch}{version}-{release}");
    let source = header.string(TAG_SOURCERPM).and_then(|srpm| split_source_rpm(&srpm));
    let (source_name, source_version) = source.unwrap_or_else(|| (name.clone(), format!("{version}-{release}")));
    // The source rpm's file name has no epoch, but the epoch is the spec's, shared by the
    // source and every package built from it: without it `openssl-libs 1:3.0.7` would be
    // compared as its source `openssl 3.0.7`, below every advisory's `1:` fix.
    let source_version = format!("{epoch}{source_version}");
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
        let with_epoch = header(&[
            (TAG_NAME, TYPE_STRING, b"openssl-libs\0"),
            (TAG_VERSION, TYPE_STRING, b"3.0.7\0"),
            (TAG_RELEASE, TYPE_STRING, b"16.el9_2\0"),
            (TAG_EPOCH, TYPE_INT32, &1u32.to_be_bytes()),
            (TAG_SOURCERPM, TYPE_STRING, b"openssl-3.0.7-16.el9_2.src.rpm\0"),
        ]);
        let package = package_from_header(&with_epoch).unwrap();
        let source = package.source.unwrap();
        assert_eq!(package.version, "1:3.0.7-16.el9_2");
        assert_eq!(
            (source.name.as_str(), source.version.as_str()),
            ("openssl", "1:3.0.7-16.el9_2"),
            "the epoch is the source's too"
        );
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
