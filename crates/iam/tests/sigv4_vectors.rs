//! SigV4 against known signatures: vectors from the AWS SigV4 test suite, and requests signed
//! by botocore 1.43 (`SigV4Auth`, `SigV4QueryAuth`) with fixed times, as the AWS CLI and
//! boto3 would send them. Then round trips through `sign`, tampering, clocks and malformed input.

use time::OffsetDateTime;
use time::macros::datetime;
use wharf_iam::sigv4::{self, HttpRequest, Scope, SigError};

const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_TIME: OffsetDateTime = datetime!(2015-08-30 12:36:00 UTC);
const BOTO_TIME: OffsetDateTime = datetime!(2025-03-14 09:26:53 UTC);
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE/token+with=chars";
const ECR_TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";

fn request<'a>(method: &'a str, path: &'a str, query: &'a str, headers: &'a [(&'a str, &'a str)]) -> HttpRequest<'a> {
    HttpRequest { method, path, query, headers }
}

fn verify_at(req: &HttpRequest<'_>, body_sha256: &str, secret: &str, now: OffsetDateTime) -> Result<(), SigError> {
    sigv4::parse(req)?.verify(req, body_sha256, secret, now)
}

fn auth_header(signature: &str, signed_headers: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

/// Signs like the AWS test suite does and checks the Authorization header matches exactly.
fn assert_suite_signs(req: &HttpRequest<'_>, body_sha256: &str, expected_authorization: &str) {
    let added = sigv4::sign(req, body_sha256, "AKIDEXAMPLE", SUITE_SECRET, None, "us-east-1", "service", SUITE_TIME);
    assert_eq!(
        added,
        vec![
            ("authorization".to_owned(), expected_authorization.to_owned()),
            ("x-amz-date".to_owned(), "20150830T123600Z".to_owned())
        ]
    );
}

#[test]
fn suite_get_vanilla() {
    let auth = auth_header("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "host;x-amz-date");
    let headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"), ("Authorization", &auth)];
    let req = request("GET", "/", "", &headers);
    let signature = sigv4::parse(&req).unwrap();
    assert_eq!(
        signature.scope,
        Scope {
            access_key_id: "AKIDEXAMPLE".into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "service".into()
        }
    );
    assert_eq!(signature.signed_headers, ["host", "x-amz-date"]);
    assert_eq!(signature.time, SUITE_TIME);
    assert_eq!(signature.presigned, None);
    assert_eq!(signature.session_token, None);
    signature.verify(&req, EMPTY_SHA256, SUITE_SECRET, SUITE_TIME).unwrap();
    assert_suite_signs(&request("GET", "/", "", &headers[..1]), EMPTY_SHA256, &auth);
}

#[test]
fn suite_get_vanilla_query_order_key_case() {
    let auth = auth_header("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", "host;x-amz-date");
    let headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"), ("Authorization", &auth)];
    let req = request("GET", "/", "Param2=value2&Param1=value1", &headers);
    verify_at(&req, EMPTY_SHA256, SUITE_SECRET, SUITE_TIME).unwrap();
    assert_suite_signs(&request("GET", "/", "Param2=value2&Param1=value1", &headers[..1]), EMPTY_SHA256, &auth);
}

#[test]
fn suite_post_x_www_form_urlencoded() {
    let body = sigv4::sha256_hex(b"Param1=value1");
    assert_eq!(body, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    let auth =
        auth_header("ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a", "content-type;host;x-amz-date");
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("Authorization", &auth),
        // Added by the HTTP layer after signing, so not signed.
        ("Content-Length", "13"),
    ];
    verify_at(&request("POST", "/", "", &headers), &body, SUITE_SECRET, SUITE_TIME).unwrap();
    assert_suite_signs(&request("POST", "/", "", &headers[..2]), &body, &auth);
}

fn ecr_headers<'a>(akid: &str, signed_headers: &str, signature: &str) -> Vec<(&'a str, String)> {
    vec![
        ("Host", "api.ecr.us-west-2.amazonaws.com".into()),
        ("Content-Type", "application/x-amz-json-1.1".into()),
        ("X-Amz-Target", ECR_TARGET.into()),
        ("X-Amz-Date", "20250314T092653Z".into()),
        (
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={akid}/20250314/us-west-2/ecr/aws4_request, SignedHeaders={signed_headers}, Signature={signature}"
            ),
        ),
        ("Content-Length", "2".into()),
    ]
}

