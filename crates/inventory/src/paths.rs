//! Layer paths: one spelling per file, and which files hold package records.

/// A tar path as a key: relative to the image root, without `./`, `//`, `.` or trailing `/`.
/// `..` cannot climb above the root, as when the layer is unpacked by a container runtime.
pub(crate) fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// `dir/name` split at the last `/` (`""` for a top-level name).
pub(crate) fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// `dir/name` joined, for a `dir` that may be the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// The files whose contents name installed packages, by where they sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    OsRelease,
    DpkgStatus,
    /// One file per package under `status.d/`, as distroless images have.
    DpkgStatusDir,
    Apk,
    RpmSqlite,
    RpmBdb,
    PythonMetadata,
    NpmPackage,
    NpmLock,
    CargoLock,
    Jar,
}

/// Which kind of package record `path` (normalised) is, if any. ELF binaries are found by
/// their bytes, not their names, so they are not here.
pub(crate) fn classify(path: &str) -> Option<Target> {
    let (dir, name) = split_parent(path);
    let target = match (dir, name) {
        ("etc" | "usr/lib", "os-release") => Target::OsRelease,
        ("var/lib/dpkg", "status") => Target::DpkgStatus,
        ("var/lib/dpkg/status.d", name) if !name.ends_with(".md5sums") => Target::DpkgStatusDir,
        ("lib/apk/db", "installed") => Target::Apk,
        // rpm >= 4.16 moved the database to usr/lib/sysimage (Fedora, RHEL 10); var/lib/rpm is
        // then a symlink to it.
        ("var/lib/rpm" | "usr/lib/sysimage/rpm", "rpmdb.sqlite") => Target::RpmSqlite,
        ("var/lib/rpm", "Packages") => Target::RpmBdb,
        (dir, "METADATA") if dir.ends_with(".dist-info") => Target::PythonMetadata,
        (dir, "PKG-INFO") if dir.ends_with(".egg-info") => Target::PythonMetadata,
        // distutils and old setuptools write the egg-info as one file rather than a directory.
        (_, name) if name.ends_with(".egg-info") => Target::PythonMetadata,
        (dir, "package.json") if is_node_module_dir(dir) => Target::NpmPackage,
        (dir, "package-lock.json" | "npm-shrinkwrap.json") if !in_dir(dir, "node_modules") => Target::NpmLock,
        // The lock files of crates in cargo's download cache describe how those crates were
        // developed, not what is installed.
        (dir, "Cargo.lock") if !dir.contains(".cargo/registry/") && !dir.contains(".cargo/git/") => Target::CargoLock,
        (_, name) if has_extension(name, &["jar", "war", "ear"]) => Target::Jar,
        _ => return None,
    };
    Some(target)
}

/// `…/node_modules/<name>` or `…/node_modules/@scope/<name>`: a package's own directory, not
/// some directory inside it (whose package.json files are test fixtures and the like).
fn is_node_module_dir(dir: &str) -> bool {
    let (parent, name) = split_parent(dir);
    if name.is_empty() || name.starts_with('.') {
        return false;
    }
    let (grandparent, parent_name) = split_parent(parent);
    // `@scope` directories group packages and are not packages themselves.
    (parent_name == "node_modules" && !name.starts_with('@'))
        || (parent_name.starts_with('@') && split_parent(grandparent).1 == "node_modules")
}

fn in_dir(dir: &str, component: &str) -> bool {
    dir.split('/').any(|part| part == component)
}

fn has_extension(name: &str, extensions: &[&str]) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && extensions.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_paths() {
        let cases = [
            ("./etc/os-release", "etc/os-release"),
            ("/etc//os-release/", "etc/os-release"),
            ("a/./b/../c", "a/c"),
            ("../../etc/passwd", "etc/passwd"),
            ("./", ""),
        ];
        for (path, expected) in cases {
            assert_eq!(normalise(path), expected, "{path}");
        }
    }

    #[test]
    fn which_files_name_packages() {
        use Target::*;
        let cases = [
            ("etc/os-release", Some(OsRelease)),
            ("usr/lib/os-release", Some(OsRelease)),
            ("usr/share/os-release", None),
            ("var/lib/dpkg/status", Some(DpkgStatus)),
            ("var/lib/dpkg/status-old", None),
            ("var/lib/dpkg/status.d/base-files", Some(DpkgStatusDir)),
            ("var/lib/dpkg/status.d/base-files.md5sums", None),
            ("lib/apk/db/installed", Some(Apk)),
            ("var/lib/rpm/rpmdb.sqlite", Some(RpmSqlite)),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite", Some(RpmSqlite)),
            ("var/lib/rpm/Packages", Some(RpmBdb)),
            ("var/lib/rpm/Packages.db", None),
            ("usr/lib/python3.12/site-packages/pip-24.0.dist-info/METADATA", Some(PythonMetadata)),
            ("usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", Some(PythonMetadata)),
            ("usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info", Some(PythonMetadata)),
            ("usr/lib/python3/dist-packages/pip-24.0.dist-info/RECORD", None),
            ("app/node_modules/express/package.json", Some(NpmPackage)),
            ("app/node_modules/@types/node/package.json", Some(NpmPackage)),
            ("app/node_modules/express/lib/package.json", None),
            ("app/node_modules/@types/package.json", None),
            ("app/node_modules/.bin/package.json", None),
            ("app/package.json", None),
            ("app/package-lock.json", Some(NpmLock)),
            ("app/npm-shrinkwrap.json", Some(NpmLock)),
            ("app/node_modules/.package-lock.json", None),
            ("app/node_modules/x/package-lock.json", None),
            ("src/Cargo.lock", Some(CargoLock)),
            ("root/.cargo/registry/src/index/x-1.0/Cargo.lock", None),
            ("opt/app.jar", Some(Jar)),
            ("opt/app.WAR", Some(Jar)),
            ("opt/.jar", None),
            ("usr/bin/hello", None),
        ];
        for (path, expected) in cases {
            assert_eq!(classify(path), expected, "{path}");
        }
    }
}
