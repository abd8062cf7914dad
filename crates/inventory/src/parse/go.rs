//! Go build info: the toolchain version and module list the Go linker writes into every
//! binary built in module mode, in the `.go.buildinfo` section.
//!
//! The section starts with a 16-byte-aligned header: the magic `\xff Go buildinf:`, the
//! pointer size, and a flags byte. Since Go 1.18 (flag bit 1) the version and module strings
//! follow the 32-byte header inline, each prefixed by its length as a varint. Before that the
//! header held two pointers to Go string headers elsewhere in the binary, which only a reader
//! with the whole file (and its segment table) can follow.

use std::io::Read;

use crate::LayerError;
use crate::model::{Package, PackageKind};
use crate::parse::elf::{Elf, PF_W, PT_LOAD, read_uint};
use crate::parse::package;
use crate::tar::TarReader;

const MAGIC: &[u8] = b"\xff Go buildinf:";
const ALIGN: usize = 16;
const HEADER_LEN: usize = 32;
const FLAG_INLINE: u8 = 2;
/// Bound on the version and module strings together; Kubernetes-sized module lists are tens
/// of kilobytes.
const MAX_INFO_BYTES: usize = 1 << 20;
/// How much of a large binary's start is read for its ELF and program headers.
const STREAM_HEAD: usize = 64 << 10;
const ECOSYSTEM: &str = "Go";

/// The data from the first build-info magic at an aligned offset of `data`.
pub(crate) fn find_magic(data: &[u8]) -> Option<&[u8]> {
    (0..data.len()).step_by(ALIGN).map(|i| &data[i..]).find(|rest| rest.starts_with(MAGIC))
}

/// The packages named by build info starting at `data`; `read_vaddr` reads `len` bytes at a
/// virtual address of the binary, which the pointer format needs.
pub(crate) fn parse<'a>(data: &'a [u8], read_vaddr: impl Fn(u64, u64) -> Option<&'a [u8]>) -> Vec<Package> {
    match read_buildinfo(data, read_vaddr) {
        Some((version, modinfo)) => packages(&version, &modinfo),
        None => Vec::new(),
    }
}

fn read_buildinfo<'a>(data: &'a [u8], read_vaddr: impl Fn(u64, u64) -> Option<&'a [u8]>) -> Option<(String, String)> {
    if !data.starts_with(MAGIC) || data.len() < HEADER_LEN {
        return None;
    }
    let (ptr_size, flags) = (data[14], data[15]);
    let (version, modinfo) = if flags & FLAG_INLINE != 0 {
        let (version, rest) = varint_string(&data[HEADER_LEN..])?;
        let (modinfo, _) = varint_string(rest)?;
        (version, modinfo)
    } else {
        let ptr_size = usize::from(ptr_size);
        if ptr_size != 4 && ptr_size != 8 {
            return None;
        }
        let little = flags & 1 == 0;
        let string_at = |at: usize| -> Option<&'a [u8]> {
            let header_addr = read_uint(data, at as u64, ptr_size, little)?;
            let header = read_vaddr(header_addr, 2 * ptr_size as u64)?;
            let addr = read_uint(header, 0, ptr_size, little)?;
            let len = read_uint(header, ptr_size as u64, ptr_size, little)?;
            if len > MAX_INFO_BYTES as u64 {
                return None;
            }
            read_vaddr(addr, len)
        };
        (string_at(16)?, string_at(16 + ptr_size)?)
    };
    let version = String::from_utf8_lossy(version).into_owned();
    Some((version, String::from_utf8_lossy(unframe(modinfo)).into_owned()))
}

/// A varint-length-prefixed string and what follows it.
fn varint_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    for (i, &byte) in data.iter().enumerate().take(10) {
        len |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let start = i + 1;
            let end = start.checked_add(usize::try_from(len).ok().filter(|&l| l <= MAX_INFO_BYTES)?)?;
            return Some((data.get(start..end)?, data.get(end..)?));
        }
    }
    None
}

/// The module info is framed by two 16-byte binary sentinels (cmd/go's `infoStart` and
/// `infoEnd`); the end one is recognised, as Go's own reader does, by the newline 17 bytes
/// from the end.
fn unframe(modinfo: &[u8]) -> &[u8] {
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' { &modinfo[16..modinfo.len() - 16] } else { &[] }
}

/// The main module, its dependencies (as replaced by `=>` lines) and the standard library.
fn packages(version: &str, modinfo: &str) -> Vec<Package> {
    let mut modules: Vec<(String, String)> = Vec::new();
    for line in modinfo.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod" | "dep", path, version, ..] => modules.push((path.to_string(), module_version(version))),
            // A replacement applies to the module on the line before it. One with a version is
            // another published module; one without is a local directory, whose code is not
            // any published version of the module it replaces.
            ["=>", path, version, ..] if !version.is_empty() => {
                if let Some(last) = modules.last_mut() {
                    *last = (path.to_string(), module_version(version));
                }
            }
            ["=>", ..] => {
                if let Some(last) = modules.last_mut() {
                    last.1 = "(devel)".to_string();
                }
            }
            _ => {}
        }
    }
    let mut found: Vec<Package> =
        modules.iter().map(|(path, version)| package(PackageKind::Go, ECOSYSTEM, path, version)).collect();
    if let Some(stdlib) = stdlib_version(version) {
        found.push(package(PackageKind::Go, ECOSYSTEM, "stdlib", &stdlib));
    }
    found
}