fn borrowed<'a>(headers: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

#[test]
fn botocore_ecr_json_post() {
    let owned = ecr_headers(
        "AKIAIOSFODNN7EXAMPLE",
        "content-type;host;x-amz-date;x-amz-target",
        "1d13a359e85334a51d121e9661f1a34930497af5f9aab4c135a5ede63205e12a",
    );
    let headers = borrowed(&owned);
    let req = request("POST", "/", "", &headers);
    let body = sigv4::sha256_hex(b"{}");
    let signature = sigv4::parse(&req).unwrap();
    assert_eq!(signature.scope.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    assert_eq!((signature.scope.region.as_str(), signature.scope.service.as_str()), ("us-west-2", "ecr"));
    signature.verify(&req, &body, SUITE_SECRET, BOTO_TIME).unwrap();

    // And our client signs exactly as botocore does.
    let unsigned = request("POST", "/", "", &headers[..3]);
    let added =
        sigv4::sign(&unsigned, &body, "AKIAIOSFODNN7EXAMPLE", SUITE_SECRET, None, "us-west-2", "ecr", BOTO_TIME);
    assert_eq!(added[0], ("authorization".to_owned(), owned[4].1.clone()));
}

#[test]
fn botocore_ecr_json_post_with_session_token() {
    let mut owned = ecr_headers(
        "ASIAIOSFODNN7EXAMPLE",
        "content-type;host;x-amz-date;x-amz-security-token;x-amz-target",
        "91c49dd696a15274c6d383d2f215cddb17121caf7b6e4bd2c37f7951a5a954fa",
    );
    owned.insert(4, ("X-Amz-Security-Token", SESSION_TOKEN.into()));
    let headers = borrowed(&owned);
    let req = request("POST", "/", "", &headers);
    let body = sigv4::sha256_hex(br#"{"repositoryNames":["team/app"]}"#);
    let signature = sigv4::parse(&req).unwrap();
    assert_eq!(signature.session_token.as_deref(), Some(SESSION_TOKEN));
    signature.verify(&req, &body, SUITE_SECRET, BOTO_TIME).unwrap();

    let unsigned = request("POST", "/", "", &headers[..3]);
    let added = sigv4::sign(
        &unsigned,
        &body,
        "ASIAIOSFODNN7EXAMPLE",
        SUITE_SECRET,
        Some(SESSION_TOKEN),
        "us-west-2",
        "ecr",
        BOTO_TIME,
    );
    assert_eq!(added[0].1, owned[5].1);
    assert_eq!(added[2], ("x-amz-security-token".to_owned(), SESSION_TOKEN.to_owned()));
}

#[test]
fn botocore_date_header_instead_of_x_amz_date() {
    let headers = [
        ("Host", "api.ecr.us-west-2.amazonaws.com"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", ECR_TARGET),
        ("Date", "Fri, 14 Mar 2025 09:26:53 -0000"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250314/us-west-2/ecr/aws4_request, SignedHeaders=content-type;date;host;x-amz-target, Signature=7ebdf1edd4ca21f565cc3a7752bb62cca79688bc0d88a7feea2f6df51516a9e5",
        ),
    ];
    let req = request("POST", "/", "", &headers);
    assert_eq!(sigv4::parse(&req).unwrap().time, BOTO_TIME);
    verify_at(&req, &sigv4::sha256_hex(b"{}"), SUITE_SECRET, BOTO_TIME).unwrap();
}

#[test]
fn botocore_path_is_normalized_and_encoded_twice() {
    let headers = [
        ("Host", "wharf.example.com:8443"),
        ("X-Custom", "  a   b  c "),
        ("X-Amz-Date", "20250314T092653Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250314/eu-central-1/ecr/aws4_request, SignedHeaders=host;x-amz-date;x-custom, Signature=b06c19f2a477fdea3d6c7d7175e1a25f463a781624395716ffbb74eb75ef8ca5",
        ),
    ];
    let req = request("GET", "/a%20b/c:d/%2Fx/./y/../z//", "", &headers);
    verify_at(&req, EMPTY_SHA256, SUITE_SECRET, BOTO_TIME).unwrap();
    // Decoding the path once would change what is signed.
    let decoded = request("GET", "/a b/c:d/%2Fx/./y/../z//", "", &headers);
    assert!(matches!(verify_at(&decoded, EMPTY_SHA256, SUITE_SECRET, BOTO_TIME), Err(SigError::Mismatch)));
}

#[test]
fn botocore_unsigned_payload() {
    let headers = [
        ("Host", "wharf.example.com"),
        ("Content-Type", "application/octet-stream"),
        ("X-Amz-Date", "20250314T092653Z"),
        ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250314/us-west-2/ecr/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=0ce936c6e361d3deebae95ed2a7c5d9a02881719865612bc8b07466057ed6cf1",
        ),
        ("Content-Length", "11"),
    ];
    let req = request("PUT", "/upload", "uploadId=7&partNumber=2", &headers);
    // Whatever the body, since it is not signed.
    verify_at(&req, &sigv4::sha256_hex(b"layer bytes"), SUITE_SECRET, BOTO_TIME).unwrap();
    verify_at(&req, &sigv4::sha256_hex(b"other bytes"), SUITE_SECRET, BOTO_TIME).unwrap();
}

const PRESIGNED_QUERY: &str = "part=1&name=a%20b~c&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250314%2Fus-west-2%2Fecr%2Faws4_request&X-Amz-Date=20250314T092653Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=55c73a8b08984b439622f951750a47be2b7fbd0f942bc9a80d5c2e81e5829ca9";
const PRESIGNED_PATH: &str = "/v2/team/app/blobs/sha256:0123abcd";
const PRESIGNED_HOST: [(&str, &str); 1] = [("Host", "wharf.example.com")];

#[test]
fn botocore_presigned_get() {
    let req = request("GET", PRESIGNED_PATH, PRESIGNED_QUERY, &PRESIGNED_HOST);
    let signature = sigv4::parse(&req).unwrap();
    assert_eq!(signature.presigned, Some(std::time::Duration::from_secs(900)));
    assert_eq!(signature.scope.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(signature.signed_headers, ["host"]);
    // botocore's generic presigner signs the (empty) body's hash, not UNSIGNED-PAYLOAD.
    signature.verify(&req, EMPTY_SHA256, SUITE_SECRET, BOTO_TIME).unwrap();
    let with_body = signature.verify(&req, &sigv4::sha256_hex(b"x"), SUITE_SECRET, BOTO_TIME);
    assert!(matches!(with_body, Err(SigError::Mismatch)));
}

#[test]
fn botocore_s3_presigned_get_signs_unsigned_payload() {
    let query = "part=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250314%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Date=20250314T092653Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=e742420866cd72c9cedef2d961b2903bf1aaf24d143bd60f22ef0fa67e111851";
    let req = request("GET", "/v2/team/app/blobs/abc123", query, &PRESIGNED_HOST);
    // The body plays no part.
    verify_at(&req, EMPTY_SHA256, SUITE_SECRET, BOTO_TIME).unwrap();
    verify_at(&req, &sigv4::sha256_hex(b"x"), SUITE_SECRET, BOTO_TIME).unwrap();
}

#[test]
fn botocore_presigned_get_with_session_token() {
    let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAIOSFODNN7EXAMPLE%2F20250314%2Fus-west-2%2Fecr%2Faws4_request&X-Amz-Date=20250314T092653Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2Ftoken%2Bwith%3Dchars&X-Amz-Signature=5f1c1e718b2f51c58e18257cdbf8ea88171aa37caa71426289cd1a79b52c91af";
    let req = request("GET", PRESIGNED_PATH, query, &PRESIGNED_HOST);
    let signature = sigv4::parse(&req).unwrap();
    assert_eq!(signature.session_token.as_deref(), Some(SESSION_TOKEN));
    signature.verify(&req, EMPTY_SHA256, SUITE_SECRET, BOTO_TIME + time::Duration::minutes(59)).unwrap();
}

#[test]
fn presigned_validity_window() {
    let req = request("GET", PRESIGNED_PATH, PRESIGNED_QUERY, &PRESIGNED_HOST);
    let at = |offset: time::Duration| verify_at(&req, EMPTY_SHA256, SUITE_SECRET, BOTO_TIME + offset);
    at(time::Duration::minutes(15)).unwrap();
    at(time::Duration::minutes(-15)).unwrap();
    let expired = at(time::Duration::seconds(901)).unwrap_err();
    assert!(matches!(&expired, SigError::Expired(m) if m.contains("X-Amz-Expires 900")), "{expired}");
    assert!(matches!(at(time::Duration::minutes(-16)), Err(SigError::Expired(_))));
}

#[test]
fn presigned_tampering() {
    let tampered_query = PRESIGNED_QUERY.replace("part=1", "part=2");
    let expires = PRESIGNED_QUERY.replace("X-Amz-Expires=900", "X-Amz-Expires=901");
    let unsigned_param = format!("{PRESIGNED_QUERY}&extra=1");
    for query in [tampered_query.as_str(), expires.as_str(), unsigned_param.as_str()] {
        let req = request("GET", PRESIGNED_PATH, query, &PRESIGNED_HOST);
        assert!(matches!(verify_at(&req, EMPTY_SHA256, SUITE_SECRET, BOTO_TIME), Err(SigError::Mismatch)), "{query}");
    }
    let other_host = [("Host", "evil.example.com")];
    let req = request("GET", PRESIGNED_PATH, PRESIGNED_QUERY, &other_host);
    assert!(matches!(verify_at(&req, EMPTY_SHA256, SUITE_SECRET, BOTO_TIME), Err(SigError::Mismatch)));
}

#[test]
fn presigned_refusals() {
    let cases = [
        PRESIGNED_QUERY.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
        PRESIGNED_QUERY.replace("&X-Amz-Date=20250314T092653Z", ""),
        PRESIGNED_QUERY.replace("X-Amz-Expires=900", "X-Amz-Expires=0"),
        PRESIGNED_QUERY.replace("X-Amz-Expires=900", "X-Amz-Expires=604801"),
        PRESIGNED_QUERY.replace("X-Amz-Expires=900", "X-Amz-Expires=99999999999999999999999"),
        PRESIGNED_QUERY.replace("X-Amz-Expires=900", "X-Amz-Expires=-1"),
        PRESIGNED_QUERY.replace("X-Amz-Expires=900", "X-Amz-Expires=+9"),
        PRESIGNED_QUERY.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date"),
        PRESIGNED_QUERY.replace("%2F20250314%2F", "%2F20250315%2F"),
        format!("{PRESIGNED_QUERY}&X-Amz-Signature=00"),
        format!("{PRESIGNED_QUERY}&X-Amz-Date=20250314T092653Z"),
    ];
    for query in &cases {
        let req = request("GET", PRESIGNED_PATH, query, &PRESIGNED_HOST);
        assert!(matches!(sigv4::parse(&req), Err(SigError::Incomplete(_))), "{query}");
    }
    // Both mechanisms at once is ambiguous.
    let both = [("Host", "wharf.example.com"), ("Authorization", "AWS4-HMAC-SHA256 Credential=x")];
    let req = request("GET", PRESIGNED_PATH, PRESIGNED_QUERY, &both);
    assert!(matches!(sigv4::parse(&req), Err(SigError::Incomplete(_))));
}

// ---- round trips through `sign` ----

const AKID: &str = "AKIAWHARFEXAMPLE2345";
const SECRET: &str = "abcdEFGHijklMNOPqrstUVWXyz0123456789+/AB";
const NOW: OffsetDateTime = datetime!(2025-06-01 10:00:00 UTC);

/// A signed ECR-style request: the caller's headers followed by those `sign` added.
fn signed(
    method: &str,
    query: &str,
    body: &[u8],
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), "wharf.example.com".into()),
        ("Content-Type".into(), "application/x-amz-json-1.1".into()),
        ("X-Amz-Target".into(), ECR_TARGET.into()),
        ("User-Agent".into(), "aws-cli/2".into()),
    ];
    headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = request(method, "/", query, &borrowed);
    let payload =
        if extra.iter().any(|(n, v)| n.eq_ignore_ascii_case("x-amz-content-sha256") && *v == "UNSIGNED-PAYLOAD") {
            "UNSIGNED-PAYLOAD".to_owned()
        } else {
            sigv4::sha256_hex(body)
        };
    let added = sigv4::sign(&req, &payload, AKID, SECRET, token, "eu-west-1", "ecr", NOW);
    headers.extend(added);
    headers
}

