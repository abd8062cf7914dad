//! Each recognised record, read from a real layer: what it names, with which ecosystem, name,
//! version, source and path.

mod common;

use std::io::{Cursor, Write};

use common::*;
use wharf_inventory::{PackageKind, SourcePackage};

#[test]
fn dpkg_status_names_installed_packages_with_their_sources() {
    let layer = Layer::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE)
        .file("var/lib/dpkg/status", fixture("dpkg-status"))
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    let os = inventory.os.as_ref().unwrap();
    assert_eq!((os.id.as_str(), os.ecosystem.as_deref()), ("debian", Some("Debian:12")));
    // telnet was removed with its configuration left behind: not installed.
    assert_eq!(
        of_kind(&inventory, PackageKind::Dpkg),
        pairs(&[
            ("bash", "5.2.15-2+b8"),
            ("libc6", "2.36-9+deb12u14"),
            ("libssl3", "3.0.19-1~deb12u2"),
            ("openssl", "3.0.19-1~deb12u2"),
            ("zlib1g", "1:1.2.13.dfsg-1"),
        ])
    );
    let source = |name: &str| find(&inventory, name).source.clone().unwrap();
    let src = |name: &str, version: &str| SourcePackage { name: name.into(), version: version.into() };
    // A binNMU names its source's version, which differs from its own.
    assert_eq!(source("bash"), src("bash", "5.2.15-2"));
    assert_eq!(source("libssl3"), src("openssl", "3.0.19-1~deb12u2"));
    assert_eq!(source("zlib1g"), src("zlib", "1:1.2.13.dfsg-1"));
    // No Source field: the source is named like the package.
    assert_eq!(source("openssl"), src("openssl", "3.0.19-1~deb12u2"));
    let libc = find(&inventory, "libc6");
    assert_eq!((libc.ecosystem.as_str(), libc.path.as_str()), ("Debian:12", "var/lib/dpkg/status"));
}

#[test]
fn distroless_status_d_has_one_file_per_package_and_no_status() {
    let layer = Layer::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE)
        .file(
            "var/lib/dpkg/status.d/libssl3",
            "Package: libssl3\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\nSource: openssl\n",
        )
        .file("var/lib/dpkg/status.d/libssl3.md5sums", "0123456789abcdef0123456789abcdef  usr/lib/libssl.so.3\n")
        .file("var/lib/dpkg/status.d/tzdata", "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n")
        .tar();
    let inventory = inventory(&[(OCI_TAR, layer)]);
    assert_eq!(
        of_kind(&inventory, PackageKind::Dpkg),
        pairs(&[("libssl3", "3.0.15-1~deb12u1"), ("tzdata", "2024a-0+deb12u1")])
    );
    assert_eq!(find(&inventory, "libssl3").path, "var/lib/dpkg/status.d/libssl3");
}

const APK_INSTALLED: &str = "C:Q1Iv0VFl3oSjnICfmfz+UVUm1R8LA=
P:musl
V:1.2.5-r0
A:x86_64
S:411400
I:647168
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712147744
c:b1ad0ab9b1be3a5d53e5e0ef0dc58e6a5e0a3c40
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1gvjVdgzRq8TbRd9W8lC31L4R4lg=

C:Q1fIp5wYdM/I9dRp2AvKkq8l0gLd8=
P:libcrypto3
V:3.3.1-r3
A:x86_64
S:1711405
I:4448256
T:Crypto library from openssl
U:https://www.openssl.org/
L:Apache-2.0
o:openssl
m:Ariadne Conner <ariadne@dereferenced.org>
t:1719999745
c:d2f9fc3b0a6e4b3b1f2a4ce8e9ab2bde2e19e6a0
D:so:libc.musl-x86_64.so.1
p:so:libcrypto.so.3=3
F:usr/lib
R:libcrypto.so.3

C:Q1yB3YQbrwTq6z8vBUGU2F1Cr87Ms=
P:busybox
V:1.36.1-r29
A:x86_64
o:busybox
";

