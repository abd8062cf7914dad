//! Manifests: push (validate, check references, store byte for byte), pull, delete,
//! tags and referrers.

use std::sync::Arc;

use bytes::Bytes;
use wharf_meta::{DeleteOutcome, ImageStatus, ManifestRecord, NewManifest, PutManifestOutcome, RepositoryKey};
use wharf_oci::{Algorithm, Digest, Reference, manifest, media_type};

use crate::repositories::tag_is_immutable;
use crate::{Registry, RegistryError, Result, now_ms};

/// The outcome of a manifest push.
#[derive(Debug, Clone)]
pub struct PushedManifest {
    pub digest: Digest,
    /// The manifest's `subject`, answered to the client as `OCI-Subject`.
    pub subject: Option<Digest>,
}

/// A page of a manifest's referrers.
pub struct Referrers {
    /// OCI descriptors: media type, digest, size, artifact type, annotations.
    pub descriptors: Vec<serde_json::Value>,
    /// Set when more referrers follow: the digest the next page starts after.
    pub next_after: Option<String>,
}

impl Registry {
    /// A manifest by tag or digest, for `HEAD`. `accept` lists the media types the client
    /// takes (empty: any).
    pub async fn stat_manifest(
        &self,
        key: &RepositoryKey,
        reference: &Reference,
        accept: &[&str],
    ) -> Result<Arc<ManifestRecord>> {
        Ok(self.find_manifest(key, reference, accept).await?.1)
    }

    /// A manifest by tag or digest whatever its storage class: for managing images (ECR's
    /// describe, delete), where an archived image still exists.
    pub async fn lookup_manifest(&self, key: &RepositoryKey, reference: &Reference) -> Result<Arc<ManifestRecord>> {
        self.cached_manifest(key, reference).await?.1.ok_or(RegistryError::ManifestNotFound)
    }

    /// A manifest by tag or digest, for a download: the pull is recorded for
    /// `lastRecordedPullTime`.
    pub async fn pull_manifest(
        &self,
        key: &RepositoryKey,
        reference: &Reference,
        accept: &[&str],
    ) -> Result<Arc<ManifestRecord>> {
        let (repository_id, manifest) = self.find_manifest(key, reference, accept).await?;
        self.pulls.record(repository_id, &manifest.digest, now_ms());
        Ok(manifest)
    }

    /// A pullable manifest (active, of an accepted media type) and its repository's id.
    async fn find_manifest(
        &self,
        key: &RepositoryKey,
        reference: &Reference,
        accept: &[&str],
    ) -> Result<(i64, Arc<ManifestRecord>)> {
        let (repository_id, found) = self.cached_manifest(key, reference).await?;
        // An archived image cannot be pulled until it is restored (ECR answers 404).
        let manifest = found.filter(|m| m.status == ImageStatus::Active).ok_or(RegistryError::ManifestNotFound)?;
        if !accepts(accept, &manifest.media_type) {
            return Err(RegistryError::ManifestNotAcceptable(manifest.media_type.clone()));
        }
        Ok((repository_id, manifest))
    }

    async fn cached_manifest(
        &self,
        key: &RepositoryKey,
        reference: &Reference,
    ) -> Result<(i64, Option<Arc<ManifestRecord>>)> {
        let repo = self.repository(key).await?;
        let cache_key = (repo.id, reference.clone());
        let found = self
            .manifests
            .get_or_load(&cache_key, async {
                let record = match reference {
                    Reference::Tag(tag) => self.meta.manifest_by_tag(repo.id, tag).await?,
                    Reference::Digest(d) => self.meta.manifest_by_digest(repo.id, d.as_str()).await?,
                };
                Ok::<_, RegistryError>(record.map(Arc::new))
            })
            .await?;
        Ok((repo.id, found))
    }

