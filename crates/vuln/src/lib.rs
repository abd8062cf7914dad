//! Vulnerability matching, with no I/O: version ordering per ecosystem, the OSV record
//! format and its range semantics, CVSS base scores, and the query that turns an installed
//! package and the advisories for it into scan findings.

pub mod version;

pub use version::VersionScheme;
