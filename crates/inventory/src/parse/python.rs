//! Python distributions: `*.dist-info/METADATA` (wheels, pip) and `*.egg-info/PKG-INFO` (eggs,
//! setuptools), both in the core-metadata format; only the header block names the package.

use crate::model::{Package, PackageKind};
use crate::parse::{field, package, paragraphs};

pub(crate) fn parse(data: &[u8]) -> Vec<Package> {
    let text = String::from_utf8_lossy(data);
    // The description may follow the headers, after the first blank line.
    let Some(headers) = paragraphs(&text).next() else { return Vec::new() };
    match (field(&headers, "Name"), field(&headers, "Version")) {
        (Some(name), Some(version)) => vec![package(PackageKind::Python, "PyPI", name, version)],
        _ => Vec::new(),
    }
}
