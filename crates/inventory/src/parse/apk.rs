//! apk's database, `lib/apk/db/installed`: one paragraph per package of single-letter fields
//! (`P:` name, `V:` version, `o:` origin, the source package Alpine's advisories name).

use crate::model::{Package, PackageKind};
use crate::parse::distro_package;

pub(crate) fn parse(data: &[u8]) -> Vec<Package> {
    let text = String::from_utf8_lossy(data);
    text.split("\n\n")
        .filter_map(|paragraph| {
            let value = |key: &str| {
                paragraph.lines().find_map(|line| line.strip_prefix(key)).map(str::trim).filter(|v| !v.is_empty())
            };
            let name = value("P:")?;
            let version = value("V:")?;
            // Subpackages share their origin's version.
            let origin = value("o:").unwrap_or(name);
            Some(distro_package(PackageKind::Apk, name, version, (origin, version)))
        })
        .collect()
}
