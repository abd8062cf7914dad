//! What an inventory says: the image's OS release and the packages found in its layers. It is
//! stored per image as JSON, so that vulnerabilities can be matched again later (when the
//! advisory database changes) without reading the layers again.

use serde::{Deserialize, Serialize};

/// The inventory of one image, the layers applied from base to top.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The OS release of the merged file system, if it has one.
    pub os: Option<OsRelease>,
    /// Every package found, ordered by path, then ecosystem, name and version.
    pub packages: Vec<Package>,
    /// Files that looked like they would name packages but were not read, ordered by path: what
    /// a scan of this inventory cannot see.
    pub skipped: Vec<Skipped>,
}

/// `os-release(5)`, the fields that identify a distribution release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsRelease {
    /// `ID`, e.g. `debian`, `ubuntu`, `alpine`, `almalinux`.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`, `22.04`, `3.20.3`, `9.4`; rolling releases have none.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, for people.
    pub pretty_name: Option<String>,
    /// The OSV ecosystem of the distribution's own packages (`Debian:12`, `Alpine:v3.20`, …), or
    /// `None` for a distribution OSV has no name for.
    pub ecosystem: Option<String>,
    /// The file it was read from, e.g. `etc/os-release`.
    pub path: String,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    /// The OSV ecosystem the name and version belong to: `Debian:12`, `AlmaLinux:9`, `PyPI`,
    /// `npm`, `crates.io`, `Go`, `Maven`, …
    pub ecosystem: String,
    /// The name in that ecosystem (`groupId:artifactId` for Maven).
    pub name: String,
    /// The version in that ecosystem's notation: a Debian version with its epoch, an rpm
    /// `[epoch:]version-release`, a Go version without its `v`, …
    pub version: String,
    /// For distribution packages, the source package it was built from: distributions publish
    /// their advisories against source packages.
    pub source: Option<SourcePackage>,
    /// Where it was found, relative to the image root (`var/lib/dpkg/status`, `app/app.jar`,
    /// `app/app.jar!/BOOT-INF/lib/dep.jar` for a jar inside a jar).
    pub path: String,
    /// Which kind of record it was read from.
    pub kind: PackageKind,
}

/// A distribution's source package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourcePackage {
    pub name: String,
    pub version: String,
}

/// The record a package was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    Dpkg,
    Apk,
    Rpm,
    Python,
    Npm,
    Cargo,
    Go,
    Java,
}

impl PackageKind {
    /// Packages of the distribution itself, whose ecosystem comes from the OS release.
    pub fn is_distro(self) -> bool {
        matches!(self, PackageKind::Dpkg | PackageKind::Apk | PackageKind::Rpm)
    }
}

/// A file that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    /// Stored beside the path: `{"path": …, "reason": "too_large", "size": …}`.
    #[serde(flatten)]
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum SkipReason {
    /// Bigger than [`crate::Limits::max_file_bytes`].
    TooLarge { size: u64 },
}
