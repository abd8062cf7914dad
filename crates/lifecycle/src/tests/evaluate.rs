//! The evaluator: one table case per rule kind and property, and the 100,000-image run.

use super::*;
use crate::{ActionType, Decision, Image, LifecyclePolicy, StorageClass, evaluate};

pub(super) const NOW: i64 = 1_700_000_000_000;
pub(super) const DAY: i64 = 86_400_000;

const E: ActionType = ActionType::Expire;
const T: ActionType = ActionType::Transition;

/// An image owning its tags, with times in days before [`NOW`].
struct Img {
    digest: &'static str,
    tags: Vec<String>,
    pushed_days: i64,
    pulled_days: Option<i64>,
    storage_class: StorageClass,
    archived_days: Option<i64>,
    protected: bool,
}

fn img(digest: &'static str, tags: &[&str], pushed_days: i64) -> Img {
    Img {
        digest,
        tags: tags.iter().map(|tag| tag.to_string()).collect(),
        pushed_days,
        pulled_days: None,
        storage_class: StorageClass::Standard,
        archived_days: None,
        protected: false,
    }
}

impl Img {
    fn pulled(self, days: i64) -> Img {
        Img { pulled_days: Some(days), ..self }
    }

    fn archived(self, days: i64) -> Img {
        Img { storage_class: StorageClass::Archive, archived_days: Some(days), ..self }
    }

    /// Archived, with no record of when.
    fn archived_at_unknown(self) -> Img {
        Img { storage_class: StorageClass::Archive, ..self }
    }

    fn protected(self) -> Img {
        Img { protected: true, ..self }
    }

    fn view(&self) -> Image<'_> {
        Image {
            digest: self.digest,
            tags: &self.tags,
            pushed_at: NOW - self.pushed_days * DAY,
            last_pulled_at: self.pulled_days.map(|days| NOW - days * DAY),
            storage_class: self.storage_class,
            archived_at: self.archived_days.map(|days| NOW - days * DAY),
            protected: self.protected,
        }
    }
}

