//! Parsing and validating a policy document into the form [`super::evaluate`] works on.

use serde_json::{Map, Value};

use super::condition::{self, Condition};
use super::principals::{self, Grantee};
use super::{PolicyError, PolicyKind};

/// A parsed, validated policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    pub(super) statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub(super) effect: Effect,
    /// Lower-cased action patterns (`Action`, or `NotAction` when negated).
    pub(super) actions: Listed<String>,
    /// Absent in resource and trust policies that leave it implicit: the resource the
    /// policy is attached to.
    pub(super) resources: Option<Listed<String>>,
    /// Absent in identity policies: the identity they are attached to.
    pub(super) principals: Option<Listed<Grantee>>,
    pub(super) conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Allow,
    Deny,
}

/// The values of an element, or of its `Not` form when `negated`.
#[derive(Debug, Clone)]
pub(super) struct Listed<T> {
    pub(super) items: Vec<T>,
    pub(super) negated: bool,
}

impl<T> Listed<T> {
    /// Whether the element admits the request, given a test for one of its values.
    pub(super) fn admits(&self, matches: impl FnMut(&T) -> bool) -> bool {
        self.items.iter().any(matches) != self.negated
    }
}

const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];
const STATEMENT_KEYS: [&str; 9] =
    ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"];

impl Policy {
    /// Parses and validates `text` as a policy of the given kind.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let document: Value =
            serde_json::from_str(text).map_err(|e| PolicyError(format!("policy is not valid JSON: {e}")))?;
        let Value::Object(document) = document else {
            return Err(PolicyError("policy must be a JSON object".to_owned()));
        };
        for (key, value) in &document {
            match key.as_str() {
                "Version" => check_version(value)?,
                "Id" if value.is_string() => {}
                "Id" => return Err(PolicyError("Id must be a string".to_owned())),
                "Statement" => {}
                _ => return Err(PolicyError(format!("unknown top-level key {key:?}"))),
            }
        }
        let statements = match document.get("Statement") {
            None => return Err(PolicyError("Statement is required".to_owned())),
            Some(Value::Array(list)) if list.is_empty() => {
                return Err(PolicyError("Statement must not be an empty array".to_owned()));
            }
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, statement)| parse_statement(statement, kind, &format!("Statement[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Policy { kind, statements })
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Whether a condition reads `aws:ResourceTag/…`: only then does a request need the
    /// resource's tags in its context.
    pub fn reads_resource_tags(&self) -> bool {
        self.statements.iter().flat_map(|s| &s.conditions).any(|c| c.reads_resource_tags())
    }
}

fn check_version(value: &Value) -> Result<(), PolicyError> {
    match value {
        Value::String(v) if VERSIONS.contains(&v.as_str()) => Ok(()),
        _ => Err(PolicyError(format!("Version must be \"2012-10-17\" or \"2008-10-17\", not {value}"))),
    }
}

fn parse_statement(statement: &Value, kind: PolicyKind, at: &str) -> Result<Statement, PolicyError> {
    let Value::Object(statement) = statement else {
        return Err(PolicyError(format!("{at} must be an object")));
    };
    if let Some(key) = statement.keys().find(|k| !STATEMENT_KEYS.contains(&k.as_str())) {
        return Err(PolicyError(format!("{at}: unknown key {key:?}")));
    }
    if statement.get("Sid").is_some_and(|sid| !sid.is_string()) {
        return Err(PolicyError(format!("{at}: Sid must be a string")));
    }
    let effect = match statement.get("Effect") {
        None => return Err(PolicyError(format!("{at}: Effect is required"))),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(PolicyError(format!("{at}: Effect must be \"Allow\" or \"Deny\", not {other}"))),
    };
    let actions = either(statement, "Action", at)?
        .ok_or_else(|| PolicyError(format!("{at}: Action or NotAction is required")))?;
    let actions = parse_actions(actions, kind, at)?;
    let resources = either(statement, "Resource", at)?.map(|r| parse_resources(r, at)).transpose()?;
    let principals = either(statement, "Principal", at)?;
    match (kind, &resources, &principals) {
        (PolicyKind::Identity, _, Some(_)) => {
            return Err(PolicyError(format!("{at}: Principal and NotPrincipal are not allowed in an identity policy")));
        }
        (PolicyKind::Identity, None, _) => {
            return Err(PolicyError(format!("{at}: Resource or NotResource is required in an identity policy")));
        }
        (PolicyKind::Resource | PolicyKind::Trust, _, None) => {
            return Err(PolicyError(format!(
                "{at}: Principal or NotPrincipal is required in a {} policy",
                kind_name(kind)
            )));
        }
        _ => {}
    }
    let principals = principals
        .map(|(value, negated)| {
            let items = principals::parse(value, &format!("{at}.{}Principal", if negated { "Not" } else { "" }))?;
            Ok::<_, PolicyError>(Listed { items, negated })
        })
        .transpose()?;
    let conditions = match statement.get("Condition") {
        None => Vec::new(),
        Some(value) => condition::parse(value, &format!("{at}.Condition"))?,
    };
    Ok(Statement { effect, actions, resources, principals, conditions })
}

fn kind_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Identity => "identity",
        PolicyKind::Resource => "resource",
        PolicyKind::Trust => "trust",
    }
}

