//! dpkg's database: `var/lib/dpkg/status`, and the one-file-per-package `status.d/` that
//! distroless images have instead.

use crate::model::{Package, PackageKind};
use crate::parse::{distro_package, field, paragraphs};

/// The installed packages of a status file. In `status` every paragraph has a `Status`, and
/// only `install ok installed` means the files are there (others are half-installed, removed
/// with config files left, …). Distroless `status.d/` files are written for installed packages
/// only and usually have no `Status`, so there a missing one means installed.
pub(crate) fn parse(data: &[u8], status_required: bool) -> Vec<Package> {
    let text = String::from_utf8_lossy(data);
    paragraphs(&text)
        .filter_map(|fields| {
            let installed = match field(&fields, "Status") {
                Some(status) => status.split_whitespace().collect::<Vec<_>>() == ["install", "ok", "installed"],
                None => !status_required,
            };
            if !installed {
                return None;
            }
            let name = field(&fields, "Package")?;
            let version = field(&fields, "Version")?;
            let (source, source_version) = source(field(&fields, "Source"), name, version);
            Some(distro_package(PackageKind::Dpkg, name, version, (source, source_version)))
        })
        .collect()
}

/// `Source: name` or `Source: name (version)`, the version given only when it differs from the
/// binary package's (binNMUs); without the field, the source is named like the package.
fn source<'a>(field: Option<&'a str>, name: &'a str, version: &'a str) -> (&'a str, &'a str) {
    let Some(field) = field else { return (name, version) };
    match field.split_once('(') {
        Some((source, rest)) => (source.trim(), rest.trim_end().trim_end_matches(')').trim()),
        None => (field.trim(), version),
    }
}