#[test]
fn apk_installed_names_packages_and_their_origins() {
    let os_release = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n";
    let layer = Layer::new().file("etc/os-release", os_release).file("lib/apk/db/installed", APK_INSTALLED).zstd();
    let inventory = inventory(&[(OCI_ZSTD, layer)]);
    assert_eq!(
        of_kind(&inventory, PackageKind::Apk),
        pairs(&[("busybox", "1.36.1-r29"), ("libcrypto3", "3.3.1-r3"), ("musl", "1.2.5-r0")])
    );
    let libcrypto = find(&inventory, "libcrypto3");
    assert_eq!(libcrypto.ecosystem, "Alpine:v3.20");
    assert_eq!(libcrypto.source, Some(SourcePackage { name: "openssl".into(), version: "3.3.1-r3".into() }));
}

#[test]
fn rpm_sqlite_database_names_packages_epochs_and_source_rpms() {
    let os_release = "NAME=\"AlmaLinux\"\nVERSION=\"9.4 (Seafoam Ocelot)\"\nID=\"almalinux\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"AlmaLinux 9.4 (Seafoam Ocelot)\"\n";
    let layer = Layer::new()
        .file("etc/os-release", os_release)
        .file("var/lib/rpm/rpmdb.sqlite", fixture("rpmdb.sqlite"))
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    assert_eq!(
        of_kind(&inventory, PackageKind::Rpm),
        pairs(&[
            ("almalinux-release", "9.4-1.el9"),
            ("bash", "5.1.8-9.el9"),
            ("glibc", "2.34-100.el9_4.2"),
            ("openssl-libs", "1:3.0.7-27.el9"),
            ("tzdata", "2024a-1.el9"),
        ])
    );
    let openssl = find(&inventory, "openssl-libs");
    assert_eq!(openssl.ecosystem, "AlmaLinux:9");
    assert_eq!(openssl.source, Some(SourcePackage { name: "openssl".into(), version: "1:3.0.7-27.el9".into() }));
    assert_eq!(openssl.path, "var/lib/rpm/rpmdb.sqlite");
}

#[test]
fn rpm_berkeley_db_database_names_the_same_packages() {
    let os_release = "NAME=\"Rocky Linux\"\nVERSION=\"8.10 (Green Obsidian)\"\nID=\"rocky\"\nVERSION_ID=\"8.10\"\n";
    let layer = Layer::new()
        .file("etc/os-release", os_release)
        .file("var/lib/rpm/Packages", fixture("rpmdb-bdb-Packages"))
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    assert_eq!(of_kind(&inventory, PackageKind::Rpm).len(), 5);
    let openssl = find(&inventory, "openssl-libs");
    assert_eq!((openssl.version.as_str(), openssl.ecosystem.as_str()), ("1:3.0.7-27.el9", "Rocky Linux:8"));
    assert_eq!(openssl.source.as_ref().unwrap().name, "openssl");
    assert_eq!(openssl.path, "var/lib/rpm/Packages");
}

#[test]
fn a_corrupt_rpm_database_names_nothing_and_fails_nothing() {
    let mut db = fixture("rpmdb.sqlite");
    db.truncate(db.len() / 3);
    let layer =
        Layer::new().file("var/lib/rpm/rpmdb.sqlite", &db).file("usr/lib/sysimage/rpm/rpmdb.sqlite", b"junk").tar();
    assert!(inventory(&[(OCI_TAR, layer)]).packages.is_empty());
}

