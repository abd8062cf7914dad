//! Layers as streams: the compressions and media types, the tar extensions real builders
//! write, and what whiteouts and overwrites in upper layers do to what lower layers had.

mod common;

use common::*;
use wharf_inventory::{Inventory, LayerError, Limits, PackageKind};

const STATUS_BASH: &str = "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b8\n";
const STATUS_CURL: &str = "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u8\n";

fn metadata(name: &str, version: &str) -> String {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
}

fn base() -> Layer {
    Layer::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE)
        .file("var/lib/dpkg/status", STATUS_BASH)
        .dir("usr/lib/python3/site-packages")
        .file("usr/lib/python3/site-packages/requests-2.31.0.dist-info/METADATA", metadata("requests", "2.31.0"))
        .file("usr/lib/python3/site-packages/urllib3-2.0.0.dist-info/METADATA", metadata("urllib3", "2.0.0"))
        .file("opt/app/node_modules/lodash/package.json", r#"{"name":"lodash","version":"4.17.20"}"#)
}

fn names(inventory: &Inventory) -> Vec<String> {
    inventory.packages.iter().map(|p| format!("{}@{}", p.name, p.version)).collect()
}

#[test]
fn every_compression_and_media_type_reads_the_same() {
    let expected = inventory(&[(OCI_TAR, base().tar())]);
    assert_eq!(names(&expected), ["lodash@4.17.20", "requests@2.31.0", "urllib3@2.0.0", "bash@5.2.15-2+b8"]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (OCI_GZIP, base().gzip()),
        (OCI_ZSTD, base().zstd()),
        (DOCKER_GZIP, base().gzip()),
        ("application/vnd.docker.image.rootfs.diff.tar", base().tar()),
        ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", base().gzip()),
        // Unknown media type: the bytes decide.
        ("", base().gzip()),
        ("", base().zstd()),
        ("", base().tar()),
        // Labelled wrongly: runtimes go by the bytes, and so do we.
        (OCI_GZIP, base().tar()),
        (OCI_TAR, base().zstd()),
        // Parameters after the media type.
        ("application/vnd.oci.image.layer.v1.tar+gzip; charset=binary", base().gzip()),
    ];
    for (media_type, blob) in cases {
        assert_eq!(inventory(&[(media_type, blob)]), expected, "{media_type:?}");
    }
}

#[test]
fn multi_frame_zstd_with_skippable_frames_reads_whole() {
    // zstd:chunked writes one frame per chunk and its table of contents in a skippable frame.
    let tar = base().tar();
    let (first, second) = tar.split_at(tar.len() / 2);
    let mut blob = zstd(first);
    blob.extend_from_slice(&0x184D_2A5Bu32.to_le_bytes());
    blob.extend_from_slice(&5u32.to_le_bytes());
    blob.extend_from_slice(b"toc!!");
    blob.extend_from_slice(&zstd(second));
    assert_eq!(inventory(&[(OCI_ZSTD, blob)]), inventory(&[(OCI_TAR, tar)]));
}

#[test]
fn multi_member_gzip_reads_whole() {
    // pigz and some builders concatenate gzip members.
    let tar = base().tar();
    let (first, second) = tar.split_at(1000);
    let mut blob = gzip(first);
    blob.extend_from_slice(&gzip(second));
    assert_eq!(inventory(&[(OCI_GZIP, blob)]), inventory(&[(OCI_TAR, tar)]));
}

#[test]
fn media_types_that_are_not_layers_are_refused() {
    for media_type in
        ["application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar+lz4", "text/plain"]
    {
        let error = try_inventory(Limits::default(), &[(media_type, base().gzip())]).unwrap_err();
        assert!(matches!(error, LayerError::UnsupportedMediaType(ref m) if m == media_type), "{error}");
    }
}

#[test]
fn an_empty_layer_and_an_empty_blob_name_nothing() {
    let empty_tar = Layer::new().gzip();
    assert_eq!(inventory(&[(OCI_GZIP, empty_tar), (OCI_TAR, Vec::new())]), Inventory::default());
}

#[test]
fn long_paths_from_gnu_and_pax_headers() {
    let deep = format!("usr/lib/python3/site-packages/{}/pkg-1.0.dist-info/METADATA", "d".repeat(150));
    let layer = Layer::new()
        .file(&deep, metadata("gnu-long", "1.0"))
        .pax_file(
            &format!("opt/{}/node_modules/pax-long/package.json", "p".repeat(200)),
            br#"{"name":"pax-long","version":"2.0.0"}"#,
        )
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    assert_eq!(names(&inventory), ["pax-long@2.0.0", "gnu-long@1.0"]);
    assert_eq!(inventory.packages[1].path, deep);
}

#[test]
fn paths_are_normalised() {
    let layer =
        Layer::new().file("./etc/os-release", DEBIAN_OS_RELEASE).file("var//lib/./dpkg/status", STATUS_BASH).tar();
    let inventory = inventory(&[(OCI_TAR, layer)]);
    assert_eq!(inventory.os.unwrap().path, "etc/os-release");
    assert_eq!(inventory.packages[0].path, "var/lib/dpkg/status");
    assert_eq!(inventory.packages[0].ecosystem, "Debian:12");
}

#[test]
fn a_whiteout_deletes_a_file_of_a_lower_layer() {
    let upper = Layer::new().whiteout("usr/lib/python3/site-packages/urllib3-2.0.0.dist-info/METADATA").gzip();
    let inventory = inventory(&[(OCI_GZIP, base().gzip()), (OCI_GZIP, upper)]);
    assert_eq!(names(&inventory), ["lodash@4.17.20", "requests@2.31.0", "bash@5.2.15-2+b8"]);
}

