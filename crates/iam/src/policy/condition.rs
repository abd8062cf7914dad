//! The `Condition` element: operators with their values parsed once, the context keys
//! this registry supplies, and the AWS rules for absent keys, negation and `IfExists`.

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use super::{PolicyError, Request};
use crate::PrincipalKind;
use crate::wildcard;

/// One operator applied to one key, e.g. `"StringLike": {"aws:PrincipalArn": [...]}`.
/// A `Condition` element is the conjunction of all of these.
#[derive(Debug, Clone)]
pub(super) struct Condition {
    key: Key,
    test: Test,
    /// For the `Not` operators: the key's value must match none of the listed values.
    negated: bool,
    /// The outcome when the request has no value for the key, settled at parse time from
    /// the operator (`IfExists`, set prefix, negation, `Null`).
    when_absent: bool,
}

impl Condition {
    /// Whether the condition reads a resource tag (so the caller must load them).
    pub(super) fn reads_resource_tags(&self) -> bool {
        matches!(self.key, Key::ResourceTag(_))
    }
}

/// The context keys this registry knows; any other key is always absent.
#[derive(Debug, Clone)]
enum Key {
    PrincipalAccount,
    PrincipalArn,
    PrincipalType,
    Username,
    SourceIp,
    CurrentTime,
    EpochTime,
    SecureTransport,
    /// `aws:ResourceTag/<key>` or `ecr:ResourceTag/<key>`.
    ResourceTag(String),
    Unknown,
}

/// What the key's value is compared with: true if it matches any of the listed values.
#[derive(Debug, Clone)]
enum Test {
    Equals(Vec<String>),
    EqualsIgnoreCase(Vec<String>),
    Like(Vec<String>),
    /// ARNs compared part by part, each part a wildcard pattern.
    Arn(Vec<String>),
    Numeric(Cmp, Vec<f64>),
    Date(Cmp, Vec<OffsetDateTime>),
    Bool(Vec<bool>),
    Ip(Vec<IpNet>),
    /// `Null`: the listed "key is absent" expectations.
    Null(Vec<bool>),
}

/// How the request's value relates to the policy's: `request <op> policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The operator families, before their values are parsed.
#[derive(Debug, Clone, Copy)]
enum Family {
    Equals,
    EqualsIgnoreCase,
    Like,
    Arn,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Null,
}

/// Base operator names (without `IfExists` or a set prefix), their family, and whether
/// they are the negated form.
const OPERATORS: &[(&str, Family, bool)] = &[
    ("StringEquals", Family::Equals, false),
    ("StringNotEquals", Family::Equals, true),
    ("StringEqualsIgnoreCase", Family::EqualsIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Family::EqualsIgnoreCase, true),
    ("StringLike", Family::Like, false),
    ("StringNotLike", Family::Like, true),
    // AWS gives ArnEquals the same wildcard semantics as ArnLike.
    ("ArnEquals", Family::Arn, false),
    ("ArnNotEquals", Family::Arn, true),
    ("ArnLike", Family::Arn, false),
    ("ArnNotLike", Family::Arn, true),
    ("NumericEquals", Family::Numeric(Cmp::Eq), false),
    ("NumericNotEquals", Family::Numeric(Cmp::Eq), true),
    ("NumericLessThan", Family::Numeric(Cmp::Lt), false),
    ("NumericLessThanEquals", Family::Numeric(Cmp::Le), false),
    ("NumericGreaterThan", Family::Numeric(Cmp::Gt), false),
    ("NumericGreaterThanEquals", Family::Numeric(Cmp::Ge), false),
    ("DateEquals", Family::Date(Cmp::Eq), false),
    ("DateNotEquals", Family::Date(Cmp::Eq), true),
    ("DateLessThan", Family::Date(Cmp::Lt), false),
    ("DateLessThanEquals", Family::Date(Cmp::Le), false),
    ("DateGreaterThan", Family::Date(Cmp::Gt), false),
    ("DateGreaterThanEquals", Family::Date(Cmp::Ge), false),
    ("Bool", Family::Bool, false),
    ("BinaryEquals", Family::Binary, false),
    ("IpAddress", Family::Ip, false),
    ("NotIpAddress", Family::Ip, true),
    ("Null", Family::Null, false),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetPrefix {
    None,
    ForAnyValue,
    ForAllValues,
}

/// An operator name taken apart.
struct Operator {
    family: Family,
    negated: bool,
    if_exists: bool,
    set: SetPrefix,
}

/// Parses a `Condition` element; `at` names it for error messages.
pub(super) fn parse(value: &Value, at: &str) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(operators) = value else {
        return Err(PolicyError(format!("{at}: must be an object of operators")));
    };
    let mut conditions = Vec::new();
    for (name, keys) in operators {
        let operator = parse_operator(name).ok_or_else(|| PolicyError(format!("{at}: unknown operator {name:?}")))?;
        let keys = match keys {
            Value::Object(keys) if !keys.is_empty() => keys,
            _ => return Err(PolicyError(format!("{at}.{name}: must be a non-empty object of condition keys"))),
        };
        for (key, values) in keys {
            let at = format!("{at}.{name}.{key}");
            let test = parse_test(operator.family, &values_of(values, &at)?, &at)?;
            conditions.push(Condition {
                key: parse_key(key),
                when_absent: when_absent(&operator, &test),
                test,
                negated: operator.negated,
            });
        }
    }
    Ok(conditions)
}

