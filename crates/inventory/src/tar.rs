//! A tar reader for layer streams that bounds everything a layer controls.
//!
//! Hand-written rather than the `tar` crate because that crate reads GNU long-name and PAX
//! extension records whole into memory, however large the header says they are, so a hostile
//! layer could make it allocate gigabytes before we see a path; and its raw mode, which would
//! let us bound them, leaves PAX (and the PAX `size` of files over 8 GiB) to the caller anyway.
//! The format is small: 512-byte headers, bodies padded to 512 bytes, and three extension
//! records (GNU `L`/`K`, PAX `x`) that change the next header's path, link or size.
//!
//! Every byte read, header or body, counts toward [`Limits::max_layer_bytes`], so a body that
//! is skipped still costs what inflating it costs.

use std::io::Read;

use crate::LayerError;
use crate::limits::Limits;

const BLOCK: usize = 512;
/// PAX records carry paths but also extended attributes (SELinux labels, capabilities), so they
/// may be longer than a path, but not by this much in any image we know of.
const MAX_PAX_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    Symlink,
    HardLink,
    /// Devices, FIFOs, sparse files and other records that never hold package metadata.
    Other,
}

#[derive(Debug)]
pub(crate) struct Header {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    /// The target of a hard link (a path in the same archive) or of a symbolic link.
    pub link: Option<String>,
}

pub(crate) struct TarReader<R> {
    inner: R,
    limits: Limits,
    compressed: bool,
    consumed: u64,
    entries: u64,
    /// Unread body bytes of the current entry, then its padding.
    body_left: u64,
    padding: u64,
}

