//! Bounds on what one image may cost to inventory. Layers come from whoever pushed the image, so
//! every quantity a layer controls (how much it inflates to, how many entries it has, how long
//! its paths are, how big the files we read are, how many packages it claims) has a ceiling, and
//! crossing one is an error rather than a slow death of the process.

/// Limits for [`crate::InventoryBuilder`]. The defaults suit real images, including large ones
/// (CUDA and ML images have multi-gigabyte layers and node trees have hundreds of thousands of
/// files). Memory stays within a few times `max_file_bytes` (a jar and one jar inside it, an
/// rpm database and SQLite's copy of it) plus a zstd window of at most 128 MiB, however hostile
/// the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes of one layer's tar stream (decompression bombs). Default 16 GiB.
    pub max_layer_bytes: u64,
    /// Tar entries in one layer. Default 1,000,000.
    pub max_entries: u64,
    /// Bytes of one entry path (or link target). Default 4096, Linux's `PATH_MAX`.
    pub max_path_bytes: usize,
    /// Bytes of any one file read into memory (package databases, metadata files, jars, ELF
    /// binaries). A bigger file is skipped and listed in [`crate::Inventory::skipped`], not an
    /// error; a Go binary bigger than this is still scanned for its build info as it streams
    /// past. Default 64 MiB.
    pub max_file_bytes: u64,
    /// Packages in the whole inventory. Default 200,000.
    pub max_packages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 16 << 30,
            max_entries: 1_000_000,
            max_path_bytes: 4096,
            max_file_bytes: 64 << 20,
            max_packages: 200_000,
        }
    }
}