fn check(
    method: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), SigError> {
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    verify_at(&request(method, "/", query, &borrowed), &sigv4::sha256_hex(body), SECRET, now)
}

fn with_header(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.clone(), if n.eq_ignore_ascii_case(name) { value.to_owned() } else { v.clone() }))
        .collect()
}

#[test]
fn sign_parse_verify_round_trip() {
    let headers = signed("POST", "a=1", b"{}", None, &[]);
    check("POST", "a=1", &headers, b"{}", NOW).unwrap();
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let signature = sigv4::parse(&request("POST", "/", "a=1", &borrowed)).unwrap();
    assert_eq!(signature.signed_headers, ["content-type", "host", "x-amz-date", "x-amz-target"]);
    assert_eq!((signature.scope.region.as_str(), signature.scope.service.as_str()), ("eu-west-1", "ecr"));

    let with_token = signed("POST", "", b"{}", Some("sealed+token/=="), &[]);
    check("POST", "", &with_token, b"{}", NOW).unwrap();
    let borrowed: Vec<(&str, &str)> = with_token.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(
        sigv4::parse(&request("POST", "/", "", &borrowed)).unwrap().session_token.as_deref(),
        Some("sealed+token/==")
    );
    // The session token is signed: swapping it breaks the signature.
    let swapped = with_header(&with_token, "x-amz-security-token", "another");
    assert!(matches!(check("POST", "", &swapped, b"{}", NOW), Err(SigError::Mismatch)));
}

