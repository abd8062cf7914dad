//! Lifecycle execution: applies a repository's policy, in the background on an interval
//! (any node; each run is claimed in the metadata store so only one node does it) or on
//! demand (`wharf lifecycle run`).
//!
//! An expired image loses its tags and manifest; its referrers (signatures, SBOMs) go with
//! it, and so do the children of an expired index that are untagged and listed by no other
//! index. A transition archives the image the same way, with its referrers and such
//! children. Every action is recorded as an event. The blobs that expired images leave
//! unreferenced are garbage collection's business.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use wharf_lifecycle::ActionType;
use wharf_meta::{DeleteOutcome, ImageRecord, ImageStatus, RepositoryKey};
use wharf_oci::{Digest, Reference};

use crate::{Registry, RegistryError, Result, now_ms};

/// The event type lifecycle actions are recorded under.
pub const LIFECYCLE_EVENT: &str = "ECR Lifecycle Action";

/// Why an image was acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleCause {
    /// A rule selected it.
    Rule,
    /// It refers to (`subject`) an image acted on.
    Subject,
    /// An index acted on lists it, and nothing else keeps it.
    Index,
}

/// One image acted on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleAction {
    pub repository_name: String,
    pub image_digest: String,
    pub image_tags: Vec<String>,
    /// `EXPIRE` or `TRANSITION`.
    pub action_type: &'static str,
    pub rule_priority: u32,
    pub cause: LifecycleCause,
    /// Epoch milliseconds.
    pub at: i64,
}

/// Repositories looked at per metadata round trip.
const PAGE: i64 = 100;

impl Registry {
    /// Applies the policy of every repository whose policy was last evaluated at least
    /// `interval` ago; the actions taken.
    pub async fn run_due_lifecycle_policies(&self, interval: Duration) -> Result<Vec<LifecycleAction>> {
        let now = now_ms();
        let due_before = now - interval.as_millis() as i64;
        let mut actions = Vec::new();
        let mut after = 0;
        loop {
            let page = self.meta.lifecycle_due(due_before, after, PAGE).await?;
            for (id, key) in &page {
                if !self.meta.claim_lifecycle_run(*id, due_before, now).await? {
                    continue; // another node took it
                }
                match self.apply_lifecycle_policy(*id, key).await {
                    Ok(done) => actions.extend(done),
                    Err(e) => tracing::warn!(repository = %key.name, error = %e, "lifecycle run failed"),
                }
            }
            match page.last() {
                Some((id, _)) if page.len() as i64 == PAGE => after = *id,
                _ => return Ok(actions),
            }
        }
    }

    /// Applies a repository's policy now, due or not; the actions taken.
    pub async fn run_lifecycle_policy(&self, key: &RepositoryKey) -> Result<Vec<LifecycleAction>> {
        let repo = self.repository(key).await?;
        if !self.meta.claim_lifecycle_run(repo.id, i64::MAX, now_ms()).await? {
            return Err(RegistryError::LifecyclePolicyNotFound {
                name: key.name.clone(),
                registry: key.account.clone(),
            });
        }
        self.apply_lifecycle_policy(repo.id, key).await
    }

    async fn apply_lifecycle_policy(&self, repository_id: i64, key: &RepositoryKey) -> Result<Vec<LifecycleAction>> {
        let Some(policy) = self.meta.lifecycle_policy(repository_id).await? else {
            return Ok(Vec::new()); // deleted since it was found due
        };
        let (images, decisions) = self.decide(repository_id, &policy.text).await?;
        let mut run = Run {
            registry: self,
            repository_id,
            key,
            images: images.into_iter().map(|i| (i.digest.clone(), i)).collect(),
            done: HashSet::new(),
            actions: Vec::new(),
        };
        for decision in decisions {
            run.act(&decision.digest, decision.action, decision.rule_priority).await?;
        }
        let events: Vec<_> = run
            .actions
            .iter()
            .map(|a| (a.at, key, LIFECYCLE_EVENT, serde_json::to_string(a).expect("action serialises")))
            .collect();
        self.meta.record_events(&events).await?;
        Ok(run.actions)
    }
}

