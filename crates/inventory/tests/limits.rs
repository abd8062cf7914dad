//! Hostile and broken layers: each fails with an error that names what was wrong, without
//! panicking and without taking memory or time in proportion to what the layer claims.

mod common;

use std::io::Read;

use common::*;
use wharf_inventory::{InventoryBuilder, LayerError, Limits, SkipReason, Skipped};

/// A tar header for a regular file of `size` bytes.
fn file_header(path: &str, size: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_path(path).unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    header.as_bytes().to_vec()
}

fn add(limits: Limits, media_type: &str, blob: impl Read) -> Result<(), LayerError> {
    InventoryBuilder::new(limits).add_layer(media_type, blob)
}

#[test]
fn a_gzip_bomb_stops_at_the_layer_byte_limit() {
    // 10 GiB of zeros in one file, compressed as the test reads it (about 10 MB of gzip if it
    // were all written out), so nothing of that size exists anywhere.
    const TEN_GIB: u64 = 10 << 30;
    let tar = std::io::Cursor::new(file_header("zeros", TEN_GIB)).chain(std::io::repeat(0).take(TEN_GIB));
    let bomb = flate2::read::GzEncoder::new(tar, flate2::Compression::fast());
    let limits = Limits { max_layer_bytes: 64 << 20, ..Limits::default() };
    let error = add(limits, OCI_GZIP, bomb).unwrap_err();
    assert!(matches!(error, LayerError::TooManyBytes { limit } if limit == 64 << 20), "{error}");
    assert_eq!(error.to_string(), "layer inflates to more than 67108864 bytes");
}

#[test]
fn a_layer_exactly_at_the_byte_limit_is_read() {
    let layer =
        Layer::new().file("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n").tar();
    // Reading stops at the first of the two zero blocks that end the archive.
    let read = layer.len() as u64 - 512;
    let limits = Limits { max_layer_bytes: read, ..Limits::default() };
    assert_eq!(try_inventory(limits, &[(OCI_TAR, layer.clone())]).unwrap().packages.len(), 1);
    let limits = Limits { max_layer_bytes: read - 1, ..Limits::default() };
    assert!(matches!(try_inventory(limits, &[(OCI_TAR, layer)]), Err(LayerError::TooManyBytes { .. })));
}

#[test]
fn a_zstd_frame_asking_for_a_huge_window_is_refused() {
    // Frame header: magic, descriptor (not single-segment), window descriptor 0xF8 = 2^41 bytes.
    let mut blob = 0xFD2F_B528u32.to_le_bytes().to_vec();
    blob.extend_from_slice(&[0x00, 0xF8]);
    blob.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]); // a last, empty raw block
    let error = add(Limits::default(), OCI_ZSTD, blob.as_slice()).unwrap_err();
    assert!(matches!(error, LayerError::Decompress(_)), "{error}");
    assert!(error.to_string().contains("window"), "{error}");
}

#[test]
fn too_many_entries() {
    let mut layer = Layer::new();
    for i in 0..150 {
        layer = layer.file(&format!("tmp/{i}"), b"x");
    }
    let limits = Limits { max_entries: 100, ..Limits::default() };
    let error = add(limits, OCI_GZIP, layer.gzip().as_slice()).unwrap_err();
    assert!(matches!(error, LayerError::TooManyEntries { limit: 100 }), "{error}");
}

#[test]
fn an_over_long_path() {
    let long = format!("opt/{}/package.json", "a/".repeat(3000));
    let gnu = Layer::new().file(&long, b"{}").gzip();
    let pax = Layer::new().pax_file(&long, b"{}").gzip();
    for blob in [gnu, pax] {
        let error = add(Limits::default(), OCI_GZIP, blob.as_slice()).unwrap_err();
        assert!(matches!(error, LayerError::PathTooLong { limit: 4096 }), "{error}");
    }
    let fits = Layer::new().file(&long, b"{}").tar();
    assert!(add(Limits { max_path_bytes: 8192, ..Limits::default() }, OCI_TAR, fits.as_slice()).is_ok());
}

#[test]
fn a_gnu_long_name_record_claiming_gigabytes_is_not_read() {
    let mut header = tar::Header::new_gnu();
    header.set_path("././@LongLink").unwrap();
    header.set_entry_type(tar::EntryType::GNULongName);
    header.set_size(4 << 30);
    header.set_cksum();
    let blob = std::io::Cursor::new(header.as_bytes().to_vec()).chain(std::io::repeat(b'a'));
    let error = add(Limits::default(), OCI_TAR, blob).unwrap_err();
    assert!(matches!(error, LayerError::PathTooLong { .. }), "{error}");
}

#[test]
fn a_truncated_gzip_stream() {
    let mut blob = Layer::new().file("var/lib/dpkg/status", fixture("dpkg-status")).gzip();
    blob.truncate(blob.len() / 2);
    let error = add(Limits::default(), OCI_GZIP, blob.as_slice()).unwrap_err();
    assert!(matches!(error, LayerError::Decompress(_) | LayerError::Truncated), "{error}");
}

