//! The parser: every validation rule with the message it yields, and valid policies.

use super::*;
use crate::{
    Action, ActionType, Count, LifecyclePolicy, PolicyError, Rule, Selection, StorageClass, TagFilter, TagStatus,
};

/// A valid rule to put beside the one under test.
fn ok_rule(priority: u32) -> String {
    rule(priority, UNTAGGED, &pushed(14), EXPIRE)
}

/// A policy of one rule with the given selection insides and action insides.
fn one(selection: &str, action: &str) -> String {
    policy(&[raw_rule(1, selection, action)])
}

/// (what, policy text, the message after "Lifecycle policy validation failure: ").
fn invalid() -> Vec<(&'static str, String, &'static str)> {
    let untagged_14 = format!("{UNTAGGED},{}", pushed(14));
    vec![
        // The document.
        ("not JSON", "rules: []".into(), "Could not map policyString into LifecyclePolicy."),
        ("empty text", String::new(), "Could not map policyString into LifecyclePolicy."),
        ("not an object", "[1]".into(), "Could not map policyString into LifecyclePolicy."),
        ("no rules", "{}".into(), r#"object has missing required properties (["rules"])"#),
        (
            "unknown top-level property",
            format!(r#"{{"rules":[{}],"x":1}}"#, ok_rule(1)),
            r#"object instance has properties which are not allowed by the schema: (["x"])"#,
        ),
        (
            "rules not an array",
            r#"{"rules":{}}"#.into(),
            r#"instance type (object) does not match any allowed primitive type (allowed: ["array"])"#,
        ),
        (
            "empty rules",
            r#"{"rules":[]}"#.into(),
            "array is too short: must have at least 1 elements but instance has 0 elements",
        ),
        (
            "51 rules",
            policy(
                &(1..=51).map(|p| rule(p, &prefixes(&[&format!("p{p}-")]), &more_than(1), EXPIRE)).collect::<Vec<_>>(),
            ),
            "A lifecycle policy can have at most 50 rules, this one has 51.",
        ),
        // A rule's own properties.
        (
            "rule not an object",
            r#"{"rules":[1]}"#.into(),
            r#"instance type (integer) does not match any allowed primitive type (allowed: ["object"])"#,
        ),
        (
            "rule missing properties",
            r#"{"rules":[{"rulePriority":1}]}"#.into(),
            r#"object has missing required properties (["action","selection"])"#,
        ),
        (
            "unknown rule properties",
            format!(
                r#"{{"rules":[{{"rulePriority":1,"selection":{{{untagged_14}}},"action":{{{EXPIRE}}},"b":1,"a":2}}]}}"#
            ),
            r#"object instance has properties which are not allowed by the schema: (["a","b"])"#,
        ),
        (
            "rulePriority 0",
            policy(&[raw_rule(0, &untagged_14, EXPIRE)]),
            "numeric instance is lower than the required minimum (minimum: 1, found: 0)",
        ),
        (
            "negative rulePriority",
            policy(&[raw_rule(1, &untagged_14, EXPIRE).replace(r#""rulePriority":1"#, r#""rulePriority":-3"#)]),
            "numeric instance is lower than the required minimum (minimum: 1, found: -3)",
        ),
        (
            "rulePriority beyond u32",
            policy(&[raw_rule(1, &untagged_14, EXPIRE).replace(r#""rulePriority":1"#, r#""rulePriority":4294967296"#)]),
            "numeric instance is greater than the required maximum (maximum: 4294967295, found: 4294967296)",
        ),
        (
            "rulePriority a string",
            policy(&[raw_rule(1, &untagged_14, EXPIRE).replace(r#""rulePriority":1"#, r#""rulePriority":"1""#)]),
            r#"instance type (string) does not match any allowed primitive type (allowed: ["integer"])"#,
        ),
        (
            "rulePriority a fraction",
            policy(&[raw_rule(1, &untagged_14, EXPIRE).replace(r#""rulePriority":1"#, r#""rulePriority":1.5"#)]),
            r#"instance type (number) does not match any allowed primitive type (allowed: ["integer"])"#,
        ),
        (
            "description not a string",
            format!(
                r#"{{"rules":[{{"rulePriority":1,"description":7,"selection":{{{untagged_14}}},"action":{{{EXPIRE}}}}}]}}"#
            ),
            r#"instance type (integer) does not match any allowed primitive type (allowed: ["string"])"#,
        ),
        // The selection's schema.
        (
            "selection missing properties",
            one(UNTAGGED, EXPIRE),
            r#"object has missing required properties (["countNumber","countType"])"#,
        ),
        (
            "unknown selection property",
            one(&format!(r#"{untagged_14},"tagList":["a"]"#), EXPIRE),
            r#"object instance has properties which are not allowed by the schema: (["tagList"])"#,
        ),
        (
            "tagStatus not in enum",
            one(&format!(r#""tagStatus":"TAGGED",{}"#, more_than(1)), EXPIRE),
            r#"instance value (TAGGED) not found in enum (possible values: ["tagged","untagged","any"])"#,
        ),
        (
            "countType not in enum",
            one(&format!(r#"{UNTAGGED},"countType":"imageCount","countNumber":1"#), EXPIRE),
            r#"instance value (imageCount) not found in enum (possible values: ["imageCountMoreThan","sinceImagePushed","sinceImagePulled","sinceImageTransitioned"])"#,
        ),
        (
            "countNumber 0",
            one(&format!("{UNTAGGED},{}", more_than(0)), EXPIRE),
            "numeric instance is lower than the required minimum (minimum: 1, found: 0)",
        ),
        (
            "countUnit not in enum",
            one(&format!(r#"{UNTAGGED},"countType":"sinceImagePushed","countUnit":"hours","countNumber":1"#), EXPIRE),
            r#"instance value (hours) not found in enum (possible values: ["days"])"#,
        ),
        (
            "storageClass not in enum",
            one(&format!(r#"{untagged_14},"storageClass":"glacier""#), EXPIRE),
            r#"instance value (glacier) not found in enum (possible values: ["standard","archive"])"#,
        ),
        (
            "tagPrefixList not an array",
            one(&format!(r#""tagStatus":"tagged","tagPrefixList":"prod",{}"#, more_than(1)), EXPIRE),
            r#"instance type (string) does not match any allowed primitive type (allowed: ["array"])"#,
        ),
        (
            "tagPrefixList empty",
            one(&format!("{},{}", prefixes(&[]), more_than(1)), EXPIRE),
            "array is too short: must have at least 1 elements but instance has 0 elements",
        ),
        (
            "tagPatternList holding a number",
            one(&format!(r#""tagStatus":"tagged","tagPatternList":[1],{}"#, more_than(1)), EXPIRE),
            r#"instance type (integer) does not match any allowed primitive type (allowed: ["string"])"#,
        ),
        // The action's schema.
        ("action missing type", one(&untagged_14, ""), r#"object has missing required properties (["type"])"#),
        (
            "unknown action property",
            one(&untagged_14, r#""type":"expire","when":"now""#),
            r#"object instance has properties which are not allowed by the schema: (["when"])"#,
        ),
        (
            "action type not in enum",
            one(&untagged_14, r#""type":"delete""#),
            r#"instance value (delete) not found in enum (possible values: ["expire","transition"])"#,
        ),
        (
            "targetStorageClass not in enum",
            one(&untagged_14, r#""type":"transition","targetStorageClass":"standard""#),
            r#"instance value (standard) not found in enum (possible values: ["archive"])"#,
        ),
        // Properties that go together within a rule.
        (
            "tagged without a list",
            one(&format!(r#""tagStatus":"tagged",{}"#, more_than(1)), EXPIRE),
            "A rule with tagStatus tagged must have exactly one of tagPrefixList and tagPatternList.",
        ),
        (
            "tagged with both lists",
            one(&format!(r#"{},"tagPatternList":["a*"],{}"#, prefixes(&["a"]), more_than(1)), EXPIRE),
            "A rule with tagStatus tagged must have exactly one of tagPrefixList and tagPatternList.",
        ),
        (
            "untagged with a prefix list",
            one(&format!(r#"{untagged_14},"tagPrefixList":["a"]"#), EXPIRE),
            "A rule with tagStatus untagged must not have tagPrefixList or tagPatternList.",
        ),
        (
            "any with a pattern list",
            one(&format!(r#"{ANY},"tagPatternList":["a*"],{}"#, more_than(1)), EXPIRE),
            "A rule with tagStatus any must not have tagPrefixList or tagPatternList.",
        ),
        (
            "five wildcards in a pattern",
            one(&format!("{},{}", patterns(&["ok*", "test*1*2*3*4*"]), more_than(1)), EXPIRE),
            "The tag pattern test*1*2*3*4* has more than 4 wildcards (*); at most 4 are allowed.",
        ),
        (
            "countUnit with imageCountMoreThan",
            one(&format!(r#"{UNTAGGED},{},"countUnit":"days""#, more_than(1)), EXPIRE),
            "countUnit is not allowed with countType imageCountMoreThan.",
        ),
        (
            "sinceImagePushed without countUnit",
            one(&format!(r#"{UNTAGGED},"countType":"sinceImagePushed","countNumber":1"#), EXPIRE),
            "countType sinceImagePushed requires countUnit days.",
        ),
        (
            "sinceImageTransitioned without storageClass",
            one(
                &format!(r#"{UNTAGGED},"countType":"sinceImageTransitioned","countUnit":"days","countNumber":90"#),
                EXPIRE,
            ),
            "countType sinceImageTransitioned requires storageClass archive.",
        ),
        (
            "sinceImageTransitioned on standard",
            one(
                &format!(
                    r#"{UNTAGGED},"storageClass":"standard","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90"#
                ),
                EXPIRE,
            ),
            "countType sinceImageTransitioned requires storageClass archive.",
        ),
        (
            "sinceImagePushed on archive",
            one(&format!(r#"{untagged_14},"storageClass":"archive""#), EXPIRE),
            "countType sinceImagePushed requires storageClass standard.",
        ),
        (
            "imageCountMoreThan on archive",
            one(&format!(r#"{UNTAGGED},{},"storageClass":"archive""#, more_than(3)), EXPIRE),
            "countType imageCountMoreThan requires storageClass standard.",
        ),
        (
            "transition without targetStorageClass",
            one(&untagged_14, r#""type":"transition""#),
            "An action of type transition requires targetStorageClass archive.",
        ),
        (
            "expire with targetStorageClass",
            one(&untagged_14, r#""type":"expire","targetStorageClass":"archive""#),
            "targetStorageClass is only allowed with an action of type transition.",
        ),
        (
            "transition of archived images",
            one(&format!("{UNTAGGED},{}", transitioned(90)), TRANSITION),
            "Rules for storageClass archive can only expire images.",
        ),
        (
            "sinceImagePulled with expire",
            one(&format!("{UNTAGGED},{}", pulled(30)), EXPIRE),
            "countType sinceImagePulled is only allowed with an action of type transition.",
        ),
        // The rules against each other.
        (
            "duplicate rulePriority",
            policy(&[ok_rule(3), rule(3, &prefixes(&["a"]), &more_than(1), EXPIRE)]),
            "rulePriority 3 is used by more than one rule.",
        ),
        (
            "any before another rule",
            policy(&[rule(1, ANY, &more_than(5), EXPIRE), ok_rule(2)]),
            "Rule for tagStatus=ANY must have the lowest priority per storage class",
        ),
        (
            "two any rules in one storage class",
            policy(&[rule(1, ANY, &more_than(5), EXPIRE), rule(2, ANY, &pushed(5), EXPIRE)]),
            "Rule for tagStatus=ANY must have the lowest priority per storage class",
        ),
        (
            "two untagged rules in one storage class",
            policy(&[ok_rule(1), rule(2, UNTAGGED, &more_than(3), EXPIRE)]),
            "Only one rule can select Untagged images per storage class.",
        ),
        (
            "a tag prefix in two rules of one storage class",
            policy(&[
                rule(1, &prefixes(&["prod", "v1"]), &more_than(3), EXPIRE),
                rule(2, &prefixes(&["dev", "prod"]), &pushed(3), EXPIRE),
            ]),
            "The tag prefix prod is used by more than one rule for storage class standard.",
        ),
        (
            "a tag prefix twice for archive",
            policy(&[
                rule(1, &prefixes(&["old"]), &transitioned(90), EXPIRE),
                rule(2, &prefixes(&["old"]), &transitioned(200), EXPIRE),
            ]),
            "The tag prefix old is used by more than one rule for storage class archive.",
        ),
        // Schema errors come before the cross-rule ones, as in ECR.
        (
            "schema error after a cross-rule error",
            policy(&[ok_rule(1), ok_rule(1), raw_rule(2, UNTAGGED, EXPIRE)]),
            r#"object has missing required properties (["countNumber","countType"])"#,
        ),
    ]
}

#[test]
fn invalid_policies_fail_with_ecr_messages() {
    for (what, text, message) in invalid() {
        match LifecyclePolicy::parse(&text) {
            Ok(policy) => panic!("{what}: accepted {text} as {policy:?}"),
            Err(PolicyError(got)) => assert_eq!(got, message, "{what}: {text}"),
        }
    }
}

/// (what, policy text): policies ECR accepts.
fn valid() -> Vec<(&'static str, String)> {
    vec![
        ("untagged by count", policy(&[rule(1, UNTAGGED, &more_than(1), EXPIRE)])),
        ("description", format!(r#"{{"rules":[{{"rulePriority":1,"description":"d","selection":{{{UNTAGGED},{}}},"action":{{{EXPIRE}}}}}]}}"#, pushed(1))),
        ("four wildcards", policy(&[rule(1, &patterns(&["*test*1*2*3", "test*1*2*3*"]), &more_than(1), EXPIRE)])),
        ("explicit standard", policy(&[rule(1, UNTAGGED, &format!(r#"{},"storageClass":"standard""#, pushed(1)), EXPIRE)])),
        ("priorities need not be contiguous", policy(&[ok_rule(10), rule(3, &prefixes(&["a"]), &more_than(1), EXPIRE)])),
        ("a prefix repeated within one rule", policy(&[rule(1, &prefixes(&["a", "a"]), &more_than(1), EXPIRE)])),
        (
            "one untagged rule per storage class",
            policy(&[ok_rule(1), rule(2, UNTAGGED, &transitioned(90), EXPIRE)]),
        ),
        (
            "one prefix in both storage classes",
            policy(&[rule(1, &prefixes(&["a"]), &more_than(1), EXPIRE), rule(2, &prefixes(&["a"]), &transitioned(90), EXPIRE)]),
        ),
        (
            "any last per storage class",
            policy(&[rule(1, ANY, &more_than(5), EXPIRE), rule(2, UNTAGGED, &transitioned(90), EXPIRE)]),
        ),
        ("transition by push age", policy(&[rule(1, UNTAGGED, &pushed(30), TRANSITION)])),
        ("transition by count", policy(&[rule(1, ANY, &more_than(30), TRANSITION)])),
        (
            "keys in any order, whitespace",
            r#" { "rules" : [ { "action" : { "type" : "expire" }, "selection" : { "countNumber" : 1, "countType" : "imageCountMoreThan", "tagStatus" : "any" }, "rulePriority" : 1 } ] } "#.into(),
        ),
    ]
}

#[test]
fn valid_policies_parse() {
    for (what, text) in valid() {
        if let Err(error) = LifecyclePolicy::parse(&text) {
            panic!("{what}: refused {text}: {error}");
        }
    }
}

fn parsed(text: &str) -> Vec<Rule> {
    LifecyclePolicy::parse(text).expect("valid policy").rules().to_vec()
}

/// ECR's documented examples, parsed to the rules they describe.
#[test]
fn documented_examples_parse_to_their_rules() {
    // Keep the last 10 images tagged prod*.
    let keep_prod = r#"{"rules":[{"rulePriority":1,"description":"Keep last 10 prod images",
        "selection":{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"imageCountMoreThan","countNumber":10},
        "action":{"type":"expire"}}]}"#;
    assert_eq!(
        parsed(keep_prod),
        vec![Rule {
            priority: 1,
            description: Some("Keep last 10 prod images".into()),
            selection: Selection {
                tag_status: TagStatus::Tagged,
                tags: TagFilter::Patterns(vec!["prod*".into()]),
                storage_class: StorageClass::Standard,
                count: Count::MoreThan(10),
            },
            action: Action { kind: ActionType::Expire },
        }]
    );

    // Expire untagged images older than 14 days.
    let untagged = r#"{"rules":[{"rulePriority":1,"description":"Expire images older than 14 days",
        "selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},
        "action":{"type":"expire"}}]}"#;
    let rules = parsed(untagged);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].selection.tag_status, TagStatus::Untagged);
    assert_eq!(rules[0].selection.tags, TagFilter::None);
    assert_eq!(rules[0].selection.count, Count::SincePushedDays(14));

    // Archive images not pulled for 90 days, expire them a year after archiving; given out of order.
    let archive = r#"{"rules":[
        {"rulePriority":2,"description":"Delete archived images after 365 days",
         "selection":{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":365},
         "action":{"type":"expire"}},
        {"rulePriority":1,"description":"Archive images not pulled in 90 days",
         "selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90},
         "action":{"type":"transition","targetStorageClass":"archive"}}]}"#;
    let rules = parsed(archive);
    let summary: Vec<_> =
        rules.iter().map(|r| (r.priority, r.selection.storage_class, r.selection.count, r.action.kind)).collect();
    assert_eq!(
        summary,
        vec![
            (1, StorageClass::Standard, Count::SincePulledDays(90), ActionType::Transition),
            (2, StorageClass::Archive, Count::SinceTransitionedDays(365), ActionType::Expire),
        ]
    );
}

#[test]
fn prefix_lists_keep_their_entries() {
    let rules = parsed(&policy(&[rule(1, &prefixes(&["prod", "v1"]), &more_than(1), EXPIRE)]));
    assert_eq!(rules[0].selection.tags, TagFilter::Prefixes(vec!["prod".into(), "v1".into()]));
}

#[test]
fn fifty_rules_are_allowed() {
    let rules: Vec<String> =
        (1..=50).map(|p| rule(p, &prefixes(&[&format!("p{p}-")]), &more_than(1), EXPIRE)).collect();
    assert_eq!(parsed(&policy(&rules)).len(), 50);
}
