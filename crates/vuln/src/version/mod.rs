//! Version ordering, one comparator per package ecosystem.
//!
//! Each ecosystem orders versions its own way (`1.0~rc1 < 1.0` in dpkg, `1.0-rc1 < 1.0` in
//! semver, `1.0-1 > 1.0` in PEP 440 …), and an advisory's ranges only mean something under
//! the ecosystem's own order. The comparators are written by hand: no crate implements these
//! orders faithfully (the semver crates reject most real-world versions, none covers apk or
//! Maven's `ComparableVersion`), and matching must never fail on a version some package
//! manager accepted. So every comparator:
//!
//! - accepts any string, junk included, and never panics;
//! - is a total order (a total preorder, to be exact: distinct strings may compare equal, as
//!   `1.0` and `1.00` do in dpkg), so sorting and range checks are always well defined;
//! - compares numbers of any length by their digits, never through a machine integer.
//!
//! The behaviour is pinned by the conformance vectors of google/osv-scalibr (see
//! `tests/vectors/README.md`): every line of them passes, in both directions, but for three
//! Maven lines that record maven-artifact's own cycles, which no total order can keep (see
//! `maven.rs`).

use std::cmp::Ordering;

mod apk;
mod dpkg;
mod maven;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionScheme {
    /// Debian and Ubuntu packages (`deb-version(7)`).
    Dpkg,
    /// Alpine packages (`apk version`).
    Apk,
    /// RPM packages (`rpmvercmp`): Red Hat, AlmaLinux, Rocky, SUSE, …
    Rpm,
    /// Python packages (PEP 440, with the pre-PEP 440 "legacy" fallback).
    Pep440,
    /// Semantic Versioning 2.0 (crates.io, npm), lenient about missing parts and a `v` prefix.
    Semver,
    /// Go modules and the Go toolchain: semver, plus the toolchain's own spellings
    /// (`go1.21.3`, `go1.22rc1`).
    Go,
    /// Maven artifacts (`ComparableVersion` of maven-artifact 3.8).
    Maven,
    /// Ruby gems (`Gem::Version`).
    RubyGems,
}

impl VersionScheme {
    /// The scheme for an OSV ecosystem name (`Debian:12`, `Alpine:v3.20`, `PyPI`, …), judged by
    /// the part before the first `:` since the rest names a release of the same distribution.
    /// `None` for ecosystems with no comparator here.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Self> {
        let base = ecosystem.split_once(':').map_or(ecosystem, |(base, _)| base);
        Some(match base {
            "Debian" | "Ubuntu" => Self::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Self::Apk,
            "AlmaLinux" | "Rocky Linux" | "Red Hat" | "openSUSE" | "SUSE" | "Mageia" | "openEuler" | "Photon OS" => {
                Self::Rpm
            }
            "PyPI" => Self::Pep440,
            "crates.io" | "npm" | "Hex" => Self::Semver,
            "Go" => Self::Go,
            "Maven" => Self::Maven,
            "RubyGems" => Self::RubyGems,
            _ => return None,
        })
    }

    /// Orders two versions. Total, and antisymmetric: `compare(a, b) == compare(b, a).reverse()`.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Self::Dpkg => dpkg::compare(a, b),
            Self::Apk => apk::compare(a, b),
            Self::Rpm => rpm::compare(a, b),
            Self::Pep440 => pep440::compare(a, b),
            Self::Semver => semver::compare(a, b),
            Self::Go => semver::compare_go(a, b),
            Self::Maven => maven::compare(a, b),
            Self::RubyGems => rubygems::compare(a, b),
        }
    }
}

/// A run of ASCII digits, ordered by value whatever its length or leading zeros.
#[derive(Debug, Clone, Copy)]
struct Digits<'a>(&'a [u8]);

impl Ord for Digits<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.0, other.0)
    }
}

impl PartialOrd for Digits<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Digits<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Digits<'_> {}

/// Compares two runs of ASCII digits by value, whatever their length or leading zeros.
fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (trim_zeros(a), trim_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits.iter().position(|&c| c != b'0').unwrap_or(digits.len());
    &digits[start..]
}

/// Splits `s` after its longest prefix whose bytes all satisfy `pred`.
fn split_while(s: &[u8], pred: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    s.split_at(s.iter().position(|&c| !pred(c)).unwrap_or(s.len()))
}

#[cfg(test)]
mod tests;
