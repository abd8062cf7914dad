//! Tests: a table of policies for the parser, a table of image sets for the evaluator, and
//! randomized invariants over both. Policies are written as JSON through the helpers below.

mod evaluate;
mod parse;
mod properties;

/// `{"rules":[...]}` around the given rules.
fn policy(rules: &[String]) -> String {
    format!(r#"{{"rules":[{}]}}"#, rules.join(","))
}

/// A rule from its priority and the insides of its `selection` and `action` objects.
fn raw_rule(priority: u32, selection: &str, action: &str) -> String {
    format!(r#"{{"rulePriority":{priority},"selection":{{{selection}}},"action":{{{action}}}}}"#)
}

/// A rule from its tag part, its count part (both from the helpers below) and its action.
fn rule(priority: u32, tags: &str, count: &str, action: &str) -> String {
    raw_rule(priority, &format!("{tags},{count}"), action)
}

const UNTAGGED: &str = r#""tagStatus":"untagged""#;
const ANY: &str = r#""tagStatus":"any""#;
const EXPIRE: &str = r#""type":"expire""#;
const TRANSITION: &str = r#""type":"transition","targetStorageClass":"archive""#;

fn prefixes(list: &[&str]) -> String {
    format!(r#""tagStatus":"tagged","tagPrefixList":{}"#, json_list(list))
}

fn patterns(list: &[&str]) -> String {
    format!(r#""tagStatus":"tagged","tagPatternList":{}"#, json_list(list))
}

fn more_than(n: u32) -> String {
    format!(r#""countType":"imageCountMoreThan","countNumber":{n}"#)
}

fn pushed(days: u32) -> String {
    format!(r#""countType":"sinceImagePushed","countUnit":"days","countNumber":{days}"#)
}

fn pulled(days: u32) -> String {
    format!(r#""countType":"sinceImagePulled","countUnit":"days","countNumber":{days}"#)
}

/// Archived images only, so it carries the storage class it needs.
fn transitioned(days: u32) -> String {
    format!(r#""storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":{days}"#)
}

fn json_list(list: &[&str]) -> String {
    serde_json::to_string(list).expect("strings serialize")
}
