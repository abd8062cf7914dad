//! The first pass: the policy's JSON schema. Reads the text into [`RawRule`]s, which keep what
//! the second pass needs to judge (which optional properties were given) before it builds rules.

use serde_json::Value;

use super::json;
use crate::{ActionType, Count, PolicyError, StorageClass, TagStatus};

/// A policy holds at most this many rules (ECR's quota).
const MAX_RULES: usize = 50;

const TAG_STATUSES: &[(&str, TagStatus)] =
    &[("tagged", TagStatus::Tagged), ("untagged", TagStatus::Untagged), ("any", TagStatus::Any)];
const STORAGE_CLASSES: &[(&str, StorageClass)] =
    &[("standard", StorageClass::Standard), ("archive", StorageClass::Archive)];
/// Pairs a count type with its `countNumber`.
type CountOf = fn(u32) -> Count;
const COUNT_TYPES: &[(&str, CountOf)] = &[
    ("imageCountMoreThan", Count::MoreThan),
    ("sinceImagePushed", Count::SincePushedDays),
    ("sinceImagePulled", Count::SincePulledDays),
    ("sinceImageTransitioned", Count::SinceTransitionedDays),
];
const COUNT_UNITS: &[(&str, ())] = &[("days", ())];
const ACTION_TYPES: &[(&str, ActionType)] = &[("expire", ActionType::Expire), ("transition", ActionType::Transition)];
const TARGET_STORAGE_CLASSES: &[(&str, ())] = &[("archive", ())];

pub(super) struct RawRule {
    pub(super) priority: u32,
    pub(super) description: Option<String>,
    pub(super) selection: RawSelection,
    pub(super) action: RawAction,
}

pub(super) struct RawSelection {
    pub(super) tag_status: TagStatus,
    pub(super) prefixes: Option<Vec<String>>,
    pub(super) patterns: Option<Vec<String>>,
    pub(super) storage_class: Option<StorageClass>,
    pub(super) count: Count,
    /// Whether `countUnit` was given; its one value, `days`, is what the age counts count.
    pub(super) count_unit: bool,
}

pub(super) struct RawAction {
    pub(super) kind: ActionType,
    /// Whether `targetStorageClass` was given; its one value is `archive`.
    pub(super) target: bool,
}

pub(super) fn read(text: &str) -> Result<Vec<RawRule>, PolicyError> {
    // Whatever isn't a JSON object can't be mapped onto a policy at all.
    let doc = match serde_json::from_str::<Value>(text) {
        Ok(doc @ Value::Object(_)) => doc,
        _ => return Err(PolicyError("Could not map policyString into LifecyclePolicy.".into())),
    };
    let rules = json::array(json::object(&doc, &["rules"], &[])?.required("rules"))?;
    // The quota is checked before the rules are read, so an oversized policy costs nothing.
    if rules.len() > MAX_RULES {
        return Err(PolicyError(format!(
            "A lifecycle policy can have at most {MAX_RULES} rules, this one has {}.",
            rules.len()
        )));
    }
    rules.iter().map(rule).collect()
}

fn rule(value: &Value) -> Result<RawRule, PolicyError> {
    let fields = json::object(value, &["rulePriority", "selection", "action"], &["description"])?;
    Ok(RawRule {
        priority: json::positive(fields.required("rulePriority"))?,
        description: fields.optional("description").map(json::string).transpose()?.map(str::to_owned),
        selection: selection(fields.required("selection"))?,
        action: action(fields.required("action"))?,
    })
}

fn selection(value: &Value) -> Result<RawSelection, PolicyError> {
    let fields = json::object(
        value,
        &["tagStatus", "countType", "countNumber"],
        &["tagPatternList", "tagPrefixList", "storageClass", "countUnit"],
    )?;
    let tag_status = json::one_of(fields.required("tagStatus"), TAG_STATUSES)?;
    let patterns = fields.optional("tagPatternList").map(json::strings).transpose()?;
    let prefixes = fields.optional("tagPrefixList").map(json::strings).transpose()?;
    let storage_class =
        fields.optional("storageClass").map(|class| json::one_of(class, STORAGE_CLASSES)).transpose()?;
    let count_of = json::one_of(fields.required("countType"), COUNT_TYPES)?;
    let count_unit = fields.optional("countUnit").map(|unit| json::one_of(unit, COUNT_UNITS)).transpose()?.is_some();
    let count = count_of(json::positive(fields.required("countNumber"))?);
    Ok(RawSelection { tag_status, prefixes, patterns, storage_class, count, count_unit })
}

fn action(value: &Value) -> Result<RawAction, PolicyError> {
    let fields = json::object(value, &["type"], &["targetStorageClass"])?;
    let kind = json::one_of(fields.required("type"), ACTION_TYPES)?;
    let target =
        fields.optional("targetStorageClass").map(|class| json::one_of(class, TARGET_STORAGE_CLASSES)).transpose()?;
    Ok(RawAction { kind, target: target.is_some() })
}
