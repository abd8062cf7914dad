//! The inventory of a container image: its OS release and the packages installed in it, read
//! from its layers as streams. It is the "what is installed" half of vulnerability scanning;
//! matching the inventory against advisories is done elsewhere, and can be redone from the
//! stored inventory whenever the advisories change.
//!
//! Layers are read the way a runtime applies them, base first, with whiteouts, but nothing is
//! unpacked: the tar stream is walked once, and only files that name packages are read, into
//! memory bounded by [`Limits`]. The crate does no I/O of its own; the caller hands it each
//! layer blob as a reader.
//!
//! What is recognised:
//! - the OS release (`etc/os-release`, `usr/lib/os-release`), which gives distribution
//!   packages their OSV ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.20`,
//!   `AlmaLinux:9`, …);
//! - dpkg (`var/lib/dpkg/status`, distroless `status.d/`), apk (`lib/apk/db/installed`) and
//!   rpm (`rpmdb.sqlite`, Berkeley DB `Packages`) databases, with source packages;
//! - Python distributions (`*.dist-info/METADATA`, `*.egg-info`), npm packages
//!   (`node_modules/**/package.json`, lock files), `Cargo.lock` files, jars with Maven
//!   `pom.properties` (one nesting level deep);
//! - ELF binaries: Go build info (modules and toolchain) and cargo-auditable dependency lists.

mod builder;
mod error;
mod layer;
mod limits;
mod model;
mod parse;
mod paths;
mod tar;

pub use builder::InventoryBuilder;
pub use error::LayerError;
pub use layer::{Compression, media_type_compression};
pub use limits::Limits;
pub use model::{Inventory, OsRelease, Package, PackageKind, SkipReason, Skipped, SourcePackage};