#[test]
fn sign_replaces_stale_auth_headers() {
    let stale = [("Authorization", "AWS4-HMAC-SHA256 old"), ("X-Amz-Date", "20000101T000000Z")];
    let headers = signed("POST", "", b"{}", None, &stale);
    let fresh: Vec<(String, String)> =
        headers.into_iter().filter(|(n, _)| !stale.iter().any(|(s, _)| s == n)).collect();
    check("POST", "", &fresh, b"{}", NOW).unwrap();
}

#[test]
fn tampering_is_a_mismatch() {
    let headers = signed("POST", "a=1", b"{}", None, &[]);
    let mismatch = |result: Result<(), SigError>| matches!(result, Err(SigError::Mismatch));
    assert!(mismatch(check("POST", "a=1", &headers, b"{ }", NOW)), "body");
    assert!(mismatch(check("PUT", "a=1", &headers, b"{}", NOW)), "method");
    assert!(mismatch(check("POST", "a=2", &headers, b"{}", NOW)), "query value");
    assert!(mismatch(check("POST", "a=1&b=2", &headers, b"{}", NOW)), "query added");
    assert!(mismatch(check("POST", "", &headers, b"{}", NOW)), "query removed");
    let target = with_header(&headers, "x-amz-target", "AmazonEC2ContainerRegistry_V20150921.DeleteRepository");
    assert!(mismatch(check("POST", "a=1", &target, b"{}", NOW)), "signed header");
    let date = with_header(&headers, "x-amz-date", "20250601T100001Z");
    assert!(mismatch(check("POST", "a=1", &date, b"{}", NOW)), "date");
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = request("POST", "/other", "a=1", &borrowed);
    assert!(mismatch(verify_at(&req, &sigv4::sha256_hex(b"{}"), SECRET, NOW)), "path");
    let req = request("POST", "/", "a=1", &borrowed);
    assert!(mismatch(verify_at(&req, &sigv4::sha256_hex(b"{}"), "wrong secret", NOW)), "secret");

    // Unsigned headers may change freely.
    let agent = with_header(&headers, "user-agent", "something else");
    check("POST", "a=1", &agent, b"{}", NOW).unwrap();
}

