//! Randomized invariants, driven by a hand-written xorshift generator with fixed seeds so every
//! run sees the same cases: many random image sets under random policies, each checked against
//! the invariants of the evaluation and against a quadratic reference written straight from
//! the semantics.

use std::collections::HashSet;

use super::evaluate::{DAY, NOW};
use super::*;
use crate::{Count, Decision, Image, LifecyclePolicy, Rule, StorageClass, TagFilter, TagStatus, evaluate};

const HOUR: i64 = 3_600_000;
const TAG_POOL: &[&str] =
    &["prod", "prod-1", "prod-eu", "dev", "dev-2", "v1.2", "v1.2-rc1", "latest", "release-x", "a"];
const PREFIX_POOL: &[&str] = &["prod", "prod-", "dev", "v1", "rel", "a", "x"];
const PATTERN_POOL: &[&str] = &["prod*", "*-1", "*", "v*.*", "*rc*", "dev", "*e*e*", "latest", "a*"];

/// xorshift64*: small, fast, and good enough to vary test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n`, for `n > 0`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'p>(&mut self, pool: &[&'p str]) -> &'p str {
        pool[self.below(pool.len() as u64) as usize]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// An image owning its strings, for [`Image`] views.
struct Owned {
    digest: String,
    tags: Vec<String>,
    pushed_at: i64,
    last_pulled_at: Option<i64>,
    storage_class: StorageClass,
    archived_at: Option<i64>,
    protected: bool,
}

impl Owned {
    fn view(&self) -> Image<'_> {
        Image {
            digest: &self.digest,
            tags: &self.tags,
            pushed_at: self.pushed_at,
            last_pulled_at: self.last_pulled_at,
            storage_class: self.storage_class,
            archived_at: self.archived_at,
            protected: self.protected,
        }
    }
}

/// Up to `max` images; push times on whole hours so equal push times happen.
fn random_images(rng: &mut Rng, max: u64, protected_percent: u64) -> Vec<Owned> {
    (0..rng.below(max + 1))
        .map(|i| {
            let pushed_at = NOW - rng.below(200 * 24) as i64 * HOUR;
            let archived = rng.chance(20);
            Owned {
                digest: format!("sha256:{:016x}-{i}", rng.next()),
                tags: (0..rng.below(4)).map(|_| rng.pick(TAG_POOL).to_owned()).collect(),
                pushed_at,
                last_pulled_at: rng.chance(50).then(|| pushed_at + rng.below((NOW - pushed_at) as u64 + 1) as i64),
                storage_class: if archived { StorageClass::Archive } else { StorageClass::Standard },
                archived_at: (archived && rng.chance(90)).then(|| NOW - rng.below(300) as i64 * DAY),
                protected: rng.chance(protected_percent),
            }
        })
        .collect()
}

fn random_tags(rng: &mut Rng) -> String {
    let kind = rng.below(4);
    let pool = if kind == 2 { PREFIX_POOL } else { PATTERN_POOL };
    let list: Vec<&str> = (0..1 + rng.below(2)).map(|_| rng.pick(pool)).collect();
    match kind {
        0 => UNTAGGED.to_owned(),
        1 => ANY.to_owned(),
        2 => prefixes(&list),
        _ => patterns(&list),
    }
}

fn random_rule(rng: &mut Rng, priority: u32) -> String {
    let tags = random_tags(rng);
    let days = 1 + rng.below(150) as u32;
    let standard_action = if rng.chance(70) { EXPIRE } else { TRANSITION };
    match rng.below(4) {
        0 => rule(priority, &tags, &more_than(1 + rng.below(15) as u32), standard_action),
        1 => rule(priority, &tags, &pushed(days), standard_action),
        2 => rule(priority, &tags, &pulled(days), TRANSITION),
        _ => rule(priority, &tags, &transitioned(days), EXPIRE),
    }
}