#[test]
fn python_distributions_from_dist_info_and_egg_info() {
    let metadata = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: Python HTTP for Humans.\n\
                    Requires-Dist: urllib3 (<3,>=1.21.1)\n\nVersion: 9.9.9 is in the description, not a header\n";
    let pkg_info = "Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n";
    let distutils = "Metadata-Version: 1.0\nName: python-apt\nVersion: 2.6.0\n";
    let site = "usr/lib/python3.11/site-packages";
    let layer = Layer::new()
        .file(&format!("{site}/requests-2.31.0.dist-info/METADATA"), metadata)
        .file(&format!("{site}/requests-2.31.0.dist-info/RECORD"), "requests/__init__.py,,\n")
        .file(&format!("{site}/six-1.16.0.egg-info/PKG-INFO"), pkg_info)
        .file("usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info", distutils)
        .file(&format!("{site}/broken-1.0.dist-info/METADATA"), "Name: broken\n")
        .gzip();
    let inventory = inventory(&[(DOCKER_GZIP, layer)]);
    assert_eq!(
        of_kind(&inventory, PackageKind::Python),
        // By path: python3.11/ sorts before python3/.
        pairs(&[("requests", "2.31.0"), ("six", "1.16.0"), ("python-apt", "2.6.0")])
    );
    assert!(inventory.packages.iter().all(|p| p.ecosystem == "PyPI" && p.source.is_none()));
    assert_eq!(find(&inventory, "requests").path, format!("{site}/requests-2.31.0.dist-info/METADATA"));
}

