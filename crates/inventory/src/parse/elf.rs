//! ELF binaries: the sections that say what a binary was built from (Go's build info,
//! cargo-auditable's dependency list).
//!
//! Parsed by hand: we need the section and program header tables and nothing else, which is a
//! hundred lines, where `object` or `goblin` would bring a general object-file library (and
//! its build time) for it. Every read is bounds-checked; a malformed table just means "no
//! such section".

use std::io::Read;

use crate::model::Package;
use crate::parse::{cargo, go};
use crate::tar::TarReader;
use crate::{LayerError, Limits};

const MAGIC: [u8; 4] = *b"\x7fELF";
/// The smallest ELF header (32-bit); anything shorter is not an ELF file.
const MIN_HEADER: u64 = 52;
pub(crate) const PT_LOAD: u32 = 1;
pub(crate) const PF_W: u32 = 2;
const SHT_NOBITS: u32 = 8;

/// What reading a file as a possible ELF binary gave.
pub(crate) enum Scan {
    NotElf,
    /// An ELF binary, with the packages it names (possibly none).
    Packages(Vec<Package>),
    /// An ELF binary too big to read whole, in which no Go build info was found either.
    TooLarge,
}

/// Reads the current tar entry as a possible ELF binary: its first bytes decide, and only an
/// ELF file is read further. One no bigger than `max_file_bytes` is read whole and its
/// sections looked up; a bigger one streams past while its writable segment is searched for
/// Go build info, which needs no section table and, since Go 1.18, no other part of the file.
pub(crate) fn scan<R: Read>(tar: &mut TarReader<R>, size: u64, limits: &Limits) -> Result<Scan, LayerError> {
    if size < MIN_HEADER {
        return Ok(Scan::NotElf);
    }
    let mut magic = [0u8; 4];
    let mut filled = 0;
    while filled < magic.len() {
        filled += tar.read_body_chunk(&mut magic[filled..])?;
    }
    if magic != MAGIC {
        return Ok(Scan::NotElf);
    }
    if size <= limits.max_file_bytes {
        let data = tar.read_body_after(magic.to_vec(), limits.max_file_bytes)?.unwrap_or_default();
        return Ok(Scan::Packages(Elf::parse(&data).map(|elf| packages(&elf, limits)).unwrap_or_default()));
    }
    Ok(match go::stream_scan(tar, &magic)? {
        Some(packages) => Scan::Packages(packages),
        None => Scan::TooLarge,
    })
}

fn packages(elf: &Elf<'_>, limits: &Limits) -> Vec<Package> {
    let mut found = Vec::new();
    let buildinfo = match elf.section_data(".go.buildinfo") {
        Some(data) => Some(data),
        // Binaries with their section table stripped: Go's own reader then searches the
        // first writable segment.
        None => elf.writable_segment().and_then(go::find_magic),
    };
    if let Some(data) = buildinfo {
        found.extend(go::parse(data, |addr, len| elf.read_vaddr(addr, len)));
    }
    if let Some(data) = elf.section_data(".dep-v0") {
        found.extend(cargo::parse_auditable(data, limits.max_file_bytes));
    }
    found
}

/// A parsed ELF header over the whole file.
pub(crate) struct Elf<'a> {
    data: &'a [u8],
    wide: bool,
    little: bool,
}

struct SectionHeader {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
}

pub(crate) struct Segment {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
}