/// A random policy that passed validation; random rules often break a cross-rule check, so
/// this draws until one passes.
fn random_policy(rng: &mut Rng) -> LifecyclePolicy {
    loop {
        let mut priorities: Vec<u32> = (1..=1 + rng.below(5) as u32).map(|p| p * (1 + rng.below(3) as u32)).collect();
        priorities.dedup();
        let mut rules: Vec<String> = priorities.iter().map(|&p| random_rule(rng, p)).collect();
        rng.shuffle(&mut rules);
        if let Ok(policy) = LifecyclePolicy::parse(&policy(&rules)) {
            return policy;
        }
    }
}

/// Whether `rule` selects `image`, written independently of the evaluator (its own glob).
fn oracle_selects(rule: &Rule, image: &Image<'_>) -> bool {
    let selection = &rule.selection;
    let every = |entries: &[String], hit: fn(&str, &str) -> bool| {
        entries.iter().all(|entry| image.tags.iter().any(|tag| hit(entry, tag)))
    };
    selection.storage_class == image.storage_class
        && match selection.tag_status {
            TagStatus::Any => true,
            TagStatus::Untagged => image.tags.is_empty(),
            TagStatus::Tagged => {
                !image.tags.is_empty()
                    && match &selection.tags {
                        TagFilter::None => true,
                        TagFilter::Prefixes(list) => every(list, |prefix, tag| tag.starts_with(prefix)),
                        TagFilter::Patterns(list) => {
                            every(list, |pattern, tag| glob(pattern.as_bytes(), tag.as_bytes()))
                        }
                    }
            }
        }
}

/// `*` matches any run; everything else matches itself. Exponential at worst, fine for tests.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// Whether the rule's count picks `image` among `images`; counts rank by the number of newer
/// selected images instead of sorting.
fn oracle_due(rule: &Rule, image: &Image<'_>, images: &[Image<'_>], now: i64) -> bool {
    let older_than = |at: Option<i64>, days: u32| at.is_some_and(|at| now - at > i64::from(days) * DAY);
    match rule.selection.count {
        Count::MoreThan(keep) => {
            let newer = |other: &&Image<'_>| {
                (other.pushed_at, std::cmp::Reverse(other.digest)) > (image.pushed_at, std::cmp::Reverse(image.digest))
            };
            images.iter().filter(|other| oracle_selects(rule, other)).filter(newer).count() >= keep as usize
        }
        Count::SincePushedDays(days) => older_than(Some(image.pushed_at), days),
        Count::SincePulledDays(days) => older_than(Some(image.last_pulled_at.unwrap_or(image.pushed_at)), days),
        Count::SinceTransitionedDays(days) => older_than(image.archived_at, days),
    }
}

