//! Pure OCI vocabulary: digests, names, tags, media types, manifest parsing and the
//! distribution-spec error codes. No I/O lives here, so everything is table-tested.

pub mod digest;
pub mod error;
pub mod manifest;
pub mod media_type;
pub mod name;

pub use digest::{Algorithm, Digest, DigestError, Hasher};
pub use error::ErrorCode;
pub use manifest::{Descriptor, ManifestError, ParsedManifest};
pub use name::{NameError, Reference, validate_repository_name, validate_tag};