struct Case {
    what: &'static str,
    rules: Vec<String>,
    images: Vec<Img>,
    /// (digest, action, rule priority) in the evaluator's order.
    expect: Vec<(&'static str, ActionType, u32)>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "tagged prefix selects only images with a matching tag",
            rules: vec![rule(1, &prefixes(&["prod"]), &pushed(5), EXPIRE)],
            images: vec![
                img("a", &["prod-1"], 10),
                img("b", &["dev"], 10),
                img("c", &[], 10),
                img("d", &["production"], 10),
            ],
            expect: vec![("a", E, 1), ("d", E, 1)],
        },
        Case {
            what: "untagged selects only images without tags",
            rules: vec![rule(1, UNTAGGED, &pushed(5), EXPIRE)],
            images: vec![img("a", &["prod"], 10), img("b", &[], 10), img("c", &[], 1)],
            expect: vec![("b", E, 1)],
        },
        Case {
            what: "any selects every image",
            rules: vec![rule(1, ANY, &pushed(5), EXPIRE)],
            images: vec![img("a", &["prod"], 10), img("b", &[], 10), img("c", &[], 1)],
            expect: vec![("a", E, 1), ("b", E, 1)],
        },
        Case {
            what: "prefixes: every prefix must match some tag",
            rules: vec![rule(1, &prefixes(&["prod", "v1"]), &pushed(5), EXPIRE)],
            images: vec![
                img("both", &["prod-eu", "v1.2"], 10),
                img("one", &["prod-eu"], 10),
                img("one-tag-both-prefixes", &["prodv1"], 10),
            ],
            expect: vec![("both", E, 1)],
        },
        Case {
            what: "patterns with wildcards, every pattern matching some tag",
            rules: vec![rule(1, &patterns(&["*-rc*", "v*.*"]), &pushed(5), EXPIRE)],
            images: vec![
                img("a", &["app-rc1", "v1.2"], 10),
                img("b", &["app-rc1"], 10),
                img("c", &["v1.2"], 10),
                img("d", &["v1.2-rc1"], 10),
                img("e", &["rc1", "v1"], 10),
            ],
            expect: vec![("a", E, 1), ("d", E, 1)],
        },
        Case {
            what: "a pattern without wildcards matches the whole tag only",
            rules: vec![rule(1, &patterns(&["latest"]), &pushed(5), EXPIRE)],
            images: vec![img("a", &["latest"], 10), img("b", &["latest2"], 10), img("c", &["my-latest"], 10)],
            expect: vec![("a", E, 1)],
        },
        Case {
            what: "? in a pattern is literal, and no tag has one",
            rules: vec![rule(1, &patterns(&["v?"]), &pushed(5), EXPIRE)],
            images: vec![img("a", &["v1"], 10)],
            expect: vec![],
        },
        Case {
            what: "tagged never selects untagged images, even with *",
            rules: vec![rule(1, &patterns(&["*"]), &pushed(5), EXPIRE)],
            images: vec![img("a", &[], 10), img("b", &["x"], 10)],
            expect: vec![("b", E, 1)],
        },
        Case {
            what: "imageCountMoreThan keeps the newest N by push time",
            rules: vec![rule(1, UNTAGGED, &more_than(2), EXPIRE)],
            images: vec![img("d4", &[], 4), img("d1", &[], 1), img("d3", &[], 3), img("d2", &[], 2), img("d9", &[], 9)],
            expect: vec![("d3", E, 1), ("d4", E, 1), ("d9", E, 1)],
        },
        Case {
            what: "imageCountMoreThan with no more than N acts on nothing",
            rules: vec![rule(1, UNTAGGED, &more_than(3), EXPIRE)],
            images: vec![img("a", &[], 100), img("b", &[], 200), img("c", &[], 300)],
            expect: vec![],
        },
        Case {
            what: "imageCountMoreThan breaks push-time ties by digest",
            rules: vec![rule(1, UNTAGGED, &more_than(1), EXPIRE)],
            images: vec![img("b", &[], 5), img("c", &[], 5), img("a", &[], 5)],
            expect: vec![("b", E, 1), ("c", E, 1)],
        },
        Case {
            what: "sinceImagePushed acts on images older than N days, not on N days exactly",
            rules: vec![rule(1, ANY, &pushed(7), EXPIRE)],
            images: vec![img("old", &[], 8), img("exact", &[], 7), img("new", &[], 6)],
            expect: vec![("old", E, 1)],
        },
        Case {
            what: "sinceImagePulled uses the last pull, or the push if never pulled",
            rules: vec![rule(1, ANY, &pulled(30), TRANSITION)],
            images: vec![
                img("never-pulled-old", &[], 40),
                img("never-pulled-new", &[], 20),
                img("pulled-recently", &[], 40).pulled(10),
                img("pulled-long-ago", &[], 40).pulled(35),
            ],
            expect: vec![("never-pulled-old", T, 1), ("pulled-long-ago", T, 1)],
        },
        Case {
            what: "sinceImageTransitioned acts on archived images by archive time",
            rules: vec![rule(1, ANY, &transitioned(90), EXPIRE)],
            images: vec![
                img("long-archived", &[], 400).archived(100),
                img("just-archived", &[], 400).archived(10),
                img("unknown-archive-time", &[], 400).archived_at_unknown(),
                img("standard", &[], 400),
            ],
            expect: vec![("long-archived", E, 1)],
        },
        Case {
            what: "standard rules leave archived images alone",
            rules: vec![rule(1, ANY, &pushed(1), EXPIRE)],
            images: vec![img("standard", &[], 10), img("archived", &[], 10).archived(5)],
            expect: vec![("standard", E, 1)],
        },
        Case {
            what: "transition then expire: each class has its rule",
            rules: vec![rule(1, ANY, &pulled(90), TRANSITION), rule(2, ANY, &transitioned(365), EXPIRE)],
            images: vec![
                img("cold", &["v1"], 100),
                img("warm", &["v2"], 100).pulled(5),
                img("archived-long", &["v0"], 900).archived(400),
                img("archived-recently", &["v0.5"], 900).archived(100),
            ],
            expect: vec![("cold", T, 1), ("archived-long", E, 2)],
        },
        Case {
            what: "rules apply by priority, whatever their order in the text",
            rules: vec![rule(2, ANY, &pushed(1), EXPIRE), rule(1, &prefixes(&["prod"]), &pushed(1), TRANSITION)],
            images: vec![img("prod", &["prod"], 10), img("dev", &["dev"], 10)],
            expect: vec![("prod", T, 1), ("dev", E, 2)],
        },
        Case {
            what: "an image is acted on by one rule at most",
            rules: vec![rule(1, UNTAGGED, &pushed(1), EXPIRE), rule(2, ANY, &pushed(1), TRANSITION)],
            images: vec![img("u", &[], 10), img("t", &["t"], 10)],
            expect: vec![("u", E, 1), ("t", T, 2)],
        },
        Case {
            what: "a higher rule's selection protects images it doesn't act on",
            rules: vec![rule(1, &patterns(&["prod*"]), &more_than(1000), EXPIRE), rule(2, ANY, &pushed(1), EXPIRE)],
            images: vec![img("prod", &["prod-7"], 10), img("dev", &["dev-7"], 10), img("none", &[], 10)],
            expect: vec![("dev", E, 2), ("none", E, 2)],
        },
        Case {
            what: "lower counts still see images higher rules took",
            rules: vec![rule(1, &prefixes(&["prod"]), &more_than(1000), EXPIRE), rule(2, ANY, &more_than(2), EXPIRE)],
            images: vec![img("p1", &["prod"], 1), img("p2", &["prod"], 2), img("x3", &[], 3), img("x4", &[], 4)],
            expect: vec![("x3", E, 2), ("x4", E, 2)],
        },
        Case {
            what: "lower counts still see images higher rules expired",
            rules: vec![rule(1, &prefixes(&["beta"]), &pushed(5), EXPIRE), rule(2, ANY, &more_than(2), EXPIRE)],
            images: vec![img("b", &["beta"], 10), img("x1", &[], 1), img("x2", &[], 2), img("x3", &[], 3)],
            expect: vec![("b", E, 1), ("x3", E, 2)],
        },
        Case {
            what: "any comes last and takes what the others left",
            rules: vec![
                rule(1, &prefixes(&["prod"]), &more_than(1), EXPIRE),
                rule(2, UNTAGGED, &pushed(3), EXPIRE),
                rule(3, ANY, &pushed(30), EXPIRE),
            ],
            images: vec![
                img("prod-new", &["prod"], 40),
                img("prod-old", &["prod"], 50),
                img("untagged-old", &[], 5),
                img("untagged-new", &[], 1),
                img("dev-old", &["dev"], 40),
                img("dev-new", &["dev"], 10),
            ],
            expect: vec![("prod-old", E, 1), ("untagged-old", E, 2), ("dev-old", E, 3)],
        },
        Case {
            what: "images an index lists are counted but never acted on",
            rules: vec![rule(1, UNTAGGED, &more_than(1), EXPIRE)],
            images: vec![
                img("child-new", &[], 1).protected(),
                img("loose", &[], 2),
                img("child-old", &[], 3).protected(),
                img("loose-old", &[], 4),
            ],
            expect: vec![("loose", E, 1), ("loose-old", E, 1)],
        },
        Case {
            what: "decisions come by priority, then digest",
            rules: vec![rule(1, &prefixes(&["a"]), &pushed(1), EXPIRE), rule(2, ANY, &pushed(1), EXPIRE)],
            images: vec![img("z", &[], 5), img("y", &["a"], 5), img("m", &[], 5), img("b", &["a"], 5)],
            expect: vec![("b", E, 1), ("y", E, 1), ("m", E, 2), ("z", E, 2)],
        },
        Case {
            what: "no images, no decisions",
            rules: vec![rule(1, ANY, &more_than(1), EXPIRE)],
            images: vec![],
            expect: vec![],
        },
    ]
}