#[test]
fn a_whiteout_of_a_directory_deletes_everything_under_it() {
    let upper =
        Layer::new().whiteout("opt/app").whiteout("usr/lib/python3/site-packages/requests-2.31.0.dist-info").gzip();
    let inventory = inventory(&[(OCI_GZIP, base().gzip()), (OCI_GZIP, upper)]);
    assert_eq!(names(&inventory), ["urllib3@2.0.0", "bash@5.2.15-2+b8"]);
}

#[test]
fn an_opaque_directory_hides_lower_contents_but_keeps_its_own() {
    // pip reinstalling into a directory docker recreated: the new layer's view is all there is.
    let upper = Layer::new()
        .dir("usr/lib/python3/site-packages")
        .file("usr/lib/python3/site-packages/requests-2.32.3.dist-info/METADATA", metadata("requests", "2.32.3"))
        .opaque("usr/lib/python3/site-packages")
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, base().gzip()), (OCI_GZIP, upper)]);
    assert_eq!(names(&inventory), ["lodash@4.17.20", "requests@2.32.3", "bash@5.2.15-2+b8"]);
}

#[test]
fn whiteouts_do_not_apply_to_their_own_layer() {
    let upper = Layer::new()
        .file("opt/app/node_modules/lodash/package.json", r#"{"name":"lodash","version":"4.17.21"}"#)
        .whiteout("opt/app/node_modules/lodash/package.json")
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, base().gzip()), (OCI_GZIP, upper)]);
    assert!(names(&inventory).contains(&"lodash@4.17.21".to_string()));
}

#[test]
fn an_upper_file_replaces_the_lower_one_even_when_it_names_nothing() {
    let upper = Layer::new()
        .file("var/lib/dpkg/status", format!("{STATUS_BASH}\n{STATUS_CURL}"))
        .file("opt/app/node_modules/lodash/package.json", "{}")
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, base().gzip()), (OCI_GZIP, upper)]);
    assert_eq!(names(&inventory), ["requests@2.31.0", "urllib3@2.0.0", "bash@5.2.15-2+b8", "curl@7.88.1-10+deb12u8"]);
}

#[test]
fn a_file_replacing_a_directory_removes_what_was_under_it() {
    let upper = Layer::new().file("opt/app", b"now a file").gzip();
    let inventory = inventory(&[(OCI_GZIP, base().gzip()), (OCI_GZIP, upper)]);
    assert!(!names(&inventory).contains(&"lodash@4.17.20".to_string()));
    // A directory entry over a directory merges with it.
    let upper = Layer::new().dir("opt/app").dir("opt/app/node_modules").gzip();
    assert!(names(&inventory_of(upper)).contains(&"lodash@4.17.20".to_string()));
}

fn inventory_of(upper: Vec<u8>) -> Inventory {
    inventory(&[(OCI_GZIP, base().gzip()), (OCI_GZIP, upper)])
}

#[test]
fn an_upper_os_release_changes_the_ecosystem_of_lower_packages() {
    let upper = Layer::new().file("etc/os-release", "ID=debian\nVERSION_ID=\"13\"\n").gzip();
    let inventory = inventory_of(upper);
    assert_eq!(inventory.packages.iter().find(|p| p.kind == PackageKind::Dpkg).unwrap().ecosystem, "Debian:13");
    let gone = Layer::new().whiteout("etc/os-release").gzip();
    let inventory = inventory_of(gone);
    assert_eq!(inventory.os, None);
    // Without an OS release, dpkg packages fall back to the family's name.
    assert_eq!(inventory.packages.iter().find(|p| p.kind == PackageKind::Dpkg).unwrap().ecosystem, "Debian");
}

#[test]
fn a_hard_link_names_what_its_target_names() {
    let layer = Layer::new()
        .file("usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA", metadata("six", "1.16.0"))
        .hardlink(
            "usr/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
            "usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA",
        )
        .gzip();
    let inventory = inventory(&[(OCI_GZIP, layer)]);
    let paths: Vec<&str> = inventory.packages.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "usr/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
            "usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA"
        ]
    );
}

#[test]
fn a_failed_layer_leaves_the_builder_as_it_was() {
    let mut builder = wharf_inventory::InventoryBuilder::new(Limits::default());
    builder.add_layer(OCI_GZIP, base().gzip().as_slice()).unwrap();
    let mut bad = Layer::new().whiteout("var/lib/dpkg/status").opaque("opt/app").tar();
    bad.truncate(bad.len() - 1024 - 100);
    assert!(matches!(builder.add_layer(OCI_TAR, bad.as_slice()), Err(LayerError::Truncated)));
    assert_eq!(builder.finish(), inventory(&[(OCI_GZIP, base().gzip())]));
}

#[test]
fn the_inventory_is_deterministic_and_round_trips_through_json() {
    let layers = [(OCI_GZIP, base().gzip()), (OCI_ZSTD, Layer::new().file("var/lib/dpkg/status", STATUS_CURL).zstd())];
    let inventory = inventory(&layers);
    let json = serde_json::to_string(&inventory).unwrap();
    assert_eq!(json, serde_json::to_string(&common::inventory(&layers)).unwrap());
    assert_eq!(serde_json::from_str::<Inventory>(&json).unwrap(), inventory);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["packages"][0],
        serde_json::json!({
            "ecosystem": "npm", "name": "lodash", "version": "4.17.20", "source": null,
            "path": "opt/app/node_modules/lodash/package.json", "kind": "npm"
        })
    );
    assert_eq!(value["os"]["ecosystem"], "Debian:12");
}
