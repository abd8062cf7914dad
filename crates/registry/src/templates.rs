//! Repository creation templates: the settings ECR gives a repository it creates on the
//! user's behalf. With `CREATE_ON_PUSH`, a push that names a repository that does not
//! exist creates it from the template with the most specific matching prefix (`ROOT`, the
//! fallback, matches any name).

use serde::{Deserialize, Serialize};
use wharf_meta::{RepositoryKey, RepositorySettings, TagMutability};

use crate::repositories::{validate_mutability, validate_tags};
use crate::{Registry, RegistryError, Result, now_ms};

/// The prefix that matches every repository.
pub const ROOT: &str = "ROOT";
pub const CREATE_ON_PUSH: &str = "CREATE_ON_PUSH";
const APPLIED_FOR: [&str; 3] = ["REPLICATION", "PULL_THROUGH_CACHE", CREATE_ON_PUSH];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreationTemplate {
    pub prefix: String,
    pub description: Option<String>,
    pub applied_for: Vec<String>,
    pub tag_mutability: String,
    pub mutability_exclusions: Vec<String>,
    pub resource_tags: Vec<(String, String)>,
    pub repository_policy: Option<String>,
    #[serde(default)]
    pub lifecycle_policy: Option<String>,
    pub custom_role_arn: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CreationTemplate {
    /// Whether the template applies to a repository named `name`: `ROOT`, or the prefix as
    /// a namespace (`team` covers `team/app`).
    fn covers(&self, name: &str) -> bool {
        self.prefix == ROOT
            || name.strip_prefix(self.prefix.trim_end_matches('/')).is_some_and(|rest| rest.starts_with('/'))
    }

    /// How specific the prefix is; `ROOT` least of all.
    fn specificity(&self) -> usize {
        if self.prefix == ROOT { 0 } else { self.prefix.len() }
    }

    pub fn settings(&self) -> RepositorySettings {
        RepositorySettings {
            tag_mutability: TagMutability::parse(&self.tag_mutability).unwrap_or(TagMutability::Mutable),
            mutability_exclusions: self.mutability_exclusions.clone(),
            ..RepositorySettings::default()
        }
    }

    /// ECR's constraints on what a template holds.
    fn validate(&self) -> Result<()> {
        let invalid = |m: String| Err(RegistryError::Validation(m));
        if self.prefix != ROOT {
            let namespace = self.prefix.strip_suffix('/').unwrap_or(&self.prefix);
            // A one-character namespace is a valid prefix, though too short for a name.
            let short = namespace.len() == 1 && namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if self.prefix.len() > 256 || !(short || wharf_oci::validate_repository_name(namespace).is_ok()) {
                return invalid(format!("prefix '{}' must be ROOT or a repository namespace", self.prefix));
            }
        }
        if self.applied_for.is_empty() || self.applied_for.iter().any(|a| !APPLIED_FOR.contains(&a.as_str())) {
            return invalid(format!("appliedFor must list some of {}", APPLIED_FOR.join(", ")));
        }
        if self.description.as_ref().is_some_and(|d| d.chars().count() > 256) {
            return invalid("description must have at most 256 characters".into());
        }
        let mode = TagMutability::parse(&self.tag_mutability)
            .ok_or_else(|| RegistryError::Validation(format!("unknown imageTagMutability {}", self.tag_mutability)))?;
        validate_mutability(mode, &self.mutability_exclusions)?;
        if let Some(text) = &self.lifecycle_policy {
            crate::lifecycle::validate_lifecycle_policy(text)
                .map_err(|e| RegistryError::Validation(format!("Invalid lifecycle policy: {e}")))?;
        }
        validate_tags(&self.resource_tags)
    }
}

impl Registry {
    pub async fn create_template(
        &self,
        account: &str,
        region: &str,
        mut template: CreationTemplate,
    ) -> Result<CreationTemplate> {
        template.validate()?;
        let now = now_ms();
        (template.created_at, template.updated_at) = (now, now);
        self.meta.ensure_account(account, now).await?;
        if !self.meta.create_template(account, region, &template.prefix, &document(&template)).await? {
            return Err(RegistryError::TemplateExists(template.prefix));
        }
        Ok(template)
    }

    pub async fn update_template(
        &self,
        account: &str,
        region: &str,
        mut template: CreationTemplate,
    ) -> Result<CreationTemplate> {
        template.validate()?;
        let old = self.template(account, region, &template.prefix).await?;
        template.created_at = old.created_at;
        template.updated_at = now_ms();
        if !self.meta.update_template(account, region, &template.prefix, &document(&template)).await? {
            return Err(RegistryError::TemplateNotFound(template.prefix));
        }
        Ok(template)
    }

    pub async fn delete_template(&self, account: &str, region: &str, prefix: &str) -> Result<CreationTemplate> {
        let deleted = self.meta.delete_template(account, region, prefix).await?;
        deleted.as_deref().map(parse).transpose()?.ok_or_else(|| RegistryError::TemplateNotFound(prefix.to_owned()))
    }

    pub async fn template(&self, account: &str, region: &str, prefix: &str) -> Result<CreationTemplate> {
        // Templates are few: a registry has at most a few dozen.
        let all = self.templates(account, region, None, i64::MAX).await?;
        all.into_iter().find(|t| t.prefix == prefix).ok_or_else(|| RegistryError::TemplateNotFound(prefix.to_owned()))
    }

    /// Templates in prefix order after `after`, at most `limit`.
    pub async fn templates(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CreationTemplate>> {
        let found = self.meta.templates(account, region, after, limit).await?;
        found.iter().map(|(_, document)| parse(document)).collect()
    }

    /// Whether a push to the missing repository `key` would create it.
    pub async fn creates_on_push(&self, key: &RepositoryKey) -> Result<bool> {
        Ok(self.push_template(key).await?.is_some())
    }

    /// The `CREATE_ON_PUSH` template that decides how a pushed-to repository is created.
    pub(crate) async fn push_template(&self, key: &RepositoryKey) -> Result<Option<CreationTemplate>> {
        let all = self.templates(&key.account, &key.region, None, i64::MAX).await?;
        Ok(all
            .into_iter()
            .filter(|t| t.applied_for.iter().any(|a| a == CREATE_ON_PUSH) && t.covers(&key.name))
            .max_by_key(CreationTemplate::specificity))
    }
}

fn document(template: &CreationTemplate) -> String {
    serde_json::to_string(template).expect("a template serialises")
}

fn parse(document: &str) -> Result<CreationTemplate> {
    serde_json::from_str(document)
        .map_err(|e| RegistryError::Meta(wharf_meta::MetaError::Corrupt(format!("creation template: {e}"))))
}