    /// Stores a manifest pushed to `reference` with `content_type`.
    pub async fn put_manifest(
        &self,
        key: &RepositoryKey,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<PushedManifest> {
        if body.len() > self.config.max_manifest_bytes {
            return Err(RegistryError::TooLarge(format!(
                "manifest is {} bytes; the limit is {}",
                body.len(),
                self.config.max_manifest_bytes
            )));
        }
        let algorithm = match reference {
            Reference::Digest(d) => d.algorithm(),
            Reference::Tag(_) => Algorithm::Sha256,
        };
        let digest = Digest::of(algorithm, &body);
        if let Reference::Digest(claimed) = reference
            && *claimed != digest
        {
            return Err(RegistryError::InvalidDigest(format!("manifest digest is {digest}, not {claimed}")));
        }
        let repo = self.repository_for_push(key).await?;
        let parsed = manifest::parse(&body, content_type).map_err(RegistryError::ManifestInvalid)?;
        let record = ManifestRecord {
            digest: digest.to_string(),
            media_type: parsed.media_type,
            artifact_type: parsed.artifact_type,
            size: body.len() as i64,
            subject_digest: parsed.subject.as_ref().map(|s| s.digest.to_string()),
            config_digest: parsed.config.as_ref().map(|c| c.digest.to_string()),
            content: body,
            pushed_at: now_ms(),
            status: ImageStatus::Active,
        };
        let blobs = unique_digests(&parsed.blobs);
        let children = unique_digests(&parsed.children);
        let tag = match reference {
            Reference::Tag(t) => Some(t.as_str()),
            Reference::Digest(_) => None,
        };
        let tag_immutable = tag.is_some_and(|t| tag_is_immutable(&repo.settings, t));
        // `blobs` lists the config and then the layers (a layer may be the config blob).
        let config_size = parsed.config.as_ref().map_or(0, |c| c.size);
        let layers_size = parsed.blobs.iter().map(|b| b.size).sum::<i64>() - config_size;
        let new = NewManifest { record: &record, blobs: &blobs, children: &children, tag, tag_immutable, layers_size };
        let outcome = self.meta.put_manifest(repo.id, &new).await.map_err(|e| self.write_failed(key, e))?;
        match outcome {
            PutManifestOutcome::Stored => {}
            PutManifestOutcome::MissingBlobs(d) => return Err(RegistryError::ManifestBlobUnknown(d.join(", "))),
            PutManifestOutcome::MissingChildren(d) => return Err(RegistryError::ManifestChildUnknown(d.join(", "))),
            PutManifestOutcome::TagImmutable => {
                let tag = tag.unwrap_or_default().to_owned();
                return Err(RegistryError::TagImmutable { tag, name: key.name.clone() });
            }
        }
        self.manifests.invalidate(&(repo.id, reference.clone()));
        self.queue_scan_on_push(&repo, &digest).await;
        Ok(PushedManifest { digest, subject: parsed.subject.map(|s| s.digest) })
    }

    /// Deletes a manifest by digest (with its tags), or only a tag.
    pub async fn delete_manifest(&self, key: &RepositoryKey, reference: &Reference) -> Result<()> {
        let repo = self.repository(key).await?;
        let found = match reference {
            Reference::Tag(tag) => self.meta.delete_tag(repo.id, tag).await?,
            Reference::Digest(digest) => match self.meta.delete_manifest(repo.id, digest.as_str()).await? {
                (DeleteOutcome::Deleted, tags) => {
                    for tag in tags {
                        self.manifests.invalidate(&(repo.id, Reference::Tag(tag)));
                    }
                    true
                }
                (DeleteOutcome::NotFound, _) => false,
                (DeleteOutcome::Referenced, _) => {
                    return Err(RegistryError::InUse(format!(
                        "manifest {digest} is referenced by an image index in this repository; delete the index first"
                    )));
                }
            },
        };
        self.manifests.invalidate(&(repo.id, reference.clone()));
        if found { Ok(()) } else { Err(RegistryError::ManifestNotFound) }
    }

    /// Tags in byte order after `last`; the page and whether more follow.
    pub async fn list_tags(&self, key: &RepositoryKey, last: Option<&str>, limit: i64) -> Result<(Vec<String>, bool)> {
        let repo = self.repository(key).await?;
        let mut tags = self.meta.list_tags(repo.id, last, limit + 1).await?;
        let more = tags.len() as i64 > limit;
        tags.truncate(limit as usize);
        Ok((tags, more))
    }

    /// The referrers of `digest` (their descriptors), optionally only of some artifact
    /// types, a page of at most `limit` after `after` (a referrer's digest).
    pub async fn referrers(
        &self,
        key: &RepositoryKey,
        digest: &Digest,
        artifact_types: &[&str],
        after: Option<&str>,
        limit: i64,
    ) -> Result<Referrers> {
        let repo = self.repository(key).await?;
        let mut found = self.meta.referrers(repo.id, digest.as_str(), artifact_types, after, limit + 1).await?;
        let more = found.len() as i64 > limit;
        found.truncate(limit as usize);
        Ok(Referrers {
            descriptors: found.iter().map(referrer_descriptor).collect(),
            next_after: if more { found.last().map(|m| m.digest.clone()) } else { None },
        })
    }
}

impl Referrers {
    /// The page as the OCI image index the referrers API answers with.
    pub fn index(&self) -> Vec<u8> {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_INDEX,
            "manifests": self.descriptors,
        });
        serde_json::to_vec(&index).expect("index serialises")
    }
}

/// A referrer's descriptor: the spec asks for its artifact type and annotations.
fn referrer_descriptor(m: &ManifestRecord) -> serde_json::Value {
    let mut d = serde_json::json!({ "mediaType": m.media_type, "digest": m.digest, "size": m.size });
    if let Some(t) = &m.artifact_type {
        d["artifactType"] = t.clone().into();
    }
    // Stored manifests were validated on push, so they parse; annotations are optional.
    if let Ok(parsed) = manifest::parse(&m.content, Some(&m.media_type))
        && let Some(a) = parsed.annotations
    {
        d["annotations"] = a.into();
    }
    d
}

fn unique_digests(descriptors: &[wharf_oci::Descriptor]) -> Vec<String> {
    let mut v: Vec<String> = descriptors.iter().map(|d| d.digest.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

/// Whether a client's Accept list admits `media_type`.
fn accepts(accept: &[&str], media_type: &str) -> bool {
    accept.is_empty() || accept.iter().any(|a| *a == media_type || *a == "*/*" || *a == "application/*")
}