/// What GNU and PAX extension records say about the header that follows them.
#[derive(Default)]
struct Pending {
    path: Option<String>,
    link: Option<String>,
    size: Option<u64>,
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R, limits: Limits, compressed: bool) -> Self {
        TarReader { inner, limits, compressed, consumed: 0, entries: 0, body_left: 0, padding: 0 }
    }

    /// The next entry, after skipping whatever is left of the current one; `None` at the end
    /// of the archive (a zero block, or the end of the stream at a header boundary).
    pub fn next_entry(&mut self) -> Result<Option<Header>, LayerError> {
        self.skip_body()?;
        let mut pending = Pending::default();
        loop {
            let Some(block) = self.read_header_block()? else { return Ok(None) };
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(LayerError::TooManyEntries { limit: self.limits.max_entries });
            }
            let flag = block[156];
            // A PAX size belongs to the entry the extension records lead up to.
            let size = match pending.size {
                Some(size) if !matches!(flag, b'L' | b'K' | b'x' | b'g') => size,
                _ => header_size(&block)?,
            };
            self.start_body(size);
            match flag {
                b'L' => pending.path = Some(self.read_long_name(size)?),
                b'K' => pending.link = Some(self.read_long_name(size)?),
                b'x' => self.read_pax(size, &mut pending)?,
                // Global PAX records set defaults for the rest of the archive; in image layers
                // they hold at most a comment, never paths.
                b'g' => self.skip_body()?,
                flag => return self.finish_header(&block, flag, pending).map(Some),
            }
        }
    }

    /// Reads the current entry's body whole, or returns `None` (leaving it to be skipped) if it
    /// is longer than `max`.
    pub fn read_body(&mut self, max: u64) -> Result<Option<Vec<u8>>, LayerError> {
        self.read_body_after(Vec::new(), max)
    }

    /// [`TarReader::read_body`] into a buffer that already holds the body's first bytes (read
    /// with `read_body_chunk`), so a caller that peeked at them needs no second copy.
    ///
    /// The buffer's capacity is reserved once for the size the header claims (at most `max`),
    /// so it never reallocates (which would briefly hold the file twice); memory pages are
    /// only touched as bytes arrive, so a header that lies about its size costs address
    /// space, not memory.
    pub fn read_body_after(&mut self, mut buf: Vec<u8>, max: u64) -> Result<Option<Vec<u8>>, LayerError> {
        if self.body_left > max {
            return Ok(None);
        }
        const STEP: usize = 64 << 10;
        let total = buf.len() + self.body_left as usize;
        buf.reserve_exact(total - buf.len());
        while buf.len() < total {
            let start = buf.len();
            buf.resize(total.min(start + STEP), 0);
            let n = self.read_body_chunk(&mut buf[start..])?;
            buf.truncate(start + n);
        }
        Ok(Some(buf))
    }

    /// Reads the next bytes of the current entry's body into `buf`; 0 at its end.
    pub fn read_body_chunk(&mut self, buf: &mut [u8]) -> Result<usize, LayerError> {
        let want = buf.len().min(usize::try_from(self.body_left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.read_inner(&mut buf[..want])?;
        if n == 0 {
            return Err(LayerError::Truncated);
        }
        self.body_left -= n as u64;
        Ok(n)
    }

    fn start_body(&mut self, size: u64) {
        self.body_left = size;
        self.padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
    }

    fn skip_body(&mut self) -> Result<(), LayerError> {
        let mut scratch = [0u8; 8192];
        while self.body_left > 0 {
            self.read_body_chunk(&mut scratch)?;
        }
        while self.padding > 0 {
            let want = scratch.len().min(self.padding as usize);
            let n = self.read_inner(&mut scratch[..want])?;
            if n == 0 {
                return Err(LayerError::Truncated);
            }
            self.padding -= n as u64;
        }
        Ok(())
    }

    /// A header block, or `None` at the end of the archive.
    fn read_header_block(&mut self) -> Result<Option<[u8; BLOCK]>, LayerError> {
        let mut block = [0u8; BLOCK];
        let mut filled = 0;
        while filled < BLOCK {
            let n = self.read_inner(&mut block[filled..])?;
            if n == 0 {
                // Some writers omit the two zero blocks that end an archive; tar(1) accepts
                // that, and so do we, but not a header cut in half.
                return if filled == 0 { Ok(None) } else { Err(LayerError::Truncated) };
            }
            filled += n;
        }
        if block.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        verify_checksum(&block)?;
        Ok(Some(block))
    }

    fn finish_header(&mut self, block: &[u8; BLOCK], flag: u8, pending: Pending) -> Result<Header, LayerError> {
        let kind = match flag {
            b'0' | 0 | b'7' => EntryKind::File,
            b'5' => EntryKind::Dir,
            b'2' => EntryKind::Symlink,
            b'1' => EntryKind::HardLink,
            _ => EntryKind::Other,
        };
        let path = match pending.path {
            Some(path) => path,
            None => header_path(block),
        };
        let link = match pending.link {
            Some(link) => Some(link),
            None if matches!(kind, EntryKind::Symlink | EntryKind::HardLink) => Some(cstr(&block[157..257])),
            None => None,
        };
        let too_long = |s: &str| s.len() > self.limits.max_path_bytes;
        if too_long(&path) || link.as_deref().is_some_and(too_long) {
            return Err(LayerError::PathTooLong { limit: self.limits.max_path_bytes });
        }
        // Hard links, symlinks and directories have no body whatever their size field says
        // (POSIX); honouring a size there would desynchronise the stream.
        if kind != EntryKind::File && kind != EntryKind::Other {
            self.start_body(0);
        }
        Ok(Header { path, kind, size: self.body_left, link })
    }

    fn read_long_name(&mut self, size: u64) -> Result<String, LayerError> {
        // +1 for the terminating NUL GNU tar writes.
        let limit = self.limits.max_path_bytes as u64 + 1;
        if size > limit {
            return Err(LayerError::PathTooLong { limit: self.limits.max_path_bytes });
        }
        let body = self.read_body(limit)?.unwrap_or_default();
        self.skip_body()?;
        Ok(cstr(&body))
    }

    fn read_pax(&mut self, size: u64, pending: &mut Pending) -> Result<(), LayerError> {
        if size > MAX_PAX_BYTES {
            return Err(LayerError::NotTar("PAX extended header longer than 1 MiB"));
        }
        let body = self.read_body(MAX_PAX_BYTES)?.unwrap_or_default();
        self.skip_body()?;
        for (key, value) in pax_records(&body)? {
            match key {
                b"path" => pending.path = Some(String::from_utf8_lossy(value).into_owned()),
                b"linkpath" => pending.link = Some(String::from_utf8_lossy(value).into_owned()),
                b"size" => {
                    let size = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
                    pending.size = Some(size.ok_or(LayerError::NotTar("PAX size is not a number"))?);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads from the stream, counting toward the layer's byte limit.
    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, LayerError> {
        let limit = self.limits.max_layer_bytes;
        if self.consumed >= limit {
            // One byte more tells a stream that ends exactly at the limit from one that goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe).map_err(|e| self.read_error(e))? {
                0 => Ok(0),
                _ => Err(LayerError::TooManyBytes { limit }),
            };
        }
        let room = usize::try_from(limit - self.consumed).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let n = loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(e)),
            }
        };
        self.consumed += n as u64;
        Ok(n)
    }

    fn read_error(&self, e: std::io::Error) -> LayerError {
        if self.compressed { LayerError::Decompress(e) } else { LayerError::Io(e) }
    }
}

fn verify_checksum(block: &[u8; BLOCK]) -> Result<(), LayerError> {
    let stored = parse_octal(&block[148..156]).ok_or(LayerError::NotTar("header checksum is not a number"))?;
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    // Some old writers summed signed bytes; tar(1) accepts either.
    if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
        Ok(())
    } else {
        Err(LayerError::NotTar("header checksum does not match"))
    }
}

