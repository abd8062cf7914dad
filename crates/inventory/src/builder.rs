//! Applying layers in order, as a container runtime would, but keeping only what matters.
//!
//! The merged file system is never built. What the builder keeps is a map from path to what
//! was found there (an OS release, some packages, or a note that the file was too big to read)
//! and which layer it came from. A layer changes that map the way it would change the file
//! system: any entry replaces what lower layers had at its path (and under it, when a
//! directory becomes a file), `.wh.<name>` deletes a path and everything under it, and
//! `.wh..wh..opq` empties a directory of what lower layers put there. Whiteouts never touch
//! the layer they are in.
//!
//! A layer's changes are collected first and applied only when the whole layer has been read,
//! so a layer that fails leaves the builder as it was.

use std::collections::BTreeMap;
use std::io::Read;

use crate::limits::Limits;
use crate::model::{Inventory, OsRelease, Package, PackageKind, SkipReason, Skipped};
use crate::paths::{self, Target};
use crate::tar::{EntryKind, Header, TarReader};
use crate::{LayerError, layer, parse};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Builds the inventory of an image from its layers, base first.
///
/// ```no_run
/// # fn layers() -> Vec<(String, std::fs::File)> { vec![] }
/// let mut builder = wharf_inventory::InventoryBuilder::new(wharf_inventory::Limits::default());
/// for (media_type, blob) in layers() {
///     builder.add_layer(&media_type, blob)?;
/// }
/// let inventory = builder.finish();
/// # Ok::<(), wharf_inventory::LayerError>(())
/// ```
#[derive(Debug)]
pub struct InventoryBuilder {
    limits: Limits,
    /// What the layers added so far left at each path.
    found: BTreeMap<String, Finding>,
    packages: usize,
}

/// What one file said.
#[derive(Debug, Clone)]
pub(crate) enum Finding {
    Os(OsRelease),
    Packages(Vec<Package>),
    Skipped(SkipReason),
}

impl Finding {
    /// The same finding for a hard link to the file at `from`.
    fn moved(&self, from: &str, to: &str) -> Finding {
        let mut finding = self.clone();
        match &mut finding {
            Finding::Os(os) => os.path = to.to_string(),
            Finding::Packages(packages) => {
                for package in packages {
                    // Nested jars are named `outer.jar!/inner.jar`.
                    if let Some(rest) = package.path.strip_prefix(from) {
                        package.path = format!("{to}{rest}");
                    }
                }
            }
            Finding::Skipped(_) => {}
        }
        finding
    }

    fn package_count(&self) -> usize {
        match self {
            Finding::Packages(packages) => packages.len(),
            _ => 0,
        }
    }
}

/// One layer's effect, gathered while it streams by.
#[derive(Default)]
struct LayerChanges {
    /// What to drop from the lower layers' findings.
    removed: Vec<(String, Scope)>,
    found: BTreeMap<String, Finding>,
    packages: usize,
}

impl InventoryBuilder {
    pub fn new(limits: Limits) -> Self {
        InventoryBuilder { limits, found: BTreeMap::new(), packages: 0 }
    }

    /// Reads one layer blob (`media_type` as in the manifest; `""` if unknown) on top of the
    /// layers added before.
    pub fn add_layer(&mut self, media_type: &str, blob: impl Read) -> Result<(), LayerError> {
        let (stream, compressed) = layer::decompress(media_type, blob)?;
        let mut tar = TarReader::new(stream, self.limits, compressed);
        let mut changes = LayerChanges::default();
        while let Some(header) = tar.next_entry()? {
            self.entry(&mut tar, header, &mut changes)?;
        }
        self.apply(changes);
        Ok(())
    }

    /// The inventory of the image made of the layers added so far.
    pub fn finish(self) -> Inventory {
        let os = ["etc/os-release", "usr/lib/os-release"].iter().find_map(|path| match self.found.get(*path) {
            Some(Finding::Os(os)) => Some(os.clone()),
            _ => None,
        });
        let mut packages = Vec::with_capacity(self.packages);
        let mut skipped = Vec::new();
        for (path, finding) in self.found {
            match finding {
                Finding::Packages(mut found) => {
                    for package in &mut found {
                        if package.kind.is_distro() {
                            package.ecosystem = distro_ecosystem(os.as_ref(), package.kind);
                        }
                    }
                    found.sort();
                    packages.extend(found);
                }
                Finding::Skipped(reason) => skipped.push(Skipped { path, reason }),
                Finding::Os(_) => {}
            }
        }
        Inventory { os, packages, skipped }
    }

    fn entry<R: Read>(
        &self,
        tar: &mut TarReader<R>,
        header: Header,
        changes: &mut LayerChanges,
    ) -> Result<(), LayerError> {
        let path = paths::normalise(&header.path);
        let (dir, name) = paths::split_parent(&path);
        if name == OPAQUE_MARKER {
            self.remove_lower(changes, dir, Scope::Children);
            return Ok(());
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            let hidden = paths::join(dir, hidden);
            self.remove_lower(changes, &hidden, Scope::Subtree);
            return Ok(());
        }
        // A directory merges with the one below; anything else replaces the whole path.
        let scope = if header.kind == EntryKind::Dir { Scope::Exact } else { Scope::Subtree };
        changes.forget(&path, scope);
        self.remove_lower(changes, &path, scope);
        let finding = match header.kind {
            EntryKind::File => self.read_file(tar, &path, header.size)?,
            // A hard link's data is its target's, which came earlier in this layer.
            EntryKind::HardLink => header.link.and_then(|target| {
                let target = paths::normalise(&target);
                changes.found.get(&target).map(|finding| finding.moved(&target, &path))
            }),
            EntryKind::Dir | EntryKind::Symlink | EntryKind::Other => None,
        };
        if let Some(finding) = finding {
            changes.packages += finding.package_count();
            if self.packages + changes.packages > self.limits.max_packages {
                return Err(LayerError::TooManyPackages { limit: self.limits.max_packages });
            }
            changes.found.insert(path, finding);
        }
        Ok(())
    }

