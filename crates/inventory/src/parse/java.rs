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
