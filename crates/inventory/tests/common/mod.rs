//! Building real layers for the tests: tar archives written with the `tar` crate, compressed
//! with flate2 or ruzstd, exactly as an image builder would push them.

#![allow(dead_code)] // each test binary uses its own part of these helpers

use std::io::Write;

use wharf_inventory::{Inventory, InventoryBuilder, LayerError, Limits, Package, PackageKind};

pub const OCI_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

pub const DEBIAN_OS_RELEASE: &str = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"#;

pub struct Layer {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for Layer {
    fn default() -> Self {
        Self::new()
    }
}

impl Layer {
    pub fn new() -> Self {
        Layer { builder: tar::Builder::new(Vec::new()) }
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header
    }

    pub fn file(mut self, path: &str, data: impl AsRef<[u8]>) -> Self {
        let data = data.as_ref();
        let mut header = Self::header(tar::EntryType::Regular, data.len() as u64, 0o644);
        self.builder.append_data(&mut header, path, data).unwrap();
        self
    }

    pub fn executable(mut self, path: &str, data: &[u8]) -> Self {
        let mut header = Self::header(tar::EntryType::Regular, data.len() as u64, 0o755);
        self.builder.append_data(&mut header, path, data).unwrap();
        self
    }

    pub fn dir(mut self, path: &str) -> Self {
        let mut header = Self::header(tar::EntryType::Directory, 0, 0o755);
        self.builder.append_data(&mut header, path, std::io::empty()).unwrap();
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut header = Self::header(tar::EntryType::Symlink, 0, 0o777);
        self.builder.append_link(&mut header, path, target).unwrap();
        self
    }

    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut header = Self::header(tar::EntryType::Link, 0, 0o644);
        self.builder.append_link(&mut header, path, target).unwrap();
        self
    }

    /// `.wh.<name>`: deletes `path` from the layers below.
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let marker = if dir.is_empty() { format!(".wh.{name}") } else { format!("{dir}/.wh.{name}") };
        self.file(&marker, b"")
    }

    /// `.wh..wh..opq`: hides what the layers below have in `dir`.
    pub fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{dir}/.wh..wh..opq"), b"")
    }

    /// A file whose path comes from a PAX extended header, as Go's archive/tar (docker,
    /// buildkit) writes for long or non-ASCII names.
    pub fn pax_file(mut self, path: &str, data: &[u8]) -> Self {
        let record = format!(" path={path}\n");
        let mut len = record.len();
        while len != format!("{len}{record}").len() {
            len = format!("{len}{record}").len();
        }
        let pax = format!("{len}{record}");
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_path("PaxHeaders/x").unwrap();
        header.set_size(pax.len() as u64);
        header.set_cksum();
        self.builder.append(&header, pax.as_bytes()).unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_path("placeholder").unwrap();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        self.builder.append(&header, data).unwrap();
        self
    }

    pub fn tar(self) -> Vec<u8> {
        self.builder.into_inner().unwrap()
    }

    pub fn gzip(self) -> Vec<u8> {
        gzip(&self.tar())
    }

    pub fn zstd(self) -> Vec<u8> {
        zstd(&self.tar())
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// The inventory of an image made of `layers` (media type, blob), base first.
pub fn inventory(layers: &[(&str, Vec<u8>)]) -> Inventory {
    try_inventory(Limits::default(), layers).unwrap()
}

pub fn try_inventory(limits: Limits, layers: &[(&str, Vec<u8>)]) -> Result<Inventory, LayerError> {
    let mut builder = InventoryBuilder::new(limits);
    for (media_type, blob) in layers {
        builder.add_layer(media_type, blob.as_slice())?;
    }
    Ok(builder.finish())
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (name, version) of the packages of one kind, in inventory order.
pub fn of_kind(inventory: &Inventory, kind: PackageKind) -> Vec<(String, String)> {
    inventory.packages.iter().filter(|p| p.kind == kind).map(|p| (p.name.clone(), p.version.clone())).collect()
}

pub fn find<'a>(inventory: &'a Inventory, name: &str) -> &'a Package {
    inventory.packages.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no package {name} in {inventory:#?}"))
}

pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}
