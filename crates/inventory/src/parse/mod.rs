//! One module per kind of package record. Each parser takes the bytes of one file and returns
//! what it names, leaving `path` empty for the builder to fill in (and `ecosystem` empty for
//! distribution packages, whose ecosystem comes from the OS release at the end). A record that
//! does not parse names nothing: a broken file in one package must not hide the rest of the
//! image, and image contents are not ours to validate.

pub(crate) mod apk;
pub(crate) mod cargo;
pub(crate) mod dpkg;
pub(crate) mod elf;
pub(crate) mod go;
pub(crate) mod java;
pub(crate) mod npm;
pub(crate) mod os_release;
pub(crate) mod python;
pub(crate) mod rpm;

use crate::model::{Package, PackageKind, SourcePackage};

/// A package with the fields every parser fills; `path` is set by the caller.
pub(crate) fn package(kind: PackageKind, ecosystem: &str, name: &str, version: &str) -> Package {
    Package {
        ecosystem: ecosystem.to_string(),
        name: name.to_string(),
        version: version.to_string(),
        source: None,
        path: String::new(),
        kind,
    }
}

/// A distribution package, built from `source` (a source package name and version).
pub(crate) fn distro_package(kind: PackageKind, name: &str, version: &str, source: (&str, &str)) -> Package {
    Package {
        source: Some(SourcePackage { name: source.0.to_string(), version: source.1.to_string() }),
        ..package(kind, "", name, version)
    }
}

/// RFC 822-style `Key: value` paragraphs, as dpkg's status file and Python's METADATA use:
/// paragraphs are separated by blank lines, and a line starting with a space or tab continues
/// the previous value. Yields each paragraph's fields in order.
pub(crate) fn paragraphs(text: &str) -> impl Iterator<Item = Vec<(&str, &str)>> {
    text.split("\n\n").filter_map(|paragraph| {
        let fields: Vec<(&str, &str)> = paragraph
            .lines()
            .filter(|line| !line.starts_with([' ', '\t']))
            .filter_map(|line| line.split_once(':'))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect();
        (!fields.is_empty()).then_some(fields)
    })
}

/// The first value of `key` in a paragraph.
pub(crate) fn field<'a>(fields: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).filter(|v| !v.is_empty())
}
