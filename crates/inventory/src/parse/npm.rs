//! npm: the `package.json` of each installed package under `node_modules`, and lock files
//! (`package-lock.json`, `npm-shrinkwrap.json`) in all three lockfile versions.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::{Package, PackageKind};
use crate::parse::package;

const ECOSYSTEM: &str = "npm";

#[derive(Deserialize)]
struct Manifest {
    name: Option<String>,
    version: Option<String>,
}

pub(crate) fn parse_package_json(data: &[u8]) -> Vec<Package> {
    match serde_json::from_slice::<Manifest>(data) {
        Ok(Manifest { name: Some(name), version: Some(version) }) if !name.is_empty() && !version.is_empty() => {
            vec![package(PackageKind::Npm, ECOSYSTEM, &name, &version)]
        }
        _ => Vec::new(),
    }
}

#[derive(Deserialize)]
struct Lock {
    /// Lockfile v2 and v3: every installed package keyed by its `node_modules/…` path.
    #[serde(default)]
    packages: BTreeMap<String, LockPackage>,
    /// Lockfile v1 (and v2, for old npm): a tree keyed by name.
    #[serde(default)]
    dependencies: BTreeMap<String, LockDependency>,
}

#[derive(Deserialize)]
struct LockPackage {
    /// Set when the package is installed under another name (`npm i alias@npm:real`).
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    link: bool,
}

#[derive(Deserialize)]
struct LockDependency {
    version: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, LockDependency>,
}

/// The packages a lock file installs. Development dependencies are left out: images are
/// normally built with `npm ci --omit=dev`, and a lock file cannot say whether this one was.
pub(crate) fn parse_lock(data: &[u8]) -> Vec<Package> {
    let Ok(lock) = serde_json::from_slice::<Lock>(data) else { return Vec::new() };
    let mut found = Vec::new();
    if lock.packages.is_empty() {
        v1_packages(&lock.dependencies, &mut found);
        return found;
    }
    for (path, entry) in &lock.packages {
        // "" is the project itself; paths without node_modules are workspace members.
        let Some((_, installed_as)) = path.rsplit_once("node_modules/") else { continue };
        if entry.dev || entry.link {
            continue;
        }
        let name = entry.name.as_deref().unwrap_or(installed_as);
        if let Some(version) = entry.version.as_deref().filter(|v| !v.is_empty()) {
            found.push(package(PackageKind::Npm, ECOSYSTEM, name, version));
        }
    }
    found
}

fn v1_packages(dependencies: &BTreeMap<String, LockDependency>, found: &mut Vec<Package>) {
    for (name, dependency) in dependencies {
        if dependency.dev {
            continue;
        }
        // Aliases are recorded as `npm:real-name@version`.
        let (name, version) = match dependency.version.as_deref() {
            Some(version) => match version.strip_prefix("npm:").and_then(|alias| alias.rsplit_once('@')) {
                Some((real, version)) => (real, version),
                None => (name.as_str(), version),
            },
            None => continue,
        };
        found.push(package(PackageKind::Npm, ECOSYSTEM, name, version));
        v1_packages(&dependency.dependencies, found);
    }
}