/// The value of `name` or of `Not<name>` (at most one may be present), with whether it was
/// the negated form.
fn either<'a>(
    statement: &'a Map<String, Value>,
    name: &str,
    at: &str,
) -> Result<Option<(&'a Value, bool)>, PolicyError> {
    let not_name = format!("Not{name}");
    match (statement.get(name), statement.get(&not_name)) {
        (Some(_), Some(_)) => Err(PolicyError(format!("{at}: {name} and {not_name} cannot both be present"))),
        (Some(value), None) => Ok(Some((value, false))),
        (None, Some(value)) => Ok(Some((value, true))),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty array of strings.
pub(super) fn string_list<'a>(value: &'a Value, at: &str) -> Result<Vec<&'a str>, PolicyError> {
    let not_strings = || PolicyError(format!("{at}: must be a string or a non-empty array of strings"));
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(list) if !list.is_empty() => list.iter().map(|v| v.as_str().ok_or_else(not_strings)).collect(),
        _ => Err(not_strings()),
    }
}

fn parse_actions((value, negated): (&Value, bool), kind: PolicyKind, at: &str) -> Result<Listed<String>, PolicyError> {
    let name = if negated { "NotAction" } else { "Action" };
    let items = string_list(value, &format!("{at}.{name}"))?
        .into_iter()
        .map(|action| check_action(action, kind, at).map(|()| action.to_lowercase()))
        .collect::<Result<_, _>>()?;
    Ok(Listed { items, negated })
}

fn check_action(action: &str, kind: PolicyKind, at: &str) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let service = match action.split_once(':') {
        Some((service, name))
            if !service.is_empty()
                && !name.is_empty()
                && service.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            service
        }
        _ => return Err(PolicyError(format!("{at}: action {action:?} must be \"*\" or \"<service>:<action>\""))),
    };
    match kind {
        PolicyKind::Resource if !service.eq_ignore_ascii_case("ecr") => {
            Err(PolicyError(format!("{at}: action {action:?} is not an ECR action")))
        }
        PolicyKind::Trust if !service.eq_ignore_ascii_case("sts") => {
            Err(PolicyError(format!("{at}: action {action:?} is not an STS action")))
        }
        _ => Ok(()),
    }
}

fn parse_resources((value, negated): (&Value, bool), at: &str) -> Result<Listed<String>, PolicyError> {
    let name = if negated { "NotResource" } else { "Resource" };
    let items = string_list(value, &format!("{at}.{name}"))?
        .into_iter()
        .map(|resource| {
            if resource == "*" || resource.starts_with("arn:") {
                Ok(resource.to_owned())
            } else {
                Err(PolicyError(format!("{at}: resource {resource:?} must be \"*\" or an ARN")))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Listed { items, negated })
}
