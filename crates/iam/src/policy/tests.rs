use std::collections::BTreeMap;
use std::sync::Arc;

use time::macros::datetime;

use super::{Context, Decision, Policy, PolicyKind, Request, evaluate};
use crate::Principal;

const A: &str = "111111111111";
const B: &str = "222222222222";
const REPO: &str = "arn:aws:ecr:us-east-1:111111111111:repository/team-a/app";
const PULL: &str = "ecr:BatchGetImage";

use PolicyKind::{Identity, Resource, Trust};

#[test]
fn parse_errors() {
    // (kind, document, a fragment the error message must contain)
    let cases: &[(PolicyKind, &str, &str)] = &[
        (Identity, "{", "policy is not valid JSON"),
        (Identity, "[]", "must be a JSON object"),
        (Identity, r#"{"Version":"2012-10-18","Statement":[]}"#, "Version must be"),
        (Identity, r#"{"Version":2012,"Statement":[]}"#, "Version must be"),
        (Identity, r#"{"Id":7,"Statement":{}}"#, "Id must be a string"),
        (Identity, r#"{"Statment":[]}"#, "unknown top-level key \"Statment\""),
        (Identity, r#"{"Version":"2012-10-17"}"#, "Statement is required"),
        (Identity, r#"{"Statement":[]}"#, "Statement must not be an empty array"),
        (Identity, r#"{"Statement":["x"]}"#, "Statement[0] must be an object"),
        (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Sid":1}]}"#, "Sid must be a string"),
        (
            Identity,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Permit","Action":"*","Resource":"*"}]}"#,
            r#"Statement[1]: Effect must be "Allow" or "Deny", not "Permit""#,
        ),
        (Identity, r#"{"Statement":{"Action":"*","Resource":"*"}}"#, "Effect is required"),
        (
            Identity,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Actions":"x"}}"#,
            "unknown key \"Actions\"",
        ),
        (Identity, r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#, "Action or NotAction is required"),
        (
            Identity,
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"ecr:*","Resource":"*"}}"#,
            "Action and NotAction cannot both be present",
        ),
        (
            Identity,
            r#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#,
            "Action: must be a string or a non-empty array",
        ),
        (Identity, r#"{"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}"#, "Action: must be a string"),
        (Identity, r#"{"Statement":{"Effect":"Allow","Action":"ecr","Resource":"*"}}"#, r#"action "ecr" must be"#),
        (Identity, r#"{"Statement":{"Effect":"Allow","Action":"ecr:","Resource":"*"}}"#, r#"action "ecr:" must be"#),
        (Identity, r#"{"Statement":{"Effect":"Allow","Action":"e_r:Get","Resource":"*"}}"#, r#"action "e_r:Get""#),
        (Identity, r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#, "Resource or NotResource is required"),
        (
            Identity,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}"#,
            "Resource and NotResource cannot both be present",
        ),
        (
            Identity,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"repo/x"}}"#,
            r#"resource "repo/x" must be"#,
        ),
        (
            Identity,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
            "not allowed in an identity policy",
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Principal":"*"}}"#,
            r#"Statement[0]: action "s3:GetObject" is not an ECR action"#,
        ),
        (Resource, r#"{"Statement":{"Effect":"Allow","Action":"ecr:*"}}"#, "Principal or NotPrincipal is required"),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":"*","NotPrincipal":"*"}}"#,
            "Principal and NotPrincipal cannot both be present",
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":"alice"}}"#,
            "Principal: must be \"*\"",
        ),
        (Resource, r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{}}}"#, "Principal: must be \"*\""),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"IAM":"*"}}}"#,
            r#"unknown principal type "IAM""#,
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"12345"}}}"#,
            r#"invalid AWS principal "12345""#,
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"arn:aws:iam::111111111111:group/g"}}}"#,
            r#"invalid AWS principal "arn:aws:iam::111111111111:group/g""#,
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"arn:aws:iam::111111111111:user/*"}}}"#,
            "invalid AWS principal",
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/ci"}}}"#,
            "invalid AWS principal",
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":[]}}}"#,
            "Principal.AWS: must be",
        ),
        (
            Trust,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Principal":"*"}}"#,
            "is not an STS action",
        ),
        (
            Trust,
            r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
            "Principal or NotPrincipal is required in a trust policy",
        ),
        (Identity, &cond(r#""oops""#), "Condition: must be an object of operators"),
        (Identity, &cond(r#"{"StringEqual":{"aws:username":"a"}}"#), r#"unknown operator "StringEqual""#),
        (Identity, &cond(r#"{"NullIfExists":{"aws:username":"true"}}"#), r#"unknown operator "NullIfExists""#),
        (Identity, &cond(r#"{"ForAnyValue:Null":{"aws:username":"true"}}"#), r#"unknown operator "ForAnyValue:Null""#),
        (Identity, &cond(r#"{"BinaryEquals":{"k":"AAAA"}}"#), "binary conditions are not supported"),
        (Identity, &cond(r#"{"StringEquals":{}}"#), "must be a non-empty object of condition keys"),
        (Identity, &cond(r#"{"StringEquals":{"aws:username":[]}}"#), "must list at least one value"),
        (
            Identity,
            &cond(r#"{"StringEquals":{"aws:username":{"a":1}}}"#),
            "values must be strings, numbers or booleans",
        ),
        (
            Identity,
            &cond(r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}"#),
            r#""10.0.0.0/33" is not an IP address or CIDR"#,
        ),
        (Identity, &cond(r#"{"IpAddress":{"aws:SourceIp":"localhost"}}"#), "is not an IP address"),
        (Identity, &cond(r#"{"DateLessThan":{"aws:CurrentTime":"next tuesday"}}"#), "is not an ISO 8601 date"),
        (Identity, &cond(r#"{"DateLessThan":{"aws:CurrentTime":"2025-13-01"}}"#), "is not an ISO 8601 date"),
        (Identity, &cond(r#"{"NumericLessThan":{"aws:EpochTime":"ten"}}"#), r#""ten" is not a number"#),
        (Identity, &cond(r#"{"NumericEquals":{"aws:EpochTime":"NaN"}}"#), "is not a number"),
        (Identity, &cond(r#"{"Bool":{"aws:SecureTransport":"yes"}}"#), r#""yes" is not "true" or "false""#),
        (Identity, &cond(r#"{"Null":{"aws:username":"maybe"}}"#), "is not \"true\" or \"false\""),
        (Identity, &cond(r#"{"ArnLike":{"aws:PrincipalArn":"role/*"}}"#), r#""role/*" is not an ARN"#),
    ];
    for (kind, text, expected) in cases {
        match Policy::parse(text, *kind) {
            Ok(_) => panic!("{kind:?} policy {text} parsed, expected an error containing {expected:?}"),
            Err(e) => assert!(e.to_string().contains(expected), "{text}\n  error {e:?}\n  lacks {expected:?}"),
        }
    }
}

/// An identity policy allowing everything under `condition`.
fn cond(condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}}}"#
    )
}

#[test]
fn parse_accepts() {
    let cases: &[(PolicyKind, &str)] = &[
        (Identity, r#"{"Statement":{"Effect":"Deny","NotAction":["ecr:*","sts:*"],"NotResource":"arn:*"}}"#),
        (
            Identity,
            r#"{"Version":"2008-10-17","Id":"x","Statement":[{"Sid":"s","Effect":"Allow","Action":"ECR:Get*","Resource":["*"]}]}"#,
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":["*","ECR:BatchGetImage"],"Principal":{"AWS":["111111111111","arn:aws:iam::222222222222:root"]}}}"#,
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"Service":"codebuild.amazonaws.com","Federated":["x"],"CanonicalUser":"y"}}}"#,
        ),
        (
            Resource,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","NotPrincipal":{"AWS":"arn:aws:sts::111111111111:assumed-role/ci/build-1"}}}"#,
        ),
        (
            Trust,
            r#"{"Statement":{"Effect":"Allow","Action":["sts:AssumeRole","*"],"Principal":{"AWS":"arn:aws:iam::111111111111:role/path/ci"}}}"#,
        ),
        (
            Identity,
            &cond(
                r#"{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*"]},"foranyvalue:stringequals":{"x":[1,true,"s"]},
                    "IpAddress":{"aws:SourceIp":["10.0.0.1","2001:db8::/32"]},"DateGreaterThan":{"aws:CurrentTime":["2025-01-01","2025-01-01T00:00:00.5+02:00","1735689600"]},
                    "NumericLessThanEqualsIfExists":{"k":["-1.5",3]},"Null":{"k":true}}"#,
            ),
        ),
    ];
    for (kind, text) in cases {
        if let Err(e) = Policy::parse(text, *kind) {
            panic!("{kind:?} policy {text} refused: {e}");
        }
    }
}

/// The request every condition case starts from; rows adjust it.
struct Env {
    principal: Principal,
    context: Context,
}

type Adjust = fn(&mut Env);

fn env() -> Env {
    Env {
        principal: Principal::user(A, "alice"),
        context: Context {
            source_ip: Some("10.1.2.3".parse().unwrap()),
            current_time: datetime!(2025-06-01 12:00:00 UTC),
            secure_transport: true,
            resource_tags: BTreeMap::from([("Team".to_owned(), "alpha".to_owned())]),
        },
    }
}

fn ipv6(e: &mut Env) {
    e.context.source_ip = Some("2001:db8::7".parse().unwrap());
}
fn mapped_ipv4(e: &mut Env) {
    e.context.source_ip = Some("::ffff:10.1.2.3".parse().unwrap());
}
fn no_ip(e: &mut Env) {
    e.context.source_ip = None;
}
fn insecure(e: &mut Env) {
    e.context.secure_transport = false;
}
fn untagged(e: &mut Env) {
    e.context.resource_tags.clear();
}
fn root(e: &mut Env) {
    e.principal = Principal::root(A);
}
fn session(e: &mut Env) {
    e.principal = Principal::assumed_role(A, "ci", "build-7");
}
fn numeric_tag(e: &mut Env) {
    e.context.resource_tags.insert("size".to_owned(), "42".to_owned());
}

#[test]
fn conditions() {
    let same = |_: &mut Env| {};
    // (Condition element, adjustment of the default request, whether the condition holds)
    let cases: &[(&str, Adjust, bool)] = &[
        // String operators; keys are case-insensitive.
        (r#"{"StringEquals":{"aws:username":"alice"}}"#, same, true),
        (r#"{"StringEquals":{"AWS:USERNAME":["bob","alice"]}}"#, same, true),
        (r#"{"StringEquals":{"aws:username":"Alice"}}"#, same, false),
        (r#"{"StringEquals":{"aws:username":"alice"}}"#, root, false),
        (r#"{"StringNotEquals":{"aws:username":["bob","carol"]}}"#, same, true),
        (r#"{"StringNotEquals":{"aws:username":["bob","alice"]}}"#, same, false),
        (r#"{"StringNotEquals":{"aws:username":"bob"}}"#, root, true),
        (r#"{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}"#, same, true),
        (r#"{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}"#, same, false),
        (r#"{"StringLike":{"aws:username":"al*"}}"#, same, true),
        (r#"{"StringLike":{"aws:username":"a?ice"}}"#, same, true),
        (r#"{"StringLike":{"aws:username":"b*"}}"#, same, false),
        (r#"{"StringNotLike":{"aws:username":"b*"}}"#, same, true),
        (r#"{"StringNotLike":{"aws:username":["b*","a*"]}}"#, same, false),
        (r#"{"StringEquals":{"aws:PrincipalType":"User"}}"#, same, true),
        (r#"{"StringEquals":{"aws:PrincipalType":"Account"}}"#, root, true),
        (r#"{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}"#, session, true),
        (r#"{"StringEquals":{"aws:PrincipalAccount":"111111111111"}}"#, same, true),
        (r#"{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}"#, same, false),
        // Absent keys, IfExists and unknown keys.
        (r#"{"StringEquals":{"aws:userid":"x"}}"#, same, false),
        (r#"{"StringEqualsIfExists":{"aws:username":"bob"}}"#, root, true),
        (r#"{"StringEqualsIfExists":{"aws:username":"bob"}}"#, same, false),
        (r#"{"StringNotEqualsIfExists":{"aws:username":"bob"}}"#, same, true),
        // Null.
        (r#"{"Null":{"aws:username":"true"}}"#, root, true),
        (r#"{"Null":{"aws:username":"true"}}"#, same, false),
        (r#"{"Null":{"aws:username":false}}"#, same, true),
        (r#"{"Null":{"aws:SourceIp":"false"}}"#, no_ip, false),
        // Arn operators compare part by part.
        (r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/c*"}}"#, session, true),
        (r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/ci"}}"#, session, true),
        (r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}"#, same, false),
        (r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}"#, same, true),
        (r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}"#, same, true),
        (r#"{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:user/alice"}}"#, same, false),
        (r#"{"ArnLike":{"aws:username":"arn:*:*:*:*:*"}}"#, same, false),
        // Numeric.
        (r#"{"NumericEquals":{"aws:ResourceTag/size":"42"}}"#, numeric_tag, true),
        (r#"{"NumericEquals":{"aws:ResourceTag/size":42.0}}"#, numeric_tag, true),
        (r#"{"NumericNotEquals":{"aws:ResourceTag/size":[1,2]}}"#, numeric_tag, true),
        (r#"{"NumericLessThan":{"aws:ResourceTag/size":42}}"#, numeric_tag, false),
        (r#"{"NumericLessThanEquals":{"aws:ResourceTag/size":42}}"#, numeric_tag, true),
        (r#"{"NumericGreaterThan":{"aws:ResourceTag/size":"41.5"}}"#, numeric_tag, true),
        (r#"{"NumericGreaterThanEquals":{"aws:ResourceTag/size":43}}"#, numeric_tag, false),
        (r#"{"NumericLessThan":{"aws:ResourceTag/team":100}}"#, same, false),
        (r#"{"NumericLessThan":{"aws:EpochTime":1748780401}}"#, same, true),
        (r#"{"NumericLessThan":{"aws:ResourceTag/size":100}}"#, same, false),
        (r#"{"NumericLessThanIfExists":{"aws:ResourceTag/size":100}}"#, same, true),
        // Dates: ISO 8601 with offsets and fractions, bare dates, epoch seconds.
        (r#"{"DateLessThan":{"aws:CurrentTime":"2025-06-01T12:00:01Z"}}"#, same, true),
        (r#"{"DateLessThan":{"aws:CurrentTime":"2025-06-01T12:00:00Z"}}"#, same, false),
        (r#"{"DateLessThanEquals":{"aws:CurrentTime":"2025-06-01T14:00:00+02:00"}}"#, same, true),
        (r#"{"DateEquals":{"aws:CurrentTime":"1748779200"}}"#, same, true),
        (r#"{"DateNotEquals":{"aws:CurrentTime":"2025-06-01T12:00:00.000Z"}}"#, same, false),
        (r#"{"DateGreaterThan":{"aws:CurrentTime":"2025-06-01"}}"#, same, true),
        (r#"{"DateGreaterThanEquals":{"aws:CurrentTime":"2025-06-02"}}"#, same, false),
        (r#"{"DateGreaterThan":{"aws:EpochTime":"2025-01-01T00:00:00Z"}}"#, same, true),
        (r#"{"StringLike":{"aws:CurrentTime":"2025-06-01T*Z"}}"#, same, true),
        // Bool.
        (r#"{"Bool":{"aws:SecureTransport":"true"}}"#, same, true),
        (r#"{"Bool":{"aws:SecureTransport":true}}"#, insecure, false),
        (r#"{"Bool":{"aws:SecureTransport":"false"}}"#, insecure, true),
        (r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}}"#, same, true),
        // IP addresses, IPv4 and IPv6.
        (r#"{"IpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#, same, true),
        (r#"{"IpAddress":{"aws:SourceIp":["192.168.0.0/16","10.1.2.3"]}}"#, same, true),
        (r#"{"IpAddress":{"aws:SourceIp":"10.2.0.0/16"}}"#, same, false),
        (r#"{"IpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#, mapped_ipv4, true),
        (r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#, ipv6, true),
        (r#"{"IpAddress":{"aws:SourceIp":"2001:db9::/32"}}"#, ipv6, false),
        (r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#, ipv6, false),
        (r#"{"IpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#, no_ip, false),
        (r#"{"NotIpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#, same, false),
        (r#"{"NotIpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#, ipv6, true),
        (r#"{"NotIpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#, no_ip, true),
        (r#"{"IpAddressIfExists":{"aws:SourceIp":"10.9.0.0/16"}}"#, no_ip, true),
        // Resource tags: keys case-insensitive, values not; ecr: alias.
        (r#"{"StringEquals":{"aws:ResourceTag/Team":"alpha"}}"#, same, true),
        (r#"{"StringEquals":{"aws:ResourceTag/team":"alpha"}}"#, same, true),
        (r#"{"StringEquals":{"ecr:ResourceTag/TEAM":"alpha"}}"#, same, true),
        (r#"{"StringEquals":{"aws:ResourceTag/Team":"Alpha"}}"#, same, false),
        (r#"{"StringEquals":{"aws:ResourceTag/Team":"alpha"}}"#, untagged, false),
        (r#"{"StringNotEquals":{"aws:ResourceTag/Team":"alpha"}}"#, untagged, true),
        // Set prefixes over single-valued keys.
        (r#"{"ForAnyValue:StringEquals":{"aws:username":["x","alice"]}}"#, same, true),
        (r#"{"ForAnyValue:StringEquals":{"aws:username":"alice"}}"#, root, false),
        (r#"{"ForAllValues:StringEquals":{"aws:username":"bob"}}"#, root, true),
        (r#"{"ForAllValues:StringEquals":{"aws:username":"bob"}}"#, same, false),
        (r#"{"ForAllValues:StringLike":{"aws:username":"a*"}}"#, same, true),
        (r#"{"ForAnyValue:StringNotEquals":{"aws:username":"alice"}}"#, root, false),
        // Conjunction across operators and keys.
        (
            r#"{"StringEquals":{"aws:username":"alice","aws:PrincipalType":"User"},"Bool":{"aws:SecureTransport":"true"}}"#,
            same,
            true,
        ),
        (r#"{"StringEquals":{"aws:username":"alice","aws:PrincipalType":"Account"}}"#, same, false),
        (r#"{"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}}"#, insecure, false),
    ];
    for (condition, adjust, holds) in cases {
        let mut e = env();
        adjust(&mut e);
        let policy =
            Arc::new(Policy::parse(&cond(condition), Identity).unwrap_or_else(|err| panic!("{condition}: {err}")));
        let request =
            Request { principal: &e.principal, action: PULL, resource: REPO, resource_account: B, context: &e.context };
        // Cross-account against an open repository: the identity policy alone decides,
        // also for root, whose identity side is always allowed.
        let open = Arc::new(
            Policy::parse(r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":"*"}}"#, Resource).unwrap(),
        );
        let decision = if e.principal.is_root() {
            // Root needs no identity policy, so test the condition through a Deny instead.
            let deny = Arc::new(Policy::parse(&cond(condition).replace("Allow", "Deny"), Identity).unwrap());
            evaluate(&request, &[deny], &[open]) == Decision::ExplicitDeny
        } else {
            evaluate(&request, &[policy], &[open]) == Decision::Allow
        };
        assert_eq!(decision, *holds, "condition {condition}");
    }
}

/// One evaluation case.
struct Case {
    name: &'static str,
    principal: Principal,
    action: &'static str,
    resource: &'static str,
    resource_account: &'static str,
    identity: &'static [&'static str],
    /// Resource-side policies; a trust policy when the action is `sts:`.
    resource_policies: &'static [&'static str],
    expected: Decision,
}

const ALLOW_PULL: &str = r#"{"Statement":{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"arn:aws:ecr:*:*:repository/team-a/*"}}"#;
const ALLOW_ALL: &str = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
const DENY_ALL: &str = r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#;
const REPO_TO_ALICE: &str = r#"{"Statement":{"Effect":"Allow","Action":"ecr:BatchGetImage","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"}}}"#;
const REPO_TO_ACCOUNT_A: &str =
    r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"111111111111"}}}"#;
const REPO_TO_ACCOUNT_B: &str =
    r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"arn:aws:iam::222222222222:root"}}}"#;
const REPO_DENY_EVERYONE: &str = r#"{"Statement":{"Effect":"Deny","Action":"ecr:*","Principal":"*"}}"#;

fn cases() -> Vec<Case> {
    let alice = || Principal::user(A, "alice");
    let bob_b = || Principal::user(B, "bob");
    let case = |name, principal, identity, resource_policies, expected| Case {
        name,
        principal,
        action: PULL,
        resource: REPO,
        resource_account: A,
        identity,
        resource_policies,
        expected,
    };
    use Decision::{Allow, ExplicitDeny, ImplicitDeny};
    vec![
        case("same account, identity only", alice(), &[ALLOW_PULL], &[], Allow),
        case("same account, no policies", alice(), &[], &[], ImplicitDeny),
        case("same account, repository policy names the user", alice(), &[], &[REPO_TO_ALICE], Allow),
        case("repository policy names another user", Principal::user(A, "carol"), &[], &[REPO_TO_ALICE], ImplicitDeny),
        case("account principal without identity allow", alice(), &[], &[REPO_TO_ACCOUNT_A], ImplicitDeny),
        case("account principal with identity allow", alice(), &[ALLOW_PULL], &[REPO_TO_ACCOUNT_A], Allow),
        case("account principal, root of that account", Principal::root(A), &[], &[REPO_TO_ACCOUNT_A], Allow),
        case("cross-account, resource policy only", bob_b(), &[], &[REPO_TO_ACCOUNT_B], ImplicitDeny),
        case("cross-account, identity only", bob_b(), &[ALLOW_PULL], &[], ImplicitDeny),
        case("cross-account, both", bob_b(), &[ALLOW_PULL], &[REPO_TO_ACCOUNT_B], Allow),
        case("cross-account, grant to another account", bob_b(), &[ALLOW_PULL], &[REPO_TO_ACCOUNT_A], ImplicitDeny),
        case(
            "cross-account, grant to everyone",
            bob_b(),
            &[ALLOW_PULL],
            &[r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":"*"}}"#],
            Allow,
        ),
        case("identity deny beats repository allow", alice(), &[DENY_ALL], &[REPO_TO_ALICE], ExplicitDeny),
        case("identity deny beats identity allow", alice(), &[ALLOW_PULL, DENY_ALL], &[], ExplicitDeny),
        case("repository deny beats root", Principal::root(A), &[], &[REPO_DENY_EVERYONE], ExplicitDeny),
        case(
            "repository deny of the account covers its users",
            alice(),
            &[ALLOW_PULL],
            &[r#"{"Statement":{"Effect":"Deny","Action":"ecr:*","Principal":{"AWS":"111111111111"}}}"#],
            ExplicitDeny,
        ),
        case("root in own account, no policies", Principal::root(A), &[], &[], Allow),
        case("root cross-account, no resource policy", Principal::root(B), &[], &[], ImplicitDeny),
        case("root cross-account, resource allow", Principal::root(B), &[], &[REPO_TO_ACCOUNT_B], Allow),
        case(
            "assumed role matched by role ARN",
            Principal::assumed_role(A, "ci", "build-7"),
            &[],
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"arn:aws:iam::111111111111:role/ci"}}}"#,
            ],
            Allow,
        ),
        case(
            "assumed role matched by its session ARN",
            Principal::assumed_role(A, "ci", "build-7"),
            &[],
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/ci/build-7"}}}"#,
            ],
            Allow,
        ),
        case(
            "other session of the role",
            Principal::assumed_role(A, "ci", "build-8"),
            &[],
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/ci/build-7"}}}"#,
            ],
            ImplicitDeny,
        ),
        case(
            "role ARN does not match a user of that name",
            Principal::user(A, "ci"),
            &[],
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"AWS":"arn:aws:iam::111111111111:role/ci"}}}"#,
            ],
            ImplicitDeny,
        ),
        case("user ARN of another account", Principal::user(B, "alice"), &[ALLOW_PULL], &[REPO_TO_ALICE], ImplicitDeny),
        case(
            "service principals never match",
            alice(),
            &[],
            &[r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":{"Service":"codebuild.amazonaws.com"}}}"#],
            ImplicitDeny,
        ),
        case(
            "NotPrincipal excludes the named user",
            alice(),
            &[],
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/alice"}}}"#,
            ],
            ImplicitDeny,
        ),
        case(
            "NotPrincipal admits others",
            Principal::user(A, "carol"),
            &[],
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/alice"}}}"#,
            ],
            Allow,
        ),
        case(
            "NotPrincipal deny spares the named account",
            alice(),
            &[ALLOW_PULL],
            &[r#"{"Statement":{"Effect":"Deny","Action":"ecr:*","NotPrincipal":{"AWS":"111111111111"}}}"#],
            Allow,
        ),
        case(
            "NotAction allow excludes the action",
            alice(),
            &[r#"{"Statement":{"Effect":"Allow","NotAction":"ecr:BatchGetImage","Resource":"*"}}"#],
            &[],
            ImplicitDeny,
        ),
        case(
            "NotAction allow covers other actions",
            alice(),
            &[r#"{"Statement":{"Effect":"Allow","NotAction":["ecr:PutImage","ecr:Delete*"],"Resource":"*"}}"#],
            &[],
            Allow,
        ),
        case(
            "NotAction deny leaves the action alone",
            alice(),
            &[ALLOW_PULL, r#"{"Statement":{"Effect":"Deny","NotAction":"ecr:BatchGetImage","Resource":"*"}}"#],
            &[],
            Allow,
        ),
        case(
            "NotResource allow excludes the repository",
            alice(),
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","NotResource":"arn:aws:ecr:*:*:repository/team-a/*"}}"#,
            ],
            &[],
            ImplicitDeny,
        ),
        case(
            "NotResource allow covers other repositories",
            alice(),
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","NotResource":"arn:aws:ecr:*:*:repository/team-b/*"}}"#,
            ],
            &[],
            Allow,
        ),
        case(
            "action match ignores case",
            alice(),
            &[r#"{"Statement":{"Effect":"Allow","Action":"ECR:batchgetIMAGE","Resource":"*"}}"#],
            &[],
            Allow,
        ),
        case(
            "action wildcard",
            alice(),
            &[r#"{"Statement":{"Effect":"Allow","Action":"ecr:BatchGet*","Resource":"*"}}"#],
            &[],
            Allow,
        ),
        case(
            "action wildcard of another verb",
            alice(),
            &[r#"{"Statement":{"Effect":"Allow","Action":"ecr:Put*","Resource":"*"}}"#],
            &[],
            ImplicitDeny,
        ),
        case(
            "resource ARN is case-sensitive",
            alice(),
            &[r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:*:repository/Team-A/*"}}"#],
            &[],
            ImplicitDeny,
        ),
        case(
            "repository policy condition on aws:PrincipalArn with ArnLike",
            Principal::assumed_role(A, "ci", "build-7"),
            &[],
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/c?"}}}}"#,
            ],
            Allow,
        ),
        case(
            "repository policy condition on aws:ResourceTag",
            alice(),
            &[],
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Principal":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}}"#,
            ],
            ImplicitDeny,
        ),
        case(
            "deny outside the office network",
            alice(),
            &[
                ALLOW_PULL,
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}}"#,
            ],
            &[],
            ExplicitDeny,
        ),
        case(
            "deny without TLS, request over TLS",
            alice(),
            &[
                ALLOW_PULL,
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}"#,
            ],
            &[],
            Allow,
        ),
        case(
            "allow that expired",
            alice(),
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}}}"#,
            ],
            &[],
            ImplicitDeny,
        ),
        case(
            "allow until later",
            alice(),
            &[
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}}}"#,
            ],
            &[],
            Allow,
        ),
        case(
            "statements of several policies combine",
            bob_b(),
            &[ALLOW_ALL],
            &[r#"{"Statement":[{"Effect":"Allow","Action":"ecr:PutImage","Principal":"*"}]}"#, REPO_TO_ACCOUNT_B],
            Allow,
        ),
        Case {
            name: "resource * for a registry-wide action",
            action: "ecr:GetAuthorizationToken",
            resource: "*",
            ..case(
                "",
                alice(),
                &[r#"{"Statement":{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}}"#],
                &[],
                Allow,
            )
        },
        Case {
            name: "ARN pattern never matches resource *",
            action: "ecr:GetAuthorizationToken",
            resource: "*",
            ..case(
                "",
                alice(),
                &[r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:*"}}"#],
                &[],
                ImplicitDeny,
            )
        },
        Case {
            name: "NotResource ARN matches resource *",
            action: "ecr:GetAuthorizationToken",
            resource: "*",
            ..case("", alice(), &[r#"{"Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:*"}}"#], &[], Allow)
        },
        Case {
            name: "trust policy admits the named account's user with identity allow",
            action: "sts:AssumeRole",
            resource: "arn:aws:iam::111111111111:role/ci",
            ..case(
                "",
                bob_b(),
                &[
                    r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111111111111:role/*"}}"#,
                ],
                &[r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"222222222222"}}}"#],
                Allow,
            )
        },
        Case {
            name: "trust policy naming the account needs the user's identity allow",
            action: "sts:AssumeRole",
            resource: "arn:aws:iam::111111111111:role/ci",
            ..case(
                "",
                alice(),
                &[],
                &[r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"111111111111"}}}"#],
                ImplicitDeny,
            )
        },
        Case {
            name: "trust policy naming the user directly",
            action: "sts:AssumeRole",
            resource: "arn:aws:iam::111111111111:role/ci",
            ..case(
                "",
                alice(),
                &[],
                &[
                    r#"{"Statement":{"Effect":"Allow","Action":"sts:*","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"}}}"#,
                ],
                Allow,
            )
        },
        Case {
            name: "trust policy naming someone else binds a same-account caller its identity allows",
            action: "sts:AssumeRole",
            resource: "arn:aws:iam::111111111111:role/ci",
            ..case(
                "",
                alice(),
                &[r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#],
                &[
                    r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::111111111111:user/ci"}}}"#,
                ],
                ImplicitDeny,
            )
        },
        Case {
            name: "trust policy naming the account, with identity allow",
            action: "sts:AssumeRole",
            resource: "arn:aws:iam::111111111111:role/ci",
            ..case(
                "",
                alice(),
                &[r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}"#],
                &[r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"111111111111"}}}"#],
                Allow,
            )
        },
        Case {
            name: "trust policy admitting only another account binds the root too",
            action: "sts:AssumeRole",
            resource: "arn:aws:iam::111111111111:role/ci",
            ..case(
                "",
                Principal::root("111111111111"),
                &[],
                &[r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"222222222222"}}}"#],
                ImplicitDeny,
            )
        },
    ]
}

#[test]
fn evaluation() {
    let context = env().context;
    for case in cases() {
        let parse =
            |text: &&str, kind| Arc::new(Policy::parse(text, kind).unwrap_or_else(|e| panic!("{}: {e}", case.name)));
        let resource_kind = if case.action.starts_with("sts:") { Trust } else { Resource };
        let identity: Vec<_> = case.identity.iter().map(|t| parse(t, Identity)).collect();
        let resource: Vec<_> = case.resource_policies.iter().map(|t| parse(t, resource_kind)).collect();
        let request = Request {
            principal: &case.principal,
            action: case.action,
            resource: case.resource,
            resource_account: case.resource_account,
            context: &context,
        };
        assert_eq!(evaluate(&request, &identity, &resource), case.expected, "{}", case.name);
    }
}

#[test]
fn knows_when_it_reads_resource_tags() {
    let with = r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"StringEquals":{"ecr:ResourceTag/env":"prod"}}}}"#;
    let without = r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#;
    assert!(Policy::parse(with, Identity).unwrap().reads_resource_tags());
    assert!(!Policy::parse(without, Identity).unwrap().reads_resource_tags());
}