#[test]
fn clock_skew_window() {
    let headers = signed("POST", "", b"{}", None, &[]);
    let at = |minutes: i64| check("POST", "", &headers, b"{}", NOW + time::Duration::minutes(minutes));
    at(15).unwrap();
    at(-15).unwrap();
    let late = at(16).unwrap_err();
    assert_eq!(
        late.to_string(),
        "Signature expired: 20250601T100000Z is now earlier than 20250601T100100Z (20250601T101600Z - 15 min.)"
    );
    let early = at(-16).unwrap_err();
    assert!(
        matches!(&early, SigError::Expired(m) if m.starts_with("Signature not yet current: 20250601T100000Z")),
        "{early}"
    );
}

#[test]
fn unsigned_payload_and_payload_hash_header() {
    let unsigned = signed("PUT", "", b"", None, &[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]);
    check("PUT", "", &unsigned, b"any body at all", NOW).unwrap();

    let body_hash = sigv4::sha256_hex(b"{}");
    let declared = signed("POST", "", b"{}", None, &[("X-Amz-Content-Sha256", &body_hash)]);
    check("POST", "", &declared, b"{}", NOW).unwrap();
    assert!(matches!(check("POST", "", &declared, b"{ }", NOW), Err(SigError::PayloadHashMismatch)));
    let lying = signed("POST", "", b"{}", None, &[("X-Amz-Content-Sha256", EMPTY_SHA256)]);
    assert!(matches!(check("POST", "", &lying, b"{}", NOW), Err(SigError::PayloadHashMismatch)));
}

