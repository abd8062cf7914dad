//! Lifecycle policies of a repository: stored (`Put/Get/DeleteLifecyclePolicy`) and
//! previewed (`Start/GetLifecyclePolicyPreview`: what the policy would do now, without
//! doing it). The grammar and the evaluator live in `wharf_lifecycle`.

mod run;

use std::collections::HashMap;

use wharf_lifecycle::{ActionType, Decision, Image, LifecyclePolicy, StorageClass, evaluate};
use wharf_meta::{ImageRecord, ImageStatus, PreviewQuery, PreviewRow, RepositoryKey, StoredLifecyclePolicy};

pub use run::{LIFECYCLE_EVENT, LifecycleAction, LifecycleCause};

use crate::{Registry, RegistryError, Result};

/// ECR's bounds on the policy text.
const TEXT_LENGTH: std::ops::RangeInclusive<usize> = 100..=30720;

/// Checks a policy text as `PutLifecyclePolicy` does.
pub fn validate_lifecycle_policy(text: &str) -> Result<()> {
    if !TEXT_LENGTH.contains(&text.len()) {
        return Err(RegistryError::InvalidParameter(format!(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Member must have length \
             between {} and {}'",
            TEXT_LENGTH.start(),
            TEXT_LENGTH.end()
        )));
    }
    LifecyclePolicy::parse(text).map(|_| ()).map_err(|e| {
        RegistryError::InvalidParameter(format!(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation \
             failure: {e}'"
        ))
    })
}

impl Registry {
    pub async fn put_lifecycle_policy(&self, key: &RepositoryKey, text: &str) -> Result<()> {
        validate_lifecycle_policy(text)?;
        let repo = self.repository(key).await?;
        if !self.meta.set_lifecycle_policy(repo.id, text).await? {
            return Err(RegistryError::RepositoryNotFound { name: key.name.clone(), registry: key.account.clone() });
        }
        Ok(())
    }

    pub async fn lifecycle_policy(&self, key: &RepositoryKey) -> Result<StoredLifecyclePolicy> {
        let repo = self.repository(key).await?;
        self.meta.lifecycle_policy(repo.id).await?.ok_or_else(|| no_policy(key))
    }

    pub async fn delete_lifecycle_policy(&self, key: &RepositoryKey) -> Result<StoredLifecyclePolicy> {
        let repo = self.repository(key).await?;
        self.meta.delete_lifecycle_policy(repo.id).await?.ok_or_else(|| no_policy(key))
    }
}

fn no_policy(key: &RepositoryKey) -> RegistryError {
    RegistryError::LifecyclePolicyNotFound { name: key.name.clone(), registry: key.account.clone() }
}

/// A preview's status, as ECR names it.
pub const PREVIEW_IN_PROGRESS: &str = "IN_PROGRESS";
const PREVIEW_COMPLETE: &str = "COMPLETE";
const PREVIEW_FAILED: &str = "FAILED";

/// One image a previewed policy would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewResult {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at: i64,
    /// `true`: move to the archive storage class; `false`: expire.
    pub transition: bool,
    pub rule_priority: u32,
}

/// A repository's last preview; its results are read a page at a time.
#[derive(Debug, Clone)]
pub struct Preview {
    pub policy_text: String,
    pub status: String,
    pub expiring: u64,
    pub transitioning: u64,
}

impl Registry {
    /// Starts a preview of `text` (or of the repository's own policy) unless one is in
    /// progress; returns the repository id and the policy text for `run_lifecycle_preview`.
    pub async fn start_lifecycle_preview(&self, key: &RepositoryKey, text: Option<&str>) -> Result<(i64, String)> {
        let repo = self.repository(key).await?;
        let text = match text {
            Some(text) => {
                validate_lifecycle_policy(text)?;
                text.to_owned()
            }
            None => self.meta.lifecycle_policy(repo.id).await?.ok_or_else(|| no_policy(key))?.text,
        };
        if !self.meta.start_preview(repo.id, &text, crate::now_ms()).await? {
            return Err(RegistryError::PreviewInProgress { name: key.name.clone(), registry: key.account.clone() });
        }
        Ok((repo.id, text))
    }

