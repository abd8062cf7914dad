//! Evaluation: which images a policy expires or archives, given the repository's images and the
//! time. The rules apply by ascending priority over the whole image set at once:
//!
//! - a rule *selects* the images of its storage class that meet its tag requirement;
//! - of those, its count picks the ones due (the oldest beyond N, or those older than N days),
//!   seeing every selected image, even ones a higher rule took, as ECR's rules "still identify"
//!   images a higher rule marked;
//! - it acts only on due images that no higher rule selected: an image is acted on by at most one
//!   rule, and one that matches a higher rule is that rule's to keep, even if it keeps it;
//! - images an index lists are counted like any other but never acted on directly.
//!
//! Each rule is one pass over the images plus, for counts, one sort of its selection, so a
//! policy costs O(rules × n log n).

use std::cmp::Ordering;

use crate::{ActionType, Count, LifecyclePolicy, Selection, StorageClass, TagFilter, TagStatus};

const DAY_MS: i64 = 86_400_000;

/// What the evaluator needs to know of one image. Digests are expected to be unique.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    pub digest: &'a str,
    pub tags: &'a [String],
    /// Epoch milliseconds.
    pub pushed_at: i64,
    /// Epoch milliseconds; `None` if never pulled.
    pub last_pulled_at: Option<i64>,
    /// `Standard` unless archived.
    pub storage_class: StorageClass,
    /// Epoch milliseconds, when archived.
    pub archived_at: Option<i64>,
    /// Listed by an index: acted on only with its index, never by a rule directly.
    pub protected: bool,
}

/// One image acted on, and by which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub digest: String,
    pub action: ActionType,
    pub rule_priority: u32,
}

/// Applies every rule of `policy` to `images` as of `now_ms` (epoch milliseconds). The decisions
/// come sorted by rule priority, then digest, so equal inputs give equal outputs in any order.
pub fn evaluate(policy: &LifecyclePolicy, images: &[Image<'_>], now_ms: i64) -> Vec<Decision> {
    // By image index: selected by a rule already applied, so no later rule may act on it.
    let mut claimed = vec![false; images.len()];
    let mut decisions = Vec::new();
    for rule in policy.rules() {
        let mut selected: Vec<Indexed<'_, '_>> =
            images.iter().enumerate().filter(|(_, image)| selects(&rule.selection, image)).collect();
        for (i, image) in due(rule.selection.count, &mut selected, now_ms) {
            if !claimed[i] && !image.protected {
                decisions.push(Decision {
                    digest: image.digest.to_owned(),
                    action: rule.action.kind,
                    rule_priority: rule.priority,
                });
            }
        }
        for &(i, _) in &selected {
            claimed[i] = true;
        }
    }
    decisions.sort_unstable_by(|a, b| (a.rule_priority, &a.digest).cmp(&(b.rule_priority, &b.digest)));
    decisions
}

/// An image with its index in the caller's slice, which `claimed` is sized to.
type Indexed<'i, 'a> = (usize, &'i Image<'a>);

fn selects(selection: &Selection, image: &Image<'_>) -> bool {
    selection.storage_class == image.storage_class
        && match selection.tag_status {
            TagStatus::Any => true,
            TagStatus::Untagged => image.tags.is_empty(),
            TagStatus::Tagged => !image.tags.is_empty() && tags_match(&selection.tags, image.tags),
        }
}

/// Every entry of the filter must match some tag (AND across entries; OR takes separate rules).
fn tags_match(filter: &TagFilter, tags: &[String]) -> bool {
    match filter {
        TagFilter::None => true,
        TagFilter::Prefixes(prefixes) => prefixes.iter().all(|prefix| tags.iter().any(|tag| tag.starts_with(prefix))),
        TagFilter::Patterns(patterns) => {
            patterns.iter().all(|pattern| tags.iter().any(|tag| pattern_matches(pattern, tag)))
        }
    }
}

/// ECR patterns know only `*`. The IAM matcher also reads `?` as any one character where ECR
/// would take it literally, but no valid tag contains `?`, so such a pattern matches nothing.
fn pattern_matches(pattern: &str, tag: &str) -> bool {
    !pattern.contains('?') && wharf_iam::wildcard::matches(pattern, tag)
}

/// The selected images that the count picks. Sorts `selected` for `imageCountMoreThan`, the
/// one count that depends on order.
fn due<'i, 'a>(count: Count, selected: &mut [Indexed<'i, 'a>], now_ms: i64) -> Vec<Indexed<'i, 'a>> {
    let older = |days: u32, since: fn(&Image<'_>) -> Option<i64>| -> Vec<Indexed<'i, 'a>> {
        let age_ms = i64::from(days) * DAY_MS;
        selected
            .iter()
            .copied()
            .filter(|(_, image)| since(image).is_some_and(|at| now_ms.saturating_sub(at) > age_ms))
            .collect()
    };
    match count {
        Count::MoreThan(keep) => {
            selected.sort_unstable_by(|(_, a), (_, b)| newest_first(a, b));
            selected.iter().copied().skip(usize::try_from(keep).unwrap_or(usize::MAX)).collect()
        }
        Count::SincePushedDays(days) => older(days, |image| Some(image.pushed_at)),
        // Never pulled counts from the push.
        Count::SincePulledDays(days) => older(days, |image| Some(image.last_pulled_at.unwrap_or(image.pushed_at))),
        // An archived image without an archive time can't be shown old enough, so it stays.
        Count::SinceTransitionedDays(days) => older(days, |image| image.archived_at),
    }
}

/// Newest push first; equal push times by digest, so the cut between kept and acted-on images
/// doesn't depend on the order the images came in.
fn newest_first(a: &Image<'_>, b: &Image<'_>) -> Ordering {
    b.pushed_at.cmp(&a.pushed_at).then_with(|| a.digest.cmp(b.digest))
}
