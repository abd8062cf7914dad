//! Rust crates: `Cargo.lock` files, and the dependency list cargo-auditable embeds in the
//! binaries it builds (the `.dep-v0` ELF section, zlib-compressed JSON).

use std::io::Read;

use serde::Deserialize;

use crate::model::{Package, PackageKind};
use crate::parse::package;

const ECOSYSTEM: &str = "crates.io";

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
}

/// The crates.io packages a lock file pins. Workspace members (no source), git dependencies
/// and other registries are not crates.io packages, whatever their names.
pub(crate) fn parse_lock(data: &[u8]) -> Vec<Package> {
    let Ok(text) = std::str::from_utf8(data) else { return Vec::new() };
    let Ok(lock) = toml::from_str::<Lock>(text) else { return Vec::new() };
    lock.package
        .iter()
        .filter(|p| {
            p.source.as_deref().is_some_and(|s| {
                s == "registry+https://github.com/rust-lang/crates.io-index" || s == "sparse+https://index.crates.io/"
            })
        })
        .map(|p| package(PackageKind::Cargo, ECOSYSTEM, &p.name, &p.version))
        .collect()
}

#[derive(Deserialize)]
struct Audit {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    source: String,
    #[serde(default)]
    kind: Option<String>,
}

/// The crates.io packages compiled into a binary, from its `.dep-v0` section. Build
/// dependencies (build scripts, proc macros) ran at build time and are not in the binary.
pub(crate) fn parse_auditable(section: &[u8], max_bytes: u64) -> Vec<Package> {
    let mut json = Vec::new();
    let decoder = flate2::read::ZlibDecoder::new(section);
    // One byte over the limit tells a bomb from data that just fits.
    if decoder.take(max_bytes + 1).read_to_end(&mut json).is_err() || json.len() as u64 > max_bytes {
        return Vec::new();
    }
    let Ok(audit) = serde_json::from_slice::<Audit>(&json) else { return Vec::new() };
    audit
        .packages
        .iter()
        .filter(|p| p.source == "crates.io" && p.kind.as_deref() != Some("build"))
        .map(|p| package(PackageKind::Cargo, ECOSYSTEM, &p.name, &p.version))
        .collect()
}