fn header_size(block: &[u8; BLOCK]) -> Result<u64, LayerError> {
    let field = &block[124..136];
    // GNU base-256 for sizes of 8 GiB and more: the high bit set, then a big-endian number.
    if field[0] & 0x80 != 0 {
        if field[0] != 0x80 || field[1..4].iter().any(|&b| b != 0) {
            return Err(LayerError::NotTar("entry size out of range"));
        }
        return Ok(field[4..].iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)));
    }
    parse_octal(field).ok_or(LayerError::NotTar("entry size is not a number"))
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = field.split(|&b| b == 0).next().unwrap_or_default();
    let text = std::str::from_utf8(text).ok()?.trim_matches(' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The path of a ustar header: `prefix/name` when the POSIX prefix field is in use.
fn header_path(block: &[u8; BLOCK]) -> String {
    let name = cstr(&block[..100]);
    let posix = &block[257..263] == b"ustar\0";
    let prefix = if posix { cstr(&block[345..500]) } else { String::new() };
    if prefix.is_empty() { name } else { format!("{prefix}/{name}") }
}

fn cstr(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// A PAX record's key and value.
type PaxRecord<'a> = (&'a [u8], &'a [u8]);

/// PAX records: `"<length> <key>=<value>\n"`, the length counting the whole record.
fn pax_records(mut body: &[u8]) -> Result<Vec<PaxRecord<'_>>, LayerError> {
    let malformed = || LayerError::NotTar("malformed PAX record");
    let mut records = Vec::new();
    while !body.is_empty() && body[0] != 0 {
        let space = body.iter().position(|&b| b == b' ').ok_or_else(malformed)?;
        let len: usize = std::str::from_utf8(&body[..space]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        if len <= space + 1 || len > body.len() || body[len - 1] != b'\n' {
            return Err(malformed());
        }
        let record = &body[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(malformed)?;
        records.push((&record[..eq], &record[eq + 1..]));
        body = &body[len..];
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_parse_and_malformed_ones_are_refused() {
        let records = pax_records(b"30 path=usr/lib/a/b/c/d/e/f/g\n11 size=42\n").unwrap();
        assert_eq!(records, [(&b"path"[..], &b"usr/lib/a/b/c/d/e/f/g"[..]), (&b"size"[..], &b"42"[..])]);
        for bad in [&b"99 path=x\n"[..], b"5 path=x\n", b"nonsense", b"10 pathx\n\n\n", b"0 =\n"] {
            assert!(pax_records(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn sizes_in_octal_and_base_256() {
        let mut block = [0u8; BLOCK];
        block[124..136].copy_from_slice(b"00000001750\0");
        assert_eq!(header_size(&block).unwrap(), 1000);
        block[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0]);
        assert_eq!(header_size(&block).unwrap(), 8 << 30);
        block[124..136].copy_from_slice(&[0xff; 12]);
        assert!(header_size(&block).is_err());
        block[124..136].copy_from_slice(b"12345678901x");
        assert!(header_size(&block).is_err());
    }
}