#[test]
fn evaluation_table() {
    for case in cases() {
        let policy = LifecyclePolicy::parse(&policy(&case.rules)).unwrap_or_else(|e| panic!("{}: {e}", case.what));
        let images: Vec<Image<'_>> = case.images.iter().map(Img::view).collect();
        let expect: Vec<Decision> = case
            .expect
            .iter()
            .map(|&(digest, action, rule_priority)| Decision { digest: digest.into(), action, rule_priority })
            .collect();
        assert_eq!(evaluate(&policy, &images, NOW), expect, "{}", case.what);
    }
}

/// 100,000 images through a policy of every kind of rule. The result size is known by
/// construction: image i is tagged prod (i % 4 == 0), dev (1) or untagged (2, 3), pushed i
/// minutes before now, and last pulled half of the time.
#[test]
fn hundred_thousand_images() {
    const N: usize = 100_000;
    let tags: [Vec<String>; 3] = [vec!["prod-1".into(), "latest".into()], vec!["dev-1".into()], vec![]];
    let digests: Vec<String> = (0..N).map(|i| format!("sha256:{i:064x}")).collect();
    let images: Vec<Image<'_>> = digests
        .iter()
        .enumerate()
        .map(|(i, digest)| Image {
            digest,
            tags: &tags[(i % 4).min(2)],
            pushed_at: NOW - i as i64 * 60_000,
            last_pulled_at: (i % 2 == 0).then_some(NOW),
            storage_class: StorageClass::Standard,
            archived_at: None,
            protected: i % 1000 == 999,
        })
        .collect();
    let policy = LifecyclePolicy::parse(&policy(&[
        rule(1, &patterns(&["prod*", "latest"]), &more_than(100), EXPIRE),
        rule(2, UNTAGGED, &pushed(30), EXPIRE),
        rule(3, ANY, &more_than(1000), TRANSITION),
    ]))
    .expect("valid policy");

    let decisions = evaluate(&policy, &images, NOW);

    // Rule 1: 25,000 prod images (none protected: 999 mod 4 = 3), all but the newest 100.
    // Rule 2: 100,000 minutes is about 69 days; untagged images pushed more than 30 days
    // (43,200 minutes) ago, i.e. i > 43,200 with i % 4 in {2, 3}, less the protected ones.
    // Rule 3: dev images (i % 4 == 1) past the newest 1000 of all images.
    let untagged_old = (43_201..N).filter(|i| i % 4 >= 2 && i % 1000 != 999).count();
    let dev_old = (1000..N).filter(|i| i % 4 == 1).count();
    assert_eq!(decisions.len(), (25_000 - 100) + untagged_old + dev_old);
    let per_rule = |priority| decisions.iter().filter(|d| d.rule_priority == priority).count();
    assert_eq!((per_rule(1), per_rule(2), per_rule(3)), (24_900, untagged_old, dev_old));
}