#[test]
fn a_corrupt_gzip_stream() {
    let mut blob = Layer::new().file("var/lib/dpkg/status", fixture("dpkg-status")).gzip();
    for byte in &mut blob[20..60] {
        *byte ^= 0x5a;
    }
    let error = add(Limits::default(), OCI_GZIP, blob.as_slice()).unwrap_err();
    assert!(matches!(error, LayerError::Decompress(_)), "{error}");
}

#[test]
fn a_truncated_tar_stream() {
    let mut blob = Layer::new().file("var/lib/dpkg/status", fixture("dpkg-status")).tar();
    blob.truncate(2000);
    let error = add(Limits::default(), OCI_TAR, blob.as_slice()).unwrap_err();
    assert!(matches!(error, LayerError::Truncated), "{error}");
}

#[test]
fn garbage_instead_of_tar() {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for (media_type, blob) in [(OCI_TAR, garbage.clone()), (OCI_GZIP, garbage.clone()), (OCI_TAR, gzip(&garbage))] {
        let error = add(Limits::default(), media_type, blob.as_slice()).unwrap_err();
        assert!(matches!(error, LayerError::NotTar(_)), "{media_type}: {error}");
    }
}

#[test]
fn too_many_packages() {
    let layer = Layer::new().file("var/lib/dpkg/status", fixture("dpkg-status")).gzip();
    let limits = Limits { max_packages: 3, ..Limits::default() };
    let error = try_inventory(limits, &[(OCI_GZIP, layer.clone())]).unwrap_err();
    assert!(matches!(error, LayerError::TooManyPackages { limit: 3 }), "{error}");
    // The limit is on the image: two layers of 5 packages each in different files pass 6.
    let other = Layer::new().file("var/lib/dpkg/status.d/x", fixture("dpkg-status")).gzip();
    let limits = Limits { max_packages: 6, ..Limits::default() };
    assert!(try_inventory(limits, &[(OCI_GZIP, layer), (OCI_GZIP, other)]).is_err());
}

#[test]
fn a_file_over_the_size_limit_is_skipped_not_an_error() {
    let status = fixture("dpkg-status");
    let layer = Layer::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE)
        .file("var/lib/dpkg/status", &status)
        .file("app/app.jar", vec![b'x'; 10_000])
        .gzip();
    let limits = Limits { max_file_bytes: 1024, ..Limits::default() };
    let inventory = try_inventory(limits, &[(OCI_GZIP, layer)]).unwrap();
    assert!(inventory.packages.is_empty());
    assert!(inventory.os.is_some());
    assert_eq!(
        inventory.skipped,
        [
            Skipped { path: "app/app.jar".into(), reason: SkipReason::TooLarge { size: 10_000 } },
            Skipped { path: "var/lib/dpkg/status".into(), reason: SkipReason::TooLarge { size: status.len() as u64 } },
        ]
    );
    let json = serde_json::to_value(&inventory.skipped[0]).unwrap();
    assert_eq!(json, serde_json::json!({"path": "app/app.jar", "reason": "too_large", "size": 10_000}));
    assert_eq!(serde_json::from_value::<Skipped>(json).unwrap(), inventory.skipped[0]);
}

/// A small deterministic generator, so that a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_layers_never_panic() {
    let layer = Layer::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE)
        .file("var/lib/dpkg/status", fixture("dpkg-status"))
        .file("lib/apk/db/installed", "P:musl\nV:1.2.5-r0\no:musl\n")
        .file("var/lib/rpm/rpmdb.sqlite", fixture("rpmdb.sqlite"))
        .file("var/lib/rpm/Packages", fixture("rpmdb-bdb-Packages"))
        .pax_file("usr/lib/python3/site-packages/x-1.dist-info/METADATA", b"Name: x\nVersion: 1\n")
        .file("app/package-lock.json", r#"{"packages":{"node_modules/a":{"version":"1"}}}"#)
        .file(
            "app/Cargo.lock",
            "[[package]]\nname = \"a\"\nversion = \"1\"\nsource = \"sparse+https://index.crates.io/\"\n",
        )
        .executable("bin/hello-go", &fixture("hello-go")[..300_000])
        .whiteout("opt/gone")
        .tar();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let limits = Limits { max_layer_bytes: 8 << 20, ..Limits::default() };
    for round in 0..300 {
        let mut blob = layer.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(blob.len());
            blob[at] = rng.next() as u8;
        }
        if round % 3 == 0 {
            blob.truncate(rng.below(blob.len()));
        }
        let (media_type, blob) = match round % 3 {
            0 => (OCI_TAR, blob),
            1 => (OCI_GZIP, gzip(&blob)),
            _ => (OCI_ZSTD, zstd(&blob)),
        };
        let _ = add(limits, media_type, blob.as_slice());
    }
    // Mutating the compressed bytes exercises the decoders instead.
    let compressed = [(OCI_GZIP, gzip(&layer)), (OCI_ZSTD, zstd(&layer))];
    for round in 0..200 {
        let (media_type, mut blob) = compressed[round % 2].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(blob.len());
            blob[at] = rng.next() as u8;
        }
        let _ = add(limits, media_type, blob.as_slice());
    }
}