/// OSV's Go records use semantic versions without the `v`.
fn module_version(version: &str) -> String {
    version.strip_prefix('v').unwrap_or(version).to_string()
}

/// `go1.19.8` → `1.19.8`, in the semantic-version spelling OSV's Go records use for the
/// standard library: `go1.20` (a first release before Go 1.21) is `1.20.0`, `go1.21rc2` is
/// `1.21.0-rc.2`. Experiments after a space (`go1.22.0 X:boringcrypto`) are not part of it,
/// and development builds (`devel go1.23-…`) have no version.
fn stdlib_version(version: &str) -> Option<String> {
    let version = version.split_whitespace().next()?.strip_prefix("go")?;
    let (release, pre) = match version.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&version[..i], Some(&version[i..])),
        None => (version, None),
    };
    let parts: Vec<&str> = release.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut semver = parts.join(".");
    if parts.len() == 2 {
        semver.push_str(".0");
    }
    if let Some(pre) = pre {
        let number = pre.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        let label = &pre[..pre.len() - number.len()];
        semver = format!("{semver}-{label}.{number}");
    }
    Some(semver)
}

/// Finds Go build info in an ELF binary too big to read whole, as it streams past: the ELF
/// and program headers at its start say where the writable segment is, whose start holds the
/// build info in every binary Go ≥ 1.18 links. `head` is what was already read of the file.
pub(crate) fn stream_scan<R: Read>(tar: &mut TarReader<R>, head: &[u8]) -> Result<Option<Vec<Package>>, LayerError> {
    let mut buf = head.to_vec();
    fill(tar, &mut buf, STREAM_HEAD)?;
    let range = {
        let Some(elf) = Elf::parse(&buf) else { return Ok(None) };
        let writable = elf.segments().into_iter().find(|s| s.kind == PT_LOAD && s.flags & PF_W != 0);
        writable.map_or((0, u64::MAX), |s| (s.offset, s.offset.saturating_add(s.filesz)))
    };
    // `buf` holds the file from offset `base`, which stays a multiple of ALIGN.
    let mut base: u64 = 0;
    loop {
        let mut p = 0;
        while p + MAGIC.len() <= buf.len() {
            let offset = base + p as u64;
            if offset >= range.1 {
                return Ok(None);
            }
            if offset >= range.0 && buf[p..].starts_with(MAGIC) {
                buf.drain(..p);
                base += p as u64;
                fill(tar, &mut buf, HEADER_LEN + MAX_INFO_BYTES)?;
                let found = parse(&buf, |_, _| None);
                if !found.is_empty() {
                    return Ok(Some(found));
                }
                p = 0;
            }
            p += ALIGN;
        }
        // Every aligned offset before `p` has been checked; keep the unchecked tail.
        let cut = p.min(buf.len() / ALIGN * ALIGN);
        buf.drain(..cut);
        base += cut as u64;
        let before = buf.len();
        fill(tar, &mut buf, STREAM_HEAD)?;
        if buf.len() == before {
            return Ok(None);
        }
    }
}