#[test]
fn missing_authentication() {
    let headers = [("Host", "wharf.example.com")];
    assert!(matches!(sigv4::parse(&request("GET", "/", "a=1", &headers)), Err(SigError::Missing)));
    assert!(matches!(sigv4::parse(&request("GET", "/", "", &[])), Err(SigError::Missing)));
}

#[test]
fn malformed_authorization_headers() {
    let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let cred = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    let cases = [
        String::new(),
        "AWS4-HMAC-SHA256".into(),
        format!("AWS4-HMAC-SHA1 {cred}, SignedHeaders=host;x-amz-date, Signature={sig}"),
        "Basic QVdTOnNlY3JldA==".into(),
        format!("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;x-amz-date"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;x-amz-date, {sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, {cred}, SignedHeaders=host;x-amz-date, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=x-amz-date, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;;x-amz-date, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;x-amz-date, Signature={}", &sig[1..]),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;x-amz-date, Signature={}x", &sig[1..]),
        format!("AWS4-HMAC-SHA256 {cred}/extra, SignedHeaders=host;x-amz-date, Signature={sig}"),
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws5_request, SignedHeaders=host;x-amz-date, Signature={sig}"
        ),
        format!(
            "AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"
        ),
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"
        ),
    ];
    for authorization in &cases {
        let headers =
            [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"), ("Authorization", authorization)];
        let err = sigv4::parse(&request("GET", "/", "", &headers)).unwrap_err();
        assert!(matches!(err, SigError::Incomplete(_)), "{authorization}: {err:?}");
        assert!(!err.to_string().contains(&sig[8..40]), "signature echoed: {err}");
        assert!(!err.to_string().contains("QVdTOnNlY3JldA"), "credential echoed: {err}");
    }
}

