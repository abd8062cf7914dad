//! The second pass: what the schema can't say. First each rule on its own (which properties go
//! together), then the rules against each other (priorities, order, overlaps per storage class).

use std::collections::{BTreeSet, HashSet};

use super::schema::{RawAction, RawRule, RawSelection};
use crate::{
    Action, ActionType, Count, LifecyclePolicy, PolicyError, Rule, Selection, StorageClass, TagFilter, TagStatus,
};

/// A tag pattern may hold at most this many `*`.
const MAX_WILDCARDS: usize = 4;

pub(super) fn build(raw: Vec<RawRule>) -> Result<LifecyclePolicy, PolicyError> {
    let mut rules = raw.into_iter().map(rule).collect::<Result<Vec<_>, _>>()?;
    rules.sort_by_key(|rule| rule.priority);
    unique_priorities(&rules)?;
    any_last(&rules)?;
    one_untagged(&rules)?;
    unique_prefixes(&rules)?;
    Ok(LifecyclePolicy { rules })
}

fn rule(raw: RawRule) -> Result<Rule, PolicyError> {
    let RawSelection { tag_status, prefixes, patterns, storage_class, count, count_unit } = raw.selection;
    let tags = tag_filter(tag_status, prefixes, patterns)?;
    check_count_unit(count, count_unit)?;
    let storage_class = check_storage_class(count, storage_class)?;
    let action = action(raw.action, count)?;
    Ok(Rule {
        priority: raw.priority,
        description: raw.description,
        selection: Selection { tag_status, tags, storage_class, count },
        action,
    })
}

/// Tagged rules name their tags with exactly one list; the other statuses name none.
fn tag_filter(
    status: TagStatus,
    prefixes: Option<Vec<String>>,
    patterns: Option<Vec<String>>,
) -> Result<TagFilter, PolicyError> {
    match (status, prefixes, patterns) {
        (TagStatus::Tagged, Some(prefixes), None) => Ok(TagFilter::Prefixes(prefixes)),
        (TagStatus::Tagged, None, Some(patterns)) => check_wildcards(patterns).map(TagFilter::Patterns),
        (TagStatus::Tagged, _, _) => {
            fail("A rule with tagStatus tagged must have exactly one of tagPrefixList and tagPatternList.")
        }
        (_, None, None) => Ok(TagFilter::None),
        (TagStatus::Untagged, _, _) => {
            fail("A rule with tagStatus untagged must not have tagPrefixList or tagPatternList.")
        }
        (TagStatus::Any, _, _) => fail("A rule with tagStatus any must not have tagPrefixList or tagPatternList."),
    }
}

fn check_wildcards(patterns: Vec<String>) -> Result<Vec<String>, PolicyError> {
    match patterns.iter().find(|pattern| pattern.matches('*').count() > MAX_WILDCARDS) {
        Some(pattern) => fail(format!(
            "The tag pattern {pattern} has more than {MAX_WILDCARDS} wildcards (*); at most {MAX_WILDCARDS} are allowed."
        )),
        None => Ok(patterns),
    }
}

/// The age counts need their unit; a number of images has none.
fn check_count_unit(count: Count, given: bool) -> Result<(), PolicyError> {
    match (count, given) {
        (Count::MoreThan(_), true) => fail("countUnit is not allowed with countType imageCountMoreThan."),
        (Count::MoreThan(_), false) | (_, true) => Ok(()),
        (count, false) => fail(format!("countType {} requires countUnit days.", count_type(count))),
    }
}

/// `sinceImageTransitioned` is the one count for archived images, and it counts nothing else.
fn check_storage_class(count: Count, given: Option<StorageClass>) -> Result<StorageClass, PolicyError> {
    let needed = match count {
        Count::SinceTransitionedDays(_) => StorageClass::Archive,
        _ => StorageClass::Standard,
    };
    if given.unwrap_or(StorageClass::Standard) == needed {
        Ok(needed)
    } else {
        fail(format!("countType {} requires storageClass {}.", count_type(count), storage_class(needed)))
    }
}

/// A transition names its target, archive; archived images can only be expired; and images are
/// judged by pull age only to archive them (to delete them by pull age, archive then expire).
fn action(raw: RawAction, count: Count) -> Result<Action, PolicyError> {
    match (raw.kind, raw.target, count) {
        (ActionType::Transition, false, _) => fail("An action of type transition requires targetStorageClass archive."),
        (ActionType::Expire, true, _) => fail("targetStorageClass is only allowed with an action of type transition."),
        (ActionType::Transition, true, Count::SinceTransitionedDays(_)) => {
            fail("Rules for storageClass archive can only expire images.")
        }
        (ActionType::Expire, false, Count::SincePulledDays(_)) => {
            fail("countType sinceImagePulled is only allowed with an action of type transition.")
        }
        (kind, _, _) => Ok(Action { kind }),
    }
}

/// `rules` is sorted by priority, so any repeat sits next to its twin.
fn unique_priorities(rules: &[Rule]) -> Result<(), PolicyError> {
    match rules.iter().zip(rules.iter().skip(1)).find(|(a, b)| a.priority == b.priority) {
        Some((twin, _)) => fail(format!("rulePriority {} is used by more than one rule.", twin.priority)),
        None => Ok(()),
    }
}

/// An `any` rule must come last. ECR judges this per storage class: rules of different classes
/// never select the same image, so only the order within a class matters.
fn any_last(rules: &[Rule]) -> Result<(), PolicyError> {
    let mut closed: Vec<StorageClass> = Vec::new();
    for selection in rules.iter().map(|rule| &rule.selection) {
        if closed.contains(&selection.storage_class) {
            return fail("Rule for tagStatus=ANY must have the lowest priority per storage class");
        }
        if selection.tag_status == TagStatus::Any {
            closed.push(selection.storage_class);
        }
    }
    Ok(())
}

fn one_untagged(rules: &[Rule]) -> Result<(), PolicyError> {
    let mut seen: Vec<StorageClass> = Vec::new();
    for selection in rules.iter().map(|rule| &rule.selection).filter(|s| s.tag_status == TagStatus::Untagged) {
        if seen.contains(&selection.storage_class) {
            return fail("Only one rule can select Untagged images per storage class.");
        }
        seen.push(selection.storage_class);
    }
    Ok(())
}

fn unique_prefixes(rules: &[Rule]) -> Result<(), PolicyError> {
    let mut seen: HashSet<(StorageClass, &str)> = HashSet::new();
    for selection in rules.iter().map(|rule| &rule.selection) {
        let TagFilter::Prefixes(prefixes) = &selection.tags else { continue };
        // A prefix repeated within one rule changes nothing; only sharing one between rules is refused.
        let own: BTreeSet<&str> = prefixes.iter().map(String::as_str).collect();
        if let Some(prefix) = own.into_iter().find(|prefix| !seen.insert((selection.storage_class, prefix))) {
            return fail(format!(
                "The tag prefix {prefix} is used by more than one rule for storage class {}.",
                storage_class(selection.storage_class)
            ));
        }
    }
    Ok(())
}

fn count_type(count: Count) -> &'static str {
    match count {
        Count::MoreThan(_) => "imageCountMoreThan",
        Count::SincePushedDays(_) => "sinceImagePushed",
        Count::SincePulledDays(_) => "sinceImagePulled",
        Count::SinceTransitionedDays(_) => "sinceImageTransitioned",
    }
}

fn storage_class(class: StorageClass) -> &'static str {
    match class {
        StorageClass::Standard => "standard",
        StorageClass::Archive => "archive",
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(message.into()))
}