/// One repository's run.
struct Run<'a> {
    registry: &'a Registry,
    repository_id: i64,
    key: &'a RepositoryKey,
    /// The repository's images when the run began, by digest.
    images: HashMap<String, ImageRecord>,
    /// Images acted on (or found gone) in this run.
    done: HashSet<String>,
    actions: Vec<LifecycleAction>,
}

impl Run<'_> {
    /// Acts on an image a rule selected, then on its referrers and the children only it kept.
    async fn act(&mut self, digest: &str, action: ActionType, rule_priority: u32) -> Result<()> {
        let mut queue = VecDeque::from([(digest.to_owned(), LifecycleCause::Rule)]);
        while let Some((digest, cause)) = queue.pop_front() {
            if !self.done.insert(digest.clone()) {
                continue;
            }
            for referrer in self.referrers(&digest).await? {
                queue.push_back((referrer, LifecycleCause::Subject));
            }
            let children = self.registry.meta.children(self.repository_id, &digest).await?;
            let Some(tags) = self.apply(&digest, action).await? else {
                continue; // gone meanwhile, or an index still lists it: leave it and its children
            };
            let at = now_ms();
            self.actions.push(LifecycleAction {
                repository_name: self.key.name.clone(),
                image_digest: digest.clone(),
                image_tags: tags,
                action_type: match action {
                    ActionType::Expire => "EXPIRE",
                    ActionType::Transition => "TRANSITION",
                },
                rule_priority,
                cause,
                at,
            });
            for child in children {
                let untagged = self.images.get(&child).is_some_and(|c| c.tags.is_empty());
                if untagged && !self.listed_elsewhere(&child, action).await? {
                    queue.push_back((child, LifecycleCause::Index));
                }
            }
        }
        Ok(())
    }

    /// Expires or archives one image; its tags, or `None` if it was left alone.
    async fn apply(&self, digest: &str, action: ActionType) -> Result<Option<Vec<String>>> {
        let meta = &self.registry.meta;
        let tags = match action {
            ActionType::Expire => match meta.delete_manifest(self.repository_id, digest).await? {
                (DeleteOutcome::Deleted, tags) => tags,
                (DeleteOutcome::NotFound | DeleteOutcome::Referenced, _) => return Ok(None),
            },
            ActionType::Transition => match meta.archive_image(self.repository_id, digest, now_ms()).await? {
                Some(ImageStatus::Archived) => self.images.get(digest).map(|i| i.tags.clone()).unwrap_or_default(),
                _ => return Ok(None),
            },
        };
        self.forget_cached(digest, &tags);
        Ok(Some(tags))
    }

    /// Whether an index other than the ones this run acts on still lists `child`. An expired
    /// index no longer lists anything, so for expiry the delete itself is the check.
    async fn listed_elsewhere(&self, child: &str, action: ActionType) -> Result<bool> {
        if action == ActionType::Expire {
            return Ok(false);
        }
        let parents = self.registry.meta.parents(self.repository_id, child).await?;
        Ok(parents.iter().any(|p| !self.done.contains(p)))
    }

    async fn referrers(&self, digest: &str) -> Result<Vec<String>> {
        const REFERRERS_PAGE: i64 = 500;
        let mut all: Vec<String> = Vec::new();
        loop {
            let after = all.last().cloned();
            let page =
                self.registry.meta.referrers(self.repository_id, digest, &[], after.as_deref(), REFERRERS_PAGE).await?;
            let full = page.len() as i64 == REFERRERS_PAGE;
            all.extend(page.into_iter().map(|m| m.digest));
            if !full {
                return Ok(all);
            }
        }
    }

    fn forget_cached(&self, digest: &str, tags: &[String]) {
        if let Ok(d) = digest.parse::<Digest>() {
            self.registry.manifests.invalidate(&(self.repository_id, Reference::Digest(d)));
        }
        for tag in tags {
            self.registry.manifests.invalidate(&(self.repository_id, Reference::Tag(tag.clone())));
        }
    }
}