fn parse_operator(name: &str) -> Option<Operator> {
    let (set, rest) = if let Some(rest) = strip_prefix_ignore_case(name, "ForAnyValue:") {
        (SetPrefix::ForAnyValue, rest)
    } else if let Some(rest) = strip_prefix_ignore_case(name, "ForAllValues:") {
        (SetPrefix::ForAllValues, rest)
    } else {
        (SetPrefix::None, name)
    };
    let (base, if_exists) = match rest.len().checked_sub("IfExists".len()) {
        Some(cut) if rest.is_char_boundary(cut) && rest[cut..].eq_ignore_ascii_case("IfExists") => (&rest[..cut], true),
        _ => (rest, false),
    };
    let &(_, family, negated) = OPERATORS.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(base))?;
    // `Null` is itself the test for absence, so it takes neither modifier.
    if matches!(family, Family::Null) && (if_exists || set != SetPrefix::None) {
        return None;
    }
    Some(Operator { family, negated, if_exists, set })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// The AWS rules for a key the request does not carry.
fn when_absent(operator: &Operator, test: &Test) -> bool {
    match (test, operator.set) {
        (Test::Null(expect_absent), _) => expect_absent.contains(&true),
        _ if operator.if_exists => true,
        // An absent key is an empty set: all of its (no) values qualify, and none does.
        (_, SetPrefix::ForAllValues) => true,
        (_, SetPrefix::ForAnyValue) => false,
        (_, SetPrefix::None) => operator.negated,
    }
}

/// A condition key's values as strings: a scalar or a non-empty array of scalars.
fn values_of(value: &Value, at: &str) -> Result<Vec<String>, PolicyError> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(PolicyError(format!("{at}: values must be strings, numbers or booleans"))),
    };
    match value {
        Value::Array(list) if list.is_empty() => Err(PolicyError(format!("{at}: must list at least one value"))),
        Value::Array(list) => list.iter().map(scalar).collect(),
        one => Ok(vec![scalar(one)?]),
    }
}

fn parse_key(key: &str) -> Key {
    let key = key.to_lowercase();
    if let Some(tag) = key.strip_prefix("aws:resourcetag/").or_else(|| key.strip_prefix("ecr:resourcetag/")) {
        return Key::ResourceTag(tag.to_owned());
    }
    match key.as_str() {
        "aws:principalaccount" => Key::PrincipalAccount,
        "aws:principalarn" => Key::PrincipalArn,
        "aws:principaltype" => Key::PrincipalType,
        "aws:username" => Key::Username,
        "aws:sourceip" => Key::SourceIp,
        "aws:currenttime" => Key::CurrentTime,
        "aws:epochtime" => Key::EpochTime,
        "aws:securetransport" => Key::SecureTransport,
        _ => Key::Unknown,
    }
}

fn parse_test(family: Family, values: &[String], at: &str) -> Result<Test, PolicyError> {
    Ok(match family {
        Family::Equals => Test::Equals(values.to_vec()),
        Family::EqualsIgnoreCase => Test::EqualsIgnoreCase(values.to_vec()),
        Family::Like => Test::Like(values.to_vec()),
        Family::Arn => Test::Arn(each(values, at, "an ARN", parse_arn)?),
        Family::Numeric(cmp) => Test::Numeric(cmp, each(values, at, "a number", parse_number)?),
        Family::Date(cmp) => Test::Date(cmp, each(values, at, "an ISO 8601 date or epoch seconds", parse_date)?),
        Family::Bool => Test::Bool(each(values, at, "\"true\" or \"false\"", parse_bool)?),
        Family::Null => Test::Null(each(values, at, "\"true\" or \"false\"", parse_bool)?),
        Family::Ip => Test::Ip(each(values, at, "an IP address or CIDR block", parse_net)?),
        // No context key of this registry carries binary data.
        Family::Binary => return Err(PolicyError(format!("{at}: binary conditions are not supported"))),
    })
}

/// Parses every value with `parse`, naming the first that is not `what`.
fn each<T>(values: &[String], at: &str, what: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, PolicyError> {
    values.iter().map(|v| parse(v).ok_or_else(|| PolicyError(format!("{at}: {v:?} is not {what}")))).collect()
}

/// All six parts must be there for [`arn_matches`] to compare part by part.
fn parse_arn(s: &str) -> Option<String> {
    (s.starts_with("arn:") && s.splitn(6, ':').count() == 6).then(|| s.to_owned())
}

fn parse_number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// ISO 8601 date-time (RFC 3339 profile), a bare date (midnight UTC), or epoch seconds.
fn parse_date(s: &str) -> Option<OffsetDateTime> {
    let epoch = s.strip_prefix('-').unwrap_or(s);
    if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) {
        return OffsetDateTime::from_unix_timestamp(s.parse().ok()?).ok();
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let date = Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc())
}

