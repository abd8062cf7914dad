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
}

/// A manifest to store and what it references.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    pub record: &'a ManifestRecord,
    pub blobs: &'a [String],
    pub children: &'a [String],
    pub tag: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutManifestOutcome {
    Stored,
    /// Referenced blobs that are not readable in the repository.
    MissingBlobs(Vec<String>),
    /// Index children that are not in the repository.
    MissingChildren(Vec<String>),
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