/// The semantics as directly as they can be written, in quadratic time.
fn reference(policy: &LifecyclePolicy, images: &[Image<'_>], now: i64) -> Vec<Decision> {
    let rules = policy.rules();
    let mut decisions: Vec<Decision> = rules
        .iter()
        .enumerate()
        .flat_map(|(r, rule)| {
            images
                .iter()
                .filter(move |image| {
                    oracle_selects(rule, image)
                        && !rules[..r].iter().any(|higher| oracle_selects(higher, image))
                        && !image.protected
                        && oracle_due(rule, image, images, now)
                })
                .map(|image| Decision {
                    digest: image.digest.to_owned(),
                    action: rule.action.kind,
                    rule_priority: rule.priority,
                })
        })
        .collect();
    decisions.sort_by(|a, b| (a.rule_priority, &a.digest).cmp(&(b.rule_priority, &b.digest)));
    decisions
}

fn check_invariants(policy: &LifecyclePolicy, images: &[Image<'_>], decisions: &[Decision]) {
    let mut seen = HashSet::new();
    for decision in decisions {
        assert!(seen.insert(&decision.digest), "{} decided twice: {decisions:?}", decision.digest);
        let image = images.iter().find(|image| image.digest == decision.digest).expect("decided images exist");
        assert!(!image.protected, "protected {} acted on", image.digest);
        let rule = policy.rules().iter().find(|rule| rule.priority == decision.rule_priority).expect("rule exists");
        assert!(
            oracle_selects(rule, image),
            "{} acted on by rule {} that doesn't select it",
            image.digest,
            rule.priority
        );
        assert_eq!(decision.action, rule.action.kind);
        for higher in policy.rules().iter().filter(|higher| higher.priority < rule.priority) {
            assert!(
                !oracle_selects(higher, image),
                "{} selected by rule {}, acted on by {}",
                image.digest,
                higher.priority,
                rule.priority
            );
        }
    }
    let order: Vec<_> = decisions.iter().map(|d| (d.rule_priority, &d.digest)).collect();
    assert!(order.is_sorted(), "decisions out of order: {order:?}");
}

#[test]
fn random_policies_keep_the_invariants_and_match_the_reference() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..1500 {
        let policy = random_policy(&mut rng);
        let owned = random_images(&mut rng, 60, 10);
        let mut images: Vec<Image<'_>> = owned.iter().map(Owned::view).collect();

        let decisions = evaluate(&policy, &images, NOW);
        check_invariants(&policy, &images, &decisions);
        assert_eq!(decisions, reference(&policy, &images, NOW), "{policy:?}");
        assert_eq!(evaluate(&policy, &images, NOW), decisions, "not repeatable");
        rng.shuffle(&mut images);
        assert_eq!(evaluate(&policy, &images, NOW), decisions, "depends on the images' order");
    }
}

/// One `imageCountMoreThan N` rule acts on exactly the selected images beyond the newest N,
/// less the protected ones among them.
#[test]
fn a_count_rule_acts_on_exactly_the_images_beyond_its_count() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for round in 0..2000 {
        let keep = 1 + rng.below(20) as u32;
        let policy = LifecyclePolicy::parse(&policy(&[rule(1, &random_tags(&mut rng), &more_than(keep), EXPIRE)]))
            .expect("one rule is always valid");
        // Half the rounds without protected images, where the count is exact.
        let protected_percent = if round % 2 == 0 { 0 } else { 15 };
        let owned = random_images(&mut rng, 80, protected_percent);
        let images: Vec<Image<'_>> = owned.iter().map(Owned::view).collect();
        let rule = &policy.rules()[0];
        let matching = images.iter().filter(|image| oracle_selects(rule, image)).count();
        let allowed = matching.saturating_sub(keep as usize);

        let decisions = evaluate(&policy, &images, NOW);
        if protected_percent == 0 {
            assert_eq!(decisions.len(), allowed, "{rule:?}: {matching} match, keep {keep}");
        } else {
            assert!(decisions.len() <= allowed, "{rule:?}: {matching} match, keep {keep}");
        }
        check_invariants(&policy, &images, &decisions);
    }
}

/// Mangled policies (cut short, bytes swapped) are refused or accepted, never a panic.
#[test]
fn parse_survives_mangled_text() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let text = policy(&[
        rule(1, &patterns(&["prod*"]), &more_than(10), EXPIRE),
        rule(2, UNTAGGED, &pulled(30), TRANSITION),
        rule(3, ANY, &transitioned(90), EXPIRE),
    ]);
    LifecyclePolicy::parse(&text).expect("the unmangled policy is valid");
    for end in 0..text.len() {
        assert!(LifecyclePolicy::parse(&text[..end]).is_err(), "a cut-short policy parsed: {}", &text[..end]);
    }
    let alphabet = b"{}[]\",:0123456789-.eE truefalsnul*";
    for _ in 0..20_000 {
        let mut bytes = text.clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() as u64) as usize;
            bytes[at] = alphabet[rng.below(alphabet.len() as u64) as usize];
        }
        let _ = LifecyclePolicy::parse(&String::from_utf8_lossy(&bytes));
    }
}