    /// What a regular file says, reading no more of it than needed.
    fn read_file<R: Read>(&self, tar: &mut TarReader<R>, path: &str, size: u64) -> Result<Option<Finding>, LayerError> {
        let too_large = || Some(Finding::Skipped(SkipReason::TooLarge { size }));
        match paths::classify(path) {
            Some(target) => match tar.read_body(self.limits.max_file_bytes)? {
                Some(data) => Ok(parse_target(target, path, &data, &self.limits)),
                None => Ok(too_large()),
            },
            None => match parse::elf::scan(tar, size, &self.limits)? {
                parse::elf::Scan::NotElf => Ok(None),
                parse::elf::Scan::Packages(packages) => Ok(packages_at(path, packages)),
                parse::elf::Scan::TooLarge => Ok(too_large()),
            },
        }
    }

    /// Records that lower layers' findings in `scope` of `path` are gone, if there are any.
    fn remove_lower(&self, changes: &mut LayerChanges, path: &str, scope: Scope) {
        if scope.matches_any(&self.found, path) {
            changes.removed.push((path.to_string(), scope));
        }
    }

    fn apply(&mut self, changes: LayerChanges) {
        for (path, scope) in &changes.removed {
            self.found.retain(|key, _| !scope.contains(path, key));
        }
        self.found.extend(changes.found);
        self.packages = self.found.values().map(Finding::package_count).sum();
    }
}

impl LayerChanges {
    /// Drops what this layer itself found in `scope` of `path`: a later entry of the same
    /// layer replaces an earlier one.
    fn forget(&mut self, path: &str, scope: Scope) {
        if scope.matches_any(&self.found, path) {
            self.found.retain(|key, _| !scope.contains(path, key));
            self.packages = self.found.values().map(Finding::package_count).sum();
        }
    }
}

/// Which paths an entry or whiteout at some path affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The path itself.
    Exact,
    /// The path and everything under it.
    Subtree,
    /// Everything under the path, not the path (an opaque directory).
    Children,
}

impl Scope {
    fn contains(self, path: &str, key: &str) -> bool {
        let under = path.is_empty() || key.strip_prefix(path).is_some_and(|rest| rest.starts_with('/'));
        match self {
            Scope::Exact => key == path,
            Scope::Subtree => key == path || under,
            Scope::Children => under,
        }
    }

    /// Whether `map` has a key in this scope of `path`, found with one lookup and one range
    /// step, since this runs for every entry of every layer.
    fn matches_any<V>(self, map: &BTreeMap<String, V>, path: &str) -> bool {
        if self != Scope::Children && map.contains_key(path) {
            return true;
        }
        if self == Scope::Exact {
            return false;
        }
        let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
        map.range(prefix.clone()..).next().is_some_and(|(key, _)| key.starts_with(&prefix))
    }
}

fn parse_target(target: Target, path: &str, data: &[u8], limits: &Limits) -> Option<Finding> {
    let packages = match target {
        Target::OsRelease => return parse::os_release::parse(data, path).map(Finding::Os),
        Target::DpkgStatus => parse::dpkg::parse(data, true),
        Target::DpkgStatusDir => parse::dpkg::parse(data, false),
        Target::Apk => parse::apk::parse(data),
        Target::RpmSqlite => parse::rpm::parse_sqlite(data),
        Target::RpmBdb => parse::rpm::parse_bdb(data),
        Target::PythonMetadata => parse::python::parse(data),
        Target::NpmPackage => parse::npm::parse_package_json(data),
        Target::NpmLock => parse::npm::parse_lock(data),
        Target::CargoLock => parse::cargo::parse_lock(data),
        Target::Jar => parse::java::parse_jar(data, path, limits),
    };
    packages_at(path, packages)
}

/// The packages found in one file, each told where it was found (jars name the nested jar
/// themselves); `None` when there were none.
fn packages_at(path: &str, mut packages: Vec<Package>) -> Option<Finding> {
    if packages.is_empty() {
        return None;
    }
    for package in &mut packages {
        if package.path.is_empty() {
            package.path = path.to_string();
        }
    }
    Some(Finding::Packages(packages))
}

/// The ecosystem of a distribution package: the OS release's, or, when the image has none or
/// OSV has no name for it, the family the package format belongs to.
fn distro_ecosystem(os: Option<&OsRelease>, kind: PackageKind) -> String {
    if let Some(ecosystem) = os.and_then(|os| os.ecosystem.clone()) {
        return ecosystem;
    }
    match kind {
        PackageKind::Apk => "Alpine",
        PackageKind::Rpm => "Red Hat",
        _ => "Debian",
    }
    .to_string()
}