/// Reads the current entry's body until `buf` holds `want` bytes or the body ends.
fn fill<R: Read>(tar: &mut TarReader<R>, buf: &mut Vec<u8>, want: usize) -> Result<(), LayerError> {
    let mut chunk = [0u8; 8192];
    while buf.len() < want {
        let n = tar.read_body_chunk(&mut chunk[..(want - buf.len()).min(8192)])?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::elf::Elf;

    #[test]
    fn stdlib_versions_in_osv_spelling() {
        let cases = [
            ("go1.19.8", Some("1.19.8")),
            ("go1.20", Some("1.20.0")),
            ("go1.21rc2", Some("1.21.0-rc.2")),
            ("go1.18beta1", Some("1.18.0-beta.1")),
            ("go1.22.0 X:boringcrypto", Some("1.22.0")),
            ("devel go1.23-a1b2c3 Tue Jan 2 2024", None),
            ("go", None),
            ("1.19.8", None),
            ("go1..2", None),
        ];
        for (version, expected) in cases {
            assert_eq!(stdlib_version(version).as_deref(), expected, "{version}");
        }
    }

    #[test]
    fn replacements_apply_to_the_line_before() {
        let modinfo = "path\texample.com/app\nmod\texample.com/app\tv1.2.3\th1:abc=\n\
                       dep\tgithub.com/a/a\tv1.0.0\th1:x=\n=>\tgithub.com/b/b\tv1.1.0\th1:y=\n\
                       dep\tgithub.com/c/c\tv0.1.0\n=>\t../c\t\n\
                       dep\tgolang.org/x/net\tv0.0.0-20220722155237-a158d28d115b\th1:z=\nbuild\tCGO_ENABLED=0\n";
        let found: Vec<(String, String)> =
            packages("go1.22.5", modinfo).into_iter().map(|p| (p.name, p.version)).collect();
        let expected = [
            ("example.com/app", "1.2.3"),
            ("github.com/b/b", "1.1.0"),
            ("github.com/c/c", "(devel)"),
            ("golang.org/x/net", "0.0.0-20220722155237-a158d28d115b"),
            ("stdlib", "1.22.5"),
        ];
        assert_eq!(found, expected.map(|(n, v)| (n.to_string(), v.to_string())));
    }

    #[test]
    fn truncated_or_oversized_inline_strings_name_nothing() {
        let mut data = MAGIC.to_vec();
        data.extend_from_slice(&[8, FLAG_INLINE]);
        data.resize(HEADER_LEN, 0);
        assert!(parse(&data, |_, _| None).is_empty());
        let mut long = data.clone();
        long.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]); // a 4 GiB length
        assert!(parse(&long, |_, _| None).is_empty());
        data.extend_from_slice(&[8]);
        data.extend_from_slice(b"go1.1"); // 5 of 8 bytes
        assert!(parse(&data, |_, _| None).is_empty());
    }

    /// A minimal little-endian ELF64 executable with one writable PT_LOAD segment mapping the
    /// whole file at `BASE`, no section table, and build info in the pre-1.18 pointer format
    /// (as Go 1.13 to 1.17 wrote it).
    fn pointer_format_binary() -> Vec<u8> {
        const BASE: u64 = 0x40_0000;
        let modinfo = {
            let mut m = vec![0x30u8; 16];
            m.extend_from_slice(b"path\told/app\nmod\told/app\tv0.9.0\t\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:x=\n");
            m.extend_from_slice(&[0xf9; 16]);
            m
        };
        let mut file = vec![0u8; 0x200];
        file[..4].copy_from_slice(b"\x7fELF");
        file[4] = 2; // 64-bit
        file[5] = 1; // little-endian
        file[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        file[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        file[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let strings_at = 0x100usize;
        let version = b"go1.16.15";
        file[strings_at..strings_at + version.len()].copy_from_slice(version);
        let modinfo_at = strings_at + 0x20;
        file.resize(modinfo_at, 0);
        file.extend_from_slice(&modinfo);
        // Go string headers: (data pointer, length).
        let headers_at = file.len().next_multiple_of(16);
        file.resize(headers_at, 0);
        for (at, len) in [(strings_at, version.len()), (modinfo_at, modinfo.len())] {
            file.extend_from_slice(&(BASE + at as u64).to_le_bytes());
            file.extend_from_slice(&(len as u64).to_le_bytes());
        }
        let info_at = file.len().next_multiple_of(16);
        file.resize(info_at, 0);
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&[8, 0]); // pointer size 8, little-endian, pointers follow
        file.extend_from_slice(&(BASE + headers_at as u64).to_le_bytes());
        file.extend_from_slice(&(BASE + headers_at as u64 + 16).to_le_bytes());
        file.resize(file.len().next_multiple_of(16), 0);
        let len = file.len() as u64;
        let ph = 64;
        file[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        file[ph + 4..ph + 8].copy_from_slice(&6u32.to_le_bytes()); // R+W
        file[ph + 0x10..ph + 0x18].copy_from_slice(&BASE.to_le_bytes()); // p_vaddr
        file[ph + 0x20..ph + 0x28].copy_from_slice(&len.to_le_bytes()); // p_filesz
        file[ph + 0x28..ph + 0x30].copy_from_slice(&len.to_le_bytes()); // p_memsz
        file
    }

    #[test]
    fn the_pointer_format_is_followed_through_the_segments() {
        let file = pointer_format_binary();
        let elf = Elf::parse(&file).unwrap();
        let data = find_magic(&file).unwrap();
        let found: Vec<(String, String)> =
            parse(data, |addr, len| elf.read_vaddr(addr, len)).into_iter().map(|p| (p.name, p.version)).collect();
        let expected = [("old/app", "0.9.0"), ("github.com/pkg/errors", "0.9.1"), ("stdlib", "1.16.15")];
        assert_eq!(found, expected.map(|(n, v)| (n.to_string(), v.to_string())));
        // Without the rest of the file (a binary streamed past), the pointers lead nowhere.
        assert!(parse(data, |_, _| None).is_empty());
    }

    #[test]
    fn a_binary_without_sections_is_searched_in_its_writable_segment() {
        let found = crate::parse::elf::tests::packages_of(&pointer_format_binary());
        assert_eq!(found.len(), 3);
    }
}