impl<'a> Elf<'a> {
    pub(crate) fn parse(data: &'a [u8]) -> Option<Elf<'a>> {
        if data.get(..4)? != MAGIC {
            return None;
        }
        let wide = match data.get(4)? {
            1 => false,
            2 => true,
            _ => return None,
        };
        let little = match data.get(5)? {
            1 => true,
            2 => false,
            _ => return None,
        };
        Some(Elf { data, wide, little })
    }

    fn uint(&self, offset: u64, len: usize) -> Option<u64> {
        read_uint(self.data, offset, len, self.little)
    }

    /// A native-width word: an address or offset.
    fn word(&self, offset: u64) -> Option<u64> {
        self.uint(offset, if self.wide { 8 } else { 4 })
    }

    /// The program headers (segments).
    pub(crate) fn segments(&self) -> Vec<Segment> {
        let (phoff, entsize, count) = if self.wide { (0x20, 0x36, 0x38) } else { (0x1c, 0x2a, 0x2c) };
        let (Some(phoff), Some(entsize), Some(count)) = (self.word(phoff), self.uint(entsize, 2), self.uint(count, 2))
        else {
            return Vec::new();
        };
        (0..count)
            .filter_map(|i| {
                let at = phoff.checked_add(i.checked_mul(entsize)?)?;
                let field = |wide_at: u64, narrow_at: u64| self.word(at + if self.wide { wide_at } else { narrow_at });
                Some(Segment {
                    kind: self.uint(at, 4)? as u32,
                    flags: self.uint(at + if self.wide { 4 } else { 0x18 }, 4)? as u32,
                    offset: field(0x08, 0x04)?,
                    vaddr: field(0x10, 0x08)?,
                    filesz: field(0x20, 0x10)?,
                })
            })
            .collect()
    }

    fn sections(&self) -> Vec<SectionHeader> {
        let (shoff, entsize, count) = if self.wide { (0x28, 0x3a, 0x3c) } else { (0x20, 0x2e, 0x30) };
        let (Some(shoff), Some(entsize), Some(count)) = (self.word(shoff), self.uint(entsize, 2), self.uint(count, 2))
        else {
            return Vec::new();
        };
        (0..count)
            .filter_map(|i| {
                let at = shoff.checked_add(i.checked_mul(entsize)?)?;
                let (offset_at, size_at) = if self.wide { (0x18, 0x20) } else { (0x10, 0x14) };
                Some(SectionHeader {
                    name: self.uint(at, 4)? as u32,
                    kind: self.uint(at + 4, 4)? as u32,
                    offset: self.word(at + offset_at)?,
                    size: self.word(at + size_at)?,
                })
            })
            .collect()
    }

    /// The file contents of the section called `name`.
    fn section_data(&self, name: &str) -> Option<&'a [u8]> {
        let sections = self.sections();
        let strtab_index = self.uint(if self.wide { 0x3e } else { 0x32 }, 2)?;
        let strtab = sections.get(usize::try_from(strtab_index).ok()?)?;
        let names = slice(self.data, strtab.offset, strtab.size)?;
        let section = sections.iter().find(|s| {
            let start = s.name as usize;
            names.get(start..).and_then(|rest| rest.split(|&b| b == 0).next()) == Some(name.as_bytes())
        })?;
        if section.kind == SHT_NOBITS {
            return None;
        }
        slice(self.data, section.offset, section.size)
    }

    /// The file contents of the first writable loaded segment (where data lives).
    fn writable_segment(&self) -> Option<&'a [u8]> {
        let segment = self.segments().into_iter().find(|s| s.kind == PT_LOAD && s.flags & PF_W != 0)?;
        slice(self.data, segment.offset, segment.filesz)
    }

    /// `len` bytes at virtual address `addr`, if a loaded segment maps them from the file.
    pub(crate) fn read_vaddr(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        self.segments().iter().filter(|s| s.kind == PT_LOAD).find_map(|s| {
            let rel = addr.checked_sub(s.vaddr)?;
            (rel.checked_add(len)? <= s.filesz).then(|| slice(self.data, s.offset.checked_add(rel)?, len))?
        })
    }
}

/// `data[offset..offset + len]`, if it is all there.
pub(crate) fn slice(data: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    data.get(start..end)
}

/// An unsigned integer of `len` bytes (at most 8) at `offset`.
pub(crate) fn read_uint(data: &[u8], offset: u64, len: usize, little: bool) -> Option<u64> {
    let bytes = slice(data, offset, len as u64)?;
    let fold = |n: u64, &b: &u8| (n << 8) | u64::from(b);
    Some(if little { bytes.iter().rev().fold(0, fold) } else { bytes.iter().fold(0, fold) })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn packages_of(file: &[u8]) -> Vec<Package> {
        packages(&Elf::parse(file).unwrap(), &Limits::default())
    }

    #[test]
    fn malformed_headers_name_nothing() {
        let mut file = vec![0u8; 64];
        file[..4].copy_from_slice(&MAGIC);
        assert!(Elf::parse(&file).is_none(), "class 0");
        file[4] = 2;
        file[5] = 1;
        // Section and program tables far past the end, and absurd counts.
        file[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        file[0x28..0x30].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
        file[0x36..0x38].copy_from_slice(&0xffffu16.to_le_bytes());
        file[0x38..0x3a].copy_from_slice(&0xffffu16.to_le_bytes());
        file[0x3a..0x3c].copy_from_slice(&0xffffu16.to_le_bytes());
        file[0x3c..0x3e].copy_from_slice(&0xffffu16.to_le_bytes());
        assert!(packages_of(&file).is_empty());
    }

    #[test]
    fn slices_never_overflow() {
        assert_eq!(slice(b"abc", 1, 2), Some(&b"bc"[..]));
        assert_eq!(slice(b"abc", 2, 2), None);
        assert_eq!(slice(b"abc", u64::MAX, 2), None);
        assert_eq!(read_uint(b"\x01\x02", 0, 2, true), Some(0x0201));
        assert_eq!(read_uint(b"\x01\x02", 0, 2, false), Some(0x0102));
    }
}
