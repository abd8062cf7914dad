//! Vulnerability matching, with no I/O: version ordering per ecosystem, the OSV record
//! format and its range semantics, CVSS base scores and ECR severities, and the query that
//! turns an installed package and the advisories stored for it into scan findings.
//!
//! - [`VersionScheme`] orders versions the way each ecosystem does.
//! - [`Record`] is an OSV advisory, read leniently from osv.dev's exports and stored as JSON.
//! - [`affected()`] evaluates one affected entry of an advisory against a version.
//! - [`Cvss`] computes base scores from vectors; [`assess()`] decides an advisory's
//!   [`Severity`].
//! - [`match_package()`] is what a scanner calls per installed package: the findings.

mod cvss;
mod findings;
mod matching;
mod osv;
mod severity;
mod version;

pub use cvss::{Cvss, CvssError, CvssVersion};
pub use findings::{Finding, InstalledPackage, MatchError, SourcePackage, match_package, package_key};
pub use matching::{Match, affected};
pub use osv::{Affected, Event, Package, Range, RangeKind, Record, Reference, SeverityKind, SeverityScore};
pub use severity::{Assessment, Severity, SeveritySource, assess};
pub use version::VersionScheme;

#[cfg(test)]
mod tests;
