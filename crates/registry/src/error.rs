//! What can go wrong in the domain, worded for the user. Each API maps these to its own
//! wire format (OCI error codes on /v2, exception names on the ECR API).

use wharf_blobs::BlobError;
use wharf_meta::MetaError;
use wharf_oci::{Digest, ManifestError, NameError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("The repository with name '{name}' does not exist in the registry with id '{registry}'")]
    RepositoryNotFound { name: String, registry: String },
    #[error("The repository with name '{name}' already exists in the registry with id '{registry}'")]
    RepositoryExists { name: String, registry: String },
    #[error(
        "The repository with name '{name}' in registry with id '{registry}' cannot be deleted because it still contains images"
    )]
    RepositoryNotEmpty { name: String, registry: String },
    #[error("invalid repository name: {0}")]
    InvalidName(NameError),
    #[error("invalid tag: {0}")]
    InvalidTag(NameError),
    #[error("invalid digest: {0}")]
    InvalidDigest(String),
    #[error("blob unknown to registry")]
    BlobNotFound,
    #[error("blob upload unknown to registry")]
    UploadNotFound,
    /// An upload chunk that does not continue the session where it ends.
    #[error("upload is at offset {current}; chunks must be sent in order")]
    UploadOutOfOrder { current: u64 },
    #[error("invalid upload: {0}")]
    UploadInvalid(String),
    /// Uploaded content that does not hash to the digest it was declared under.
    #[error("content digest is {actual}, not the declared {declared}")]
    DigestMismatch { declared: Digest, actual: Digest },
    /// An upload closed before any bytes were sent (refused by ECR's layer API only).
    #[error("the upload does not contain any layer parts")]
    EmptyUpload,
    /// A layer upload of content the repository already has (ECR's layer API only).
    #[error(
        "The layer with digest '{digest}' already exists in the repository with name '{name}' in the registry with id '{registry}'"
    )]
    BlobExists { digest: Digest, name: String, registry: String },
    #[error("{0}")]
    TooLarge(String),
    #[error("manifest unknown to registry")]
    ManifestNotFound,
    #[error("manifest has media type '{0}', which the request's Accept header does not allow")]
    ManifestNotAcceptable(String),
    #[error("manifest invalid: {0}")]
    ManifestInvalid(ManifestError),
    #[error("manifest references {0}, which is not in this repository")]
    ManifestBlobUnknown(String),
    /// An index lists manifests the repository does not hold.
    #[error("manifest list references {0}, which is not in this repository")]
    ManifestChildUnknown(String),
    /// Something still uses what the request wants to delete.
    #[error("{0}")]
    InUse(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error(
        "The image tag '{tag}' already exists in the '{name}' repository and cannot be overwritten because the tag is immutable."
    )]
    TagImmutable { tag: String, name: String },
    #[error("The repository cannot hold more than 50 tags")]
    TooManyTags,
    #[error("{0}")]
    InvalidTagParameter(String),
    /// A request member that breaks a constraint (ECR's `InvalidParameterException`).
    #[error("{0}")]
    InvalidParameter(String),
    #[error(
        "Repository policy does not exist for the repository with name '{name}' in the registry with id '{registry}'"
    )]
    RepositoryPolicyNotFound { name: String, registry: String },
    #[error(
        "Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{registry}'"
    )]
    LifecyclePolicyNotFound { name: String, registry: String },
    #[error(
        "Previewing lifecycle policy is already in progress for the repository with name '{name}' in the registry with id '{registry}'"
    )]
    PreviewInProgress { name: String, registry: String },
    #[error("There is no dry run for the repository with name '{name}' in the registry with id '{registry}'")]
    PreviewNotFound { name: String, registry: String },
    #[error("Registry policy does not exist in the registry with id '{registry}'")]
    RegistryPolicyNotFound { registry: String },
    /// Input that breaks a constraint of the newer operations (ECR's `ValidationException`).
    #[error("{0}")]
    Validation(String),
    #[error("A repository creation template with prefix '{0}' already exists")]
    TemplateExists(String),
    #[error("No repository creation template with prefix '{0}' exists")]
    TemplateNotFound(String),
    /// An IAM entity (user, role, access key, policy) that does not exist.
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityExists(String),
    /// ECR's `ImageStorageClassUpdateNotSupportedException`.
    #[error("{0}")]
    StorageClassUpdateNotSupported(String),
    #[error("Image scan does not exist for the image with '{digest}' in the repository with name '{name}'")]
    ScanNotFound { digest: String, name: String },
    /// ECR's one scan per image per 24 hours.
    #[error("The scan quota per image has been exceeded. Wait and try again.")]
    ScanLimitExceeded,
    /// An artifact that is not a container image, which cannot be scanned.
    #[error("{0}")]
    UnsupportedImageType(String),
    /// An archived image, which cannot be scanned.
    #[error("The image with digest '{0}' is archived and cannot be scanned")]
    ImageArchived(String),
    /// A vulnerability database import that could not be read.
    #[error("vulnerability database: {0}")]
    VulnDb(String),
    /// A background collection stalled past its lease and another took over.
    #[error("the garbage collection lease was lost to another collection")]
    GcLeaseLost,
    #[error("metadata store: {0}")]
    Meta(#[from] MetaError),
    #[error("blob store: {0}")]
    Storage(BlobError),
}

impl From<BlobError> for RegistryError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::UploadUnknown => RegistryError::UploadNotFound,
            BlobError::NotFound => RegistryError::BlobNotFound,
            BlobError::OffsetMismatch { current, .. } => RegistryError::UploadOutOfOrder { current },
            BlobError::DigestMismatch { declared, actual } => RegistryError::DigestMismatch { declared, actual },
            e @ (BlobError::LengthMismatch { .. } | BlobError::Body(_)) => RegistryError::UploadInvalid(e.to_string()),
            e @ BlobError::TooLarge { .. } => RegistryError::TooLarge(e.to_string()),
            e @ BlobError::Io(_) => RegistryError::Storage(e),
        }
    }
}