#[test]
fn npm_packages_from_node_modules_and_lock_files() {
    let lock_v3 = r#"{
      "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
      "packages": {
        "": { "name": "app", "version": "1.0.0", "dependencies": { "express": "^4.18.2" } },
        "node_modules/express": { "version": "4.18.2", "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz" },
        "node_modules/express/node_modules/debug": { "version": "2.6.9" },
        "node_modules/@types/node": { "version": "20.11.5", "dev": true },
        "node_modules/lodash-old": { "name": "lodash", "version": "4.17.20" },
        "packages/internal": { "version": "0.0.1" },
        "node_modules/internal": { "resolved": "packages/internal", "link": true }
      }
    }"#;
    let lock_v1 = r#"{
      "name": "legacy", "version": "1.0.0", "lockfileVersion": 1,
      "dependencies": {
        "minimist": { "version": "1.2.5" },
        "mkdirp": { "version": "0.5.5", "dependencies": { "minimist": { "version": "1.2.6" } } },
        "mocha": { "version": "10.0.0", "dev": true },
        "old-lodash": { "version": "npm:lodash@4.17.15" }
      }
    }"#;
    let layer = Layer::new()
        .file("app/package.json", r#"{"name": "app", "version": "1.0.0"}"#)
        .file("app/package-lock.json", lock_v3)
        .file("app/node_modules/.package-lock.json", lock_v3)
        .file("app/node_modules/express/package.json", r#"{"name": "express", "version": "4.18.2"}"#)
        .file("app/node_modules/express/lib/package.json", r#"{"name": "not-a-package", "version": "0.0.0"}"#)
        .file("app/node_modules/@babel/core/package.json", r#"{"name": "@babel/core", "version": "7.23.9"}"#)
        .file("app/node_modules/broken/package.json", "{not json")
        .file("legacy/package-lock.json", lock_v1)
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    let at = |path: &str| {
        let mut found: Vec<(String, String)> = inventory
            .packages
            .iter()
            .filter(|p| p.path == path)
            .inspect(|p| assert_eq!((p.ecosystem.as_str(), p.kind), ("npm", PackageKind::Npm)))
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        found.sort();
        found
    };
    assert_eq!(at("app/package-lock.json"), pairs(&[("debug", "2.6.9"), ("express", "4.18.2"), ("lodash", "4.17.20")]));
    assert_eq!(at("app/node_modules/express/package.json"), pairs(&[("express", "4.18.2")]));
    assert_eq!(at("app/node_modules/@babel/core/package.json"), pairs(&[("@babel/core", "7.23.9")]));
    assert_eq!(
        at("legacy/package-lock.json"),
        pairs(&[("lodash", "4.17.15"), ("minimist", "1.2.5"), ("minimist", "1.2.6"), ("mkdirp", "0.5.5")])
    );
    // The app's own package.json is not under node_modules, and the hidden lock file in
    // node_modules repeats what the package.json files there say.
    assert_eq!(inventory.packages.len(), 9);
}

#[test]
fn cargo_lock_names_crates_io_packages_only() {
    let lock = r#"# This file is automatically @generated by Cargo.
version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["smallvec", "time", "private"]

[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "fe0f37c9e8f3c5a4a66ad655a93c74daac4ad00c441533bf5c6e7990bb42604e"

[[package]]
name = "time"
version = "0.1.45"
source = "sparse+https://index.crates.io/"

[[package]]
name = "private"
version = "1.0.0"
source = "git+https://example.com/private.git#0123456789abcdef"
"#;
    let layer = Layer::new()
        .file("src/app/Cargo.lock", lock)
        .file("root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/time-0.1.45/Cargo.lock", lock)
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    assert_eq!(of_kind(&inventory, PackageKind::Cargo), pairs(&[("smallvec", "1.6.0"), ("time", "0.1.45")]));
    assert!(inventory.packages.iter().all(|p| p.ecosystem == "crates.io" && p.path == "src/app/Cargo.lock"));
}

#[test]
fn cargo_auditable_binaries_name_the_crates_compiled_in() {
    let layer = Layer::new().executable("usr/local/bin/hello", &fixture("hello-rust-auditable")).gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    assert_eq!(of_kind(&inventory, PackageKind::Cargo), pairs(&[("smallvec", "1.6.0")]));
    let smallvec = find(&inventory, "smallvec");
    assert_eq!((smallvec.ecosystem.as_str(), smallvec.path.as_str()), ("crates.io", "usr/local/bin/hello"));
}

#[test]
fn go_binaries_name_modules_replacements_and_the_toolchain() {
    let layer = Layer::new().executable("usr/bin/hello-go", &fixture("hello-go")).gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    // The binary was built by make-go-binary.sh: main module example.com/hello (devel),
    // github.com/old/dep v1.0.0 replaced by github.com/new/dep v1.1.0, golang.org/x/text
    // v0.3.5, Go 1.19.8.
    assert_eq!(
        of_kind(&inventory, PackageKind::Go),
        pairs(&[
            ("example.com/hello", "(devel)"),
            ("github.com/new/dep", "1.1.0"),
            ("golang.org/x/text", "0.3.5"),
            ("stdlib", "1.19.8"),
        ])
    );
    assert!(inventory.packages.iter().all(|p| p.ecosystem == "Go" && p.path == "usr/bin/hello-go"));
}

#[test]
fn go_binaries_bigger_than_the_file_limit_are_scanned_as_they_stream() {
    let binary = fixture("hello-go");
    let limits = wharf_inventory::Limits { max_file_bytes: binary.len() as u64 / 4, ..Default::default() };
    let layer = Layer::new()
        .executable("usr/bin/hello-go", &binary)
        .executable("usr/bin/hello-rust", &fixture("hello-rust-auditable"))
        .tar();
    let inventory = try_inventory(limits, &[(OCI_TAR, layer)]).unwrap();
    assert_eq!(of_kind(&inventory, PackageKind::Go).len(), 4);
    assert!(of_kind(&inventory, PackageKind::Go).contains(&("stdlib".to_string(), "1.19.8".to_string())));
    // The Rust binary's section table is at its end: too big to read, so listed as skipped.
    assert!(of_kind(&inventory, PackageKind::Cargo).is_empty());
    let skipped: Vec<&str> = inventory.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["usr/bin/hello-rust"]);
}

fn jar(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn pom_properties(group: &str, artifact: &str, version: &str) -> Vec<u8> {
    format!("#Created by Apache Maven 3.9.6\nartifactId={artifact}\ngroupId={group}\nversion={version}\n").into_bytes()
}

#[test]
fn jars_name_their_maven_artifacts_and_those_of_nested_jars() {
    let deflated = zip::CompressionMethod::Deflated;
    let log4j = jar(
        &[
            ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
            (
                "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                &pom_properties("org.apache.logging.log4j", "log4j-core", "2.14.1"),
            ),
        ],
        deflated,
    );
    let jackson = jar(
        &[(
            "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties",
            &pom_properties("com.fasterxml.jackson.core", "jackson-databind", "2.9.10"),
        )],
        deflated,
    );
    // Spring Boot stores nested jars uncompressed.
    let app = jar(
        &[
            ("META-INF/maven/com.example/app/pom.properties", &pom_properties("com.example", "app", "1.0.0")),
            ("BOOT-INF/lib/log4j-core-2.14.1.jar", &log4j),
            ("BOOT-INF/lib/jackson-databind-2.9.10.jar", &jackson),
            ("BOOT-INF/lib/not-a-jar.jar", b"garbage"),
        ],
        zip::CompressionMethod::Stored,
    );
    let layer = Layer::new().file("app/app.jar", &app).file("opt/lib/plain.jar", &log4j).gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    let found: Vec<(&str, &str, &str)> =
        inventory.packages.iter().map(|p| (p.path.as_str(), p.name.as_str(), p.version.as_str())).collect();
    assert_eq!(
        found,
        [
            ("app/app.jar", "com.example:app", "1.0.0"),
            (
                "app/app.jar!/BOOT-INF/lib/jackson-databind-2.9.10.jar",
                "com.fasterxml.jackson.core:jackson-databind",
                "2.9.10"
            ),
            ("app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar", "org.apache.logging.log4j:log4j-core", "2.14.1"),
            ("opt/lib/plain.jar", "org.apache.logging.log4j:log4j-core", "2.14.1"),
        ]
    );
    assert!(inventory.packages.iter().all(|p| p.ecosystem == "Maven" && p.kind == PackageKind::Java));
}

#[test]
fn os_release_from_usr_lib_through_the_etc_symlink() {
    let ubuntu = "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\n\
                  VERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\nID_LIKE=debian\n";
    let layer = Layer::new()
        .file("usr/lib/os-release", ubuntu)
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file("var/lib/dpkg/status", "Package: bash\nStatus: install ok installed\nVersion: 5.1-6ubuntu1.1\n")
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    let os = inventory.os.unwrap();
    assert_eq!(os.path, "usr/lib/os-release");
    assert_eq!(os.pretty_name.as_deref(), Some("Ubuntu 22.04.4 LTS"));
    assert_eq!(inventory.packages[0].ecosystem, "Ubuntu:22.04:LTS");
}

#[test]
fn os_release_ecosystems() {
    let cases = [
        ("ID=debian\nVERSION_ID=\"12\"", Some("Debian:12")),
        ("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"", Some("Debian")),
        ("ID=ubuntu\nVERSION_ID=\"24.04\"\nVERSION=\"24.04.1 LTS (Noble Numbat)\"", Some("Ubuntu:24.04:LTS")),
        ("ID=ubuntu\nVERSION_ID=\"23.10\"\nVERSION=\"23.10 (Mantic Minotaur)\"", Some("Ubuntu:23.10")),
        ("ID=alpine\nVERSION_ID=3.20.3", Some("Alpine:v3.20")),
        ("ID=alpine\nVERSION_ID=3.21.0_alpha20240807", Some("Alpine:v3.21")),
        ("ID=\"almalinux\"\nVERSION_ID=\"9.4\"", Some("AlmaLinux:9")),
        ("ID=\"rocky\"\nVERSION_ID=\"8.10\"", Some("Rocky Linux:8")),
        ("ID=\"rhel\"\nVERSION_ID=\"9.4\"", Some("Red Hat:enterprise_linux:9")),
        ("ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"", Some("openSUSE:Leap 15.5")),
        ("ID=wolfi\nVERSION_ID=20230201", Some("Wolfi")),
        ("ID=\"centos\"\nVERSION_ID=\"7\"", None),
        ("ID=amzn\nVERSION_ID=\"2023\"", None),
    ];
    for (text, ecosystem) in cases {
        let layer = Layer::new().file("etc/os-release", text).tar();
        let os = inventory(&[(OCI_TAR, layer)]).os.unwrap();
        assert_eq!(os.ecosystem.as_deref(), ecosystem, "{text}");
    }
    let layer = Layer::new().file("etc/os-release", "NAME=nothing\n").tar();
    assert_eq!(inventory(&[(OCI_TAR, layer)]).os, None, "no ID, no OS release");
}