/// The value of a context key for one request.
enum KeyValue<'a> {
    Text(Cow<'a, str>),
    Ip(IpAddr),
    Time(OffsetDateTime),
    Epoch(i64),
    Bool(bool),
}

impl Condition {
    pub(super) fn holds(&self, request: &Request<'_>) -> bool {
        match lookup(&self.key, request) {
            None => self.when_absent,
            Some(value) => self.test.matches_any(&value) != self.negated,
        }
    }
}

fn lookup<'a>(key: &Key, request: &Request<'a>) -> Option<KeyValue<'a>> {
    let principal = request.principal;
    let context = request.context;
    Some(match key {
        Key::PrincipalAccount => KeyValue::Text(Cow::Borrowed(&principal.account)),
        Key::PrincipalArn => KeyValue::Text(Cow::Owned(principal.policy_arn())),
        Key::PrincipalType => KeyValue::Text(Cow::Borrowed(match principal.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::User { .. } => "User",
            PrincipalKind::AssumedRole { .. } => "AssumedRole",
        })),
        Key::Username => match &principal.kind {
            PrincipalKind::User { name } => KeyValue::Text(Cow::Borrowed(name)),
            _ => return None,
        },
        Key::SourceIp => KeyValue::Ip(context.source_ip?),
        Key::CurrentTime => KeyValue::Time(context.current_time),
        Key::EpochTime => KeyValue::Epoch(context.current_time.unix_timestamp()),
        Key::SecureTransport => KeyValue::Bool(context.secure_transport),
        // Tag keys match regardless of case; their values do not.
        Key::ResourceTag(tag) => {
            let (_, value) = context.resource_tags.iter().find(|(k, _)| eq_ignore_case(k, tag))?;
            KeyValue::Text(Cow::Borrowed(value))
        }
        Key::Unknown => return None,
    })
}

/// Case-insensitive string equality without allocating.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

impl Test {
    /// Whether `value` matches at least one of the listed values. A value that cannot be
    /// read as the operator's type (a tag "abc" under `NumericLessThan`) matches none.
    fn matches_any(&self, value: &KeyValue<'_>) -> bool {
        match self {
            Test::Equals(list) => value.text().is_some_and(|v| list.iter().any(|p| *p == *v)),
            Test::EqualsIgnoreCase(list) => value.text().is_some_and(|v| list.iter().any(|p| eq_ignore_case(p, &v))),
            Test::Like(list) => value.text().is_some_and(|v| list.iter().any(|p| wildcard::matches(p, &v))),
            Test::Arn(list) => value.text().is_some_and(|v| list.iter().any(|p| arn_matches(p, &v))),
            Test::Numeric(cmp, list) => value.number().is_some_and(|v| list.iter().any(|p| cmp.holds(v, *p))),
            Test::Date(cmp, list) => value.time().is_some_and(|v| list.iter().any(|p| cmp.holds(v, *p))),
            Test::Bool(list) => value.boolean().is_some_and(|v| list.contains(&v)),
            Test::Ip(list) => value.ip().is_some_and(|v| list.iter().any(|net| net.contains(&v))),
            // Present: holds where the policy expects "not absent".
            Test::Null(list) => list.contains(&false),
        }
    }
}

impl Cmp {
    fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// ARN comparison part by part (`arn:partition:service:region:account:resource`), so a
/// wildcard never spans a `:` outside the resource part.
fn arn_matches(pattern: &str, arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    pattern.splitn(6, ':').all(|p| parts.next().is_some_and(|part| wildcard::matches(p, part)))
}

impl KeyValue<'_> {
    fn text(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            KeyValue::Text(s) => Cow::Borrowed(s.as_ref()),
            KeyValue::Ip(ip) => Cow::Owned(ip.to_string()),
            KeyValue::Time(t) => Cow::Owned(t.to_offset(UtcOffset::UTC).format(&Rfc3339).ok()?),
            KeyValue::Epoch(n) => Cow::Owned(n.to_string()),
            KeyValue::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        })
    }

    fn number(&self) -> Option<f64> {
        match self {
            // Epoch seconds fit an f64 exactly for any plausible clock.
            KeyValue::Epoch(n) => Some(*n as f64),
            KeyValue::Text(s) => parse_number(s),
            _ => None,
        }
    }

    fn time(&self) -> Option<OffsetDateTime> {
        match self {
            KeyValue::Time(t) => Some(*t),
            KeyValue::Epoch(n) => OffsetDateTime::from_unix_timestamp(*n).ok(),
            KeyValue::Text(s) => parse_date(s),
            _ => None,
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self {
            KeyValue::Bool(b) => Some(*b),
            KeyValue::Text(s) => parse_bool(s),
            _ => None,
        }
    }

    fn ip(&self) -> Option<IpAddr> {
        match self {
            // An IPv4 client seen on a dual-stack socket must still match IPv4 CIDRs.
            KeyValue::Ip(ip) => Some(ip.to_canonical()),
            KeyValue::Text(s) => s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical()),
            _ => None,
        }
    }
}