    /// Evaluates a started preview and stores its results (run in the background).
    pub async fn run_lifecycle_preview(&self, repository_id: i64, text: &str) {
        let outcome = self.evaluate_preview(repository_id, text).await;
        let (status, results) = match outcome {
            Ok(results) => (PREVIEW_COMPLETE, results),
            Err(e) => {
                tracing::warn!(repository_id, error = %e, "lifecycle preview failed");
                (PREVIEW_FAILED, Vec::new())
            }
        };
        if let Err(e) = self.meta.finish_preview(repository_id, status, &results).await {
            tracing::error!(repository_id, error = %e, "storing a lifecycle preview failed");
        }
    }

    async fn evaluate_preview(&self, repository_id: i64, text: &str) -> Result<Vec<PreviewRow>> {
        let (images, decisions) = self.decide(repository_id, text).await?;
        let by_digest: HashMap<&str, &ImageRecord> = images.iter().map(|i| (i.digest.as_str(), i)).collect();
        Ok(decisions
            .into_iter()
            .filter_map(|d| {
                let image = by_digest.get(d.digest.as_str())?;
                Some(PreviewRow {
                    tags: serde_json::to_string(&image.tags).expect("tags serialise"),
                    tagged: !image.tags.is_empty(),
                    pushed_at: image.pushed_at,
                    transition: d.action == ActionType::Transition,
                    rule_priority: i64::from(d.rule_priority),
                    digest: d.digest,
                })
            })
            .collect())
    }

    /// What `text` decides for the repository's images now, with the images.
    async fn decide(&self, repository_id: i64, text: &str) -> Result<(Vec<ImageRecord>, Vec<Decision>)> {
        let policy = LifecyclePolicy::parse(text).map_err(|e| RegistryError::InvalidParameter(e.to_string()))?;
        let (images, children) = self.meta.lifecycle_images(repository_id).await?;
        let views: Vec<Image<'_>> = images
            .iter()
            .map(|i| Image {
                digest: &i.digest,
                tags: &i.tags,
                pushed_at: i.pushed_at,
                last_pulled_at: i.last_pulled_at,
                // Until a restore completes the image is still in the archive.
                storage_class: match i.status {
                    ImageStatus::Active => StorageClass::Standard,
                    ImageStatus::Archived | ImageStatus::Activating => StorageClass::Archive,
                },
                archived_at: i.last_archived_at,
                protected: children.contains(&i.digest),
            })
            .collect();
        let decisions = evaluate(&policy, &views, crate::now_ms());
        Ok((images, decisions))
    }

    pub async fn lifecycle_preview(&self, key: &RepositoryKey) -> Result<Preview> {
        let repo = self.repository(key).await?;
        let stored = self
            .meta
            .preview(repo.id)
            .await?
            .ok_or_else(|| RegistryError::PreviewNotFound { name: key.name.clone(), registry: key.account.clone() })?;
        Ok(Preview {
            policy_text: stored.policy_text,
            status: stored.status,
            expiring: stored.expiring as u64,
            transitioning: stored.transitioning as u64,
        })
    }

    /// A page of the last preview's results, in (rule priority, digest) order, each with its
    /// position (the next page starts after the last one's).
    pub async fn lifecycle_preview_results(
        &self,
        key: &RepositoryKey,
        query: PreviewQuery<'_>,
    ) -> Result<Vec<(i64, PreviewResult)>> {
        let repo = self.repository(key).await?;
        let corrupt = |e: serde_json::Error| {
            RegistryError::Meta(wharf_meta::MetaError::Corrupt(format!("lifecycle preview: {e}")))
        };
        self.meta
            .preview_results(repo.id, query)
            .await?
            .into_iter()
            .map(|(seq, row)| {
                Ok((
                    seq,
                    PreviewResult {
                        tags: serde_json::from_str(&row.tags).map_err(corrupt)?,
                        digest: row.digest,
                        pushed_at: row.pushed_at,
                        transition: row.transition,
                        rule_priority: u32::try_from(row.rule_priority).unwrap_or(u32::MAX),
                    },
                ))
            })
            .collect()
    }
}