#[test]
fn incomplete_messages_follow_aws() {
    let headers = [
        ("Host", "example.amazonaws.com"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=abc",
        ),
    ];
    let err = sigv4::parse(&request("GET", "/", "", &headers)).unwrap_err().to_string();
    assert_eq!(
        err,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=***"
    );
    let headers = [
        ("Host", "h"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request"),
    ];
    let err = sigv4::parse(&request("GET", "/", "", &headers)).unwrap_err().to_string();
    assert_eq!(
        err,
        "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request"
    );
    let headers = [
        ("Host", "h"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=A/20150831/r/s/aws4_request, SignedHeaders=host, Signature=00"),
    ];
    let err = sigv4::parse(&request("GET", "/", "", &headers)).unwrap_err().to_string();
    assert_eq!(
        err,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'."
    );
}

#[test]
fn flexible_authorization_spacing() {
    let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let cred = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    for authorization in [
        format!("AWS4-HMAC-SHA256 {cred},SignedHeaders=host;x-amz-date,Signature={sig}"),
        format!("AWS4-HMAC-SHA256   {cred} ,  SignedHeaders=host;x-amz-date ,Signature={sig}  "),
        format!("AWS4-HMAC-SHA256\t{cred}, SignedHeaders=host;x-amz-date, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 Signature={sig}, {cred}, SignedHeaders=host;x-amz-date"),
        format!("AWS4-HMAC-SHA256 {cred} SignedHeaders=host;x-amz-date Signature={sig}"),
    ] {
        let headers =
            [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"), ("Authorization", &authorization)];
        verify_at(&request("GET", "/", "", &headers), EMPTY_SHA256, SUITE_SECRET, SUITE_TIME)
            .unwrap_or_else(|e| panic!("{authorization}: {e}"));
    }
}

#[test]
fn ambiguous_repeated_auth_headers_are_refused() {
    let auth = auth_header("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "host;x-amz-date");
    let headers = [
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("x-amz-date", "20150830T123600Z"),
        ("Authorization", &auth),
    ];
    assert!(matches!(sigv4::parse(&request("GET", "/", "", &headers)), Err(SigError::Incomplete(_))));
    let headers = [
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("Authorization", &auth),
        ("authorization", &auth),
    ];
    assert!(matches!(sigv4::parse(&request("GET", "/", "", &headers)), Err(SigError::Incomplete(_))));
}

#[test]
fn bad_dates_are_incomplete() {
    let auth = auth_header("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "host;x-amz-date");
    for date in [
        "",
        "20150830",
        "20150830T123600",
        "20151330T123600Z",
        "20150830T126000Z",
        "2015-08-30T12:36:00Z",
        "+0150830T123600Z",
    ] {
        let headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", date), ("Authorization", &auth)];
        assert!(matches!(sigv4::parse(&request("GET", "/", "", &headers)), Err(SigError::Incomplete(_))), "{date:?}");
    }
}

#[test]
fn debug_hides_signature_and_session_token() {
    let headers = signed("POST", "", b"{}", Some("sealed-session-token"), &[]);
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let signature = sigv4::parse(&request("POST", "/", "", &borrowed)).unwrap();
    let shown = format!("{signature:?}");
    let authorization = &headers.iter().find(|(n, _)| n == "authorization").unwrap().1;
    let hex = authorization.rsplit_once("Signature=").unwrap().1;
    assert!(!shown.contains(&hex[..16]), "{shown}");
    assert!(!shown.contains("sealed-session-token"), "{shown}");
    assert!(shown.contains(AKID));
}
