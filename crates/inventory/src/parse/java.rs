//! Java archives: the `META-INF/maven/<groupId>/<artifactId>/pom.properties` that Maven
//! writes into every jar it builds (shaded jars carry one per bundled artifact), in the
//! archive itself and in the jars it nests one level down (Spring Boot's `BOOT-INF/lib/`, a
//! war's `WEB-INF/lib/`).

use std::io::{Cursor, Read};

use crate::Limits;
use crate::model::{Package, PackageKind};
use crate::parse::package;

const ECOSYSTEM: &str = "Maven";
/// pom.properties files are a few hundred bytes.
const MAX_PROPERTIES_BYTES: u64 = 64 << 10;

/// The Maven artifacts in the jar at `path`. Those of a nested jar are found at
/// `path!/inner/path.jar`, the notation of Java's `jar:` URLs.
pub(crate) fn parse_jar(data: &[u8], path: &str, limits: &Limits) -> Vec<Package> {
    let mut found = Vec::new();
    artifacts(data, path, limits, true, &mut found);
    found
}

/// Adds the archive's artifacts to `found`, and with `descend` those of the jars nested in it.
/// Nested jars are read one at a time, so memory stays within twice the file limit; they are
/// not searched for further jars, one level being what real packagings use.
fn artifacts(data: &[u8], path: &str, limits: &Limits, descend: bool, found: &mut Vec<Package>) {
    if !plausible_entry_count(data) {
        return;
    }
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(data)) else { return };
    for i in 0..archive.len() {
        let Ok(mut entry) = archive.by_index(i) else { continue };
        let name = entry.name().to_string();
        if is_pom_properties(&name) {
            let text = read_entry(&mut entry, MAX_PROPERTIES_BYTES);
            if let Some(mut artifact) = text.and_then(|text| from_properties(&String::from_utf8_lossy(&text))) {
                artifact.path = path.to_string();
                found.push(artifact);
            }
        } else if descend
            && name.to_ascii_lowercase().ends_with(".jar")
            && let Some(inner) = read_entry(&mut entry, limits.max_file_bytes)
        {
            artifacts(&inner, &format!("{path}!/{name}"), limits, false, found);
        }
    }
}

/// Whether a Zip64 archive's claimed number of entries could fit in it. The `zip` crate
/// reserves memory for the number the archive claims, bounded only by the directory's offset,
/// so a small hostile jar could ask for gigabytes; a central directory entry takes at least
/// 46 bytes. (Without Zip64 the count is 16 bits, which is harmless.)
fn plausible_entry_count(data: &[u8]) -> bool {
    const EOCD: &[u8] = b"PK\x05\x06";
    const ZIP64_LOCATOR: &[u8] = b"PK\x06\x07";
    const ZIP64_EOCD: &[u8] = b"PK\x06\x06";
    const MIN_ENTRY: u64 = 46;
    // The end record is 22 bytes plus a comment of at most 64 KiB, at the end of the file.
    let tail_start = data.len().saturating_sub(22 + 0xffff);
    let Some(eocd) = data[tail_start..].windows(4).rposition(|w| w == EOCD).map(|i| tail_start + i) else {
        return true; // not a zip: the zip crate will say so
    };
    let Some(locator) = eocd.checked_sub(20).filter(|&at| data[at..].starts_with(ZIP64_LOCATOR)) else {
        return true;
    };
    let record = read_u64(data, locator + 8).and_then(|at| usize::try_from(at).ok());
    match record.filter(|&at| data.get(at..).is_some_and(|r| r.starts_with(ZIP64_EOCD))) {
        Some(at) => read_u64(data, at + 32).is_some_and(|entries| entries <= data.len() as u64 / MIN_ENTRY),
        None => false,
    }
}

fn read_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

fn is_pom_properties(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    matches!(parts.as_slice(), ["META-INF", "maven", group, artifact, "pom.properties"] if !group.is_empty() && !artifact.is_empty())
}

/// An entry's contents, or `None` if it inflates to more than `max` bytes or is corrupt: the
/// size in the zip directory is the writer's claim, so the inflated bytes are counted.
fn read_entry(entry: &mut impl Read, max: u64) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    entry.take(max + 1).read_to_end(&mut data).ok()?;
    (data.len() as u64 <= max).then_some(data)
}

/// `groupId`, `artifactId` and `version` from a Java properties file (`key=value` or
/// `key: value`, `#` and `!` comments).
fn from_properties(text: &str) -> Option<Package> {
    let get = |key: &str| {
        text.lines().map(str::trim).filter(|l| !l.starts_with(['#', '!'])).find_map(|line| {
            let (k, v) = line.split_once(['=', ':'])?;
            (k.trim() == key).then(|| v.trim().to_string()).filter(|v| !v.is_empty())
        })
    };
    let (group, artifact, version) = (get("groupId")?, get("artifactId")?, get("version")?);
    Some(package(PackageKind::Java, ECOSYSTEM, &format!("{group}:{artifact}"), &version))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty Zip64 archive whose end records claim `entries` entries.
    fn zip64_claiming(entries: u64) -> Vec<u8> {
        let mut data = b"PK\x06\x06".to_vec(); // Zip64 end of central directory record, at 0
        data.extend_from_slice(&44u64.to_le_bytes()); // size of the rest of the record
        data.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // versions, disk numbers
        data.extend_from_slice(&entries.to_le_bytes()); // entries on this disk
        data.extend_from_slice(&entries.to_le_bytes()); // entries in all, at offset 32
        data.extend_from_slice(&0u64.to_le_bytes()); // directory size
        data.extend_from_slice(&0u64.to_le_bytes()); // directory offset
        data.extend_from_slice(b"PK\x06\x07\0\0\0\0"); // locator
        data.extend_from_slice(&0u64.to_le_bytes()); // where the Zip64 record is
        data.extend_from_slice(&1u32.to_le_bytes());
        data.extend_from_slice(b"PK\x05\x06");
        data.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]);
        data.extend_from_slice(&[0, 0]); // comment length
        data
    }

    #[test]
    fn a_zip64_archive_claiming_billions_of_entries_is_not_opened() {
        assert!(!plausible_entry_count(&zip64_claiming(1 << 40)));
        assert!(plausible_entry_count(&zip64_claiming(0)));
        assert!(parse_jar(&zip64_claiming(1 << 40), "x.jar", &Limits::default()).is_empty());
        assert!(plausible_entry_count(b"not a zip at all"));
    }

    #[test]
    fn properties_files() {
        let text = "# comment\n! also a comment\ngroupId : org.example\nartifactId=lib\nversion= 1.2.3 \n";
        let package = from_properties(text).unwrap();
        assert_eq!((package.name.as_str(), package.version.as_str()), ("org.example:lib", "1.2.3"));
        assert!(from_properties("groupId=g\nartifactId=a\n").is_none());
    }
}
