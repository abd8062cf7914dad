//! The records the store hands out. Times are epoch milliseconds.

use bytes::Bytes;

/// (account, region, name): what identifies a repository, as in ECR.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepositoryKey {
    pub account: String,
    pub region: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub id: i64,
    pub key: RepositoryKey,
    pub created_at: i64,
    pub settings: RepositorySettings,
}

/// What ECR lets a user choose for a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySettings {
    pub tag_mutability: TagMutability,
    /// Wildcard filters of the `*_WITH_EXCLUSION` modes: tags they match take the
    /// opposite mutability.
    pub mutability_exclusions: Vec<String>,
    pub scan_on_push: bool,
    /// `AES256`, `KMS` or `KMS_DSSE`.
    pub encryption_type: String,
    pub kms_key: Option<String>,
}

impl Default for RepositorySettings {
    fn default() -> Self {
        RepositorySettings {
            tag_mutability: TagMutability::Mutable,
            mutability_exclusions: Vec::new(),
            scan_on_push: false,
            encryption_type: "AES256".into(),
            kms_key: None,
        }
    }
}

/// ECR's `ImageTagMutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMutability {
    Mutable,
    Immutable,
    /// Immutable, except tags an exclusion filter matches.
    ImmutableWithExclusion,
    /// Mutable, except tags an exclusion filter matches.
    MutableWithExclusion,
}

impl TagMutability {
    pub const ALL: [TagMutability; 4] = [
        TagMutability::Mutable,
        TagMutability::Immutable,
        TagMutability::ImmutableWithExclusion,
        TagMutability::MutableWithExclusion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
            TagMutability::ImmutableWithExclusion => "IMMUTABLE_WITH_EXCLUSION",
            TagMutability::MutableWithExclusion => "MUTABLE_WITH_EXCLUSION",
        }
    }

    pub fn parse(text: &str) -> Option<TagMutability> {
        TagMutability::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Whether the mode takes exclusion filters.
    pub fn has_exclusions(self) -> bool {
        matches!(self, TagMutability::ImmutableWithExclusion | TagMutability::MutableWithExclusion)
    }
}

/// A stored manifest. `content` is the exact bytes pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRecord {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: i64,
    pub subject_digest: Option<String>,
    pub config_digest: Option<String>,
    pub content: Bytes,
    pub pushed_at: i64,
    /// Only `Active` images can be pulled.
    pub status: ImageStatus,
}

/// ECR's `imageStatus`: an image in the standard storage class is `Active`; an archived one
/// is `Archived`, and `Activating` while a restore is under way. Only active images can be
/// pulled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageStatus {
    Active,
    Archived,
    Activating,
}

impl ImageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Active => "ACTIVE",
            ImageStatus::Archived => "ARCHIVED",
            ImageStatus::Activating => "ACTIVATING",
        }
    }

    pub fn parse(text: &str) -> Option<ImageStatus> {
        [ImageStatus::Active, ImageStatus::Archived, ImageStatus::Activating].into_iter().find(|s| s.as_str() == text)
    }
}

/// Which images a listing returns: by whether they are tagged, and by status (`None`:
/// any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageFilter {
    pub tags: TagStatus,
    pub status: Option<ImageStatus>,
}

impl ImageFilter {
    pub const ALL: ImageFilter = ImageFilter { tags: TagStatus::Any, status: None };
}

/// A manifest to store and what it references.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    pub record: &'a ManifestRecord,
    pub blobs: &'a [String],
    pub children: &'a [String],
    pub tag: Option<&'a str>,
    /// The tag may not move once it exists (not even to the same manifest, as in ECR).
    pub tag_immutable: bool,
    /// The layers' total size; for an index the store takes its largest child's instead.
    pub layers_size: i64,
}

/// What ECR's `DescribeImages` reports of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub image_size: i64,
    pub pushed_at: i64,
    pub last_pulled_at: Option<i64>,
    pub subject_digest: Option<String>,
    /// In name order.
    pub tags: Vec<String>,
    pub status: ImageStatus,
    pub last_archived_at: Option<i64>,
    pub last_activated_at: Option<i64>,
}

/// ECR's `tagStatus` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutManifestOutcome {
    Stored,
    /// Referenced blobs that are not readable in the repository.
    MissingBlobs(Vec<String>),
    /// Index children that are not in the repository.
    MissingChildren(Vec<String>),
    /// The tag exists and is immutable; nothing was stored.
    TagImmutable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
    /// Still referenced (a blob by a manifest, a manifest by an index).
    Referenced,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteRepositoryOutcome {
    Deleted,
    NotFound,
    NotEmpty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub repository_id: i64,
    pub created_at: i64,
}
