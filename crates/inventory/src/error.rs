//! Why a layer could not be read. Each variant names the limit or the format rule that the
//! layer broke, so an operator can tell a hostile or broken image from a bug.

/// A layer that could not be inventoried. After an error the builder keeps the layers added
/// before; whether an inventory without this layer is worth keeping is the caller's call.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("unsupported layer media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("layer does not decompress: {0}")]
    Decompress(std::io::Error),
    #[error("layer stream could not be read: {0}")]
    Io(std::io::Error),
    #[error("layer is not a tar archive: {0}")]
    NotTar(&'static str),
    #[error("layer tar archive ends in the middle of an entry")]
    Truncated,
    #[error("layer inflates to more than {limit} bytes")]
    TooManyBytes { limit: u64 },
    #[error("layer has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("layer entry path is longer than {limit} bytes")]
    PathTooLong { limit: usize },
    #[error("image has more than {limit} packages")]
    TooManyPackages { limit: usize },
}
