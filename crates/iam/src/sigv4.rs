//! AWS Signature Version 4: verifying signed requests (server side) and signing them (client
//! side, for `wharf get-login-password` and tests).
//!
//! The canonical forms follow botocore for non-S3 services, so that whatever the AWS CLI and
//! boto3 sign, this verifies: the path is normalized (dot segments and empty segments removed)
//! and percent-encoded a second time, the query re-encoded and sorted.
//!
//! Verification is split in two so the caller can look up the secret in between: [`parse`]
//! reads what the request claims (key id, scope, time), [`Signature::verify`] checks it.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use ring::{digest, hmac};
use time::format_description::well_known::Rfc2822;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
/// The payload hash of requests whose body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const MAX_SKEW: time::Duration = time::Duration::minutes(15);
/// A week, AWS's limit on X-Amz-Expires.
const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;

/// RFC 3986 unreserved characters are the only ones left unencoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Headers botocore never signs (hop-by-hop, or rewritten by proxies).
const UNSIGNABLE_HEADERS: [&str; 11] = [
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// A request as received, before any decoding, which the canonical forms depend on.
///
/// Over HTTP/2 the caller must supply the `:authority` as a `host` header.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// Raw path exactly as received (already percent-encoded once).
    pub path: &'a str,
    /// Raw query without '?', "" if none.
    pub query: &'a str,
    /// Names in any case; a name may repeat.
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> HttpRequest<'a> {
    fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }

    /// A header that decides how the request is authenticated: a repeat is ambiguous, so refused.
    fn single_header(&self, name: &str) -> Result<Option<&'a str>, SigError> {
        let mut values = self.header_values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(SigError::Incomplete(format!("The request has more than one '{name}' header.")));
        }
        Ok(first.map(str::trim))
    }

    /// The percent-decoded value of a query parameter that decides how the request is
    /// authenticated; refused when repeated or not UTF-8.
    fn single_query_param(&self, name: &str) -> Result<Option<String>, SigError> {
        let mut found = None;
        for (raw_name, raw_value) in query_pairs(self.query) {
            if percent_decode_str(raw_name).decode_utf8().is_ok_and(|n| n == name) {
                if found.is_some() {
                    return Err(SigError::Incomplete(format!(
                        "The query string has more than one '{name}' parameter."
                    )));
                }
                let value = percent_decode_str(raw_value)
                    .decode_utf8()
                    .map_err(|_| SigError::Incomplete(format!("The '{name}' query parameter is not valid UTF-8.")))?;
                found = Some(value.into_owned());
            }
        }
        Ok(found)
    }
}

/// What a signature is scoped to: the key, and the day, region and service it is valid for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key_id: String,
    /// yyyymmdd
    pub date: String,
    pub region: String,
    pub service: String,
}

/// What a request claims; nothing here is verified until [`Signature::verify`] succeeds.
#[derive(Clone)]
pub struct Signature {
    pub scope: Scope,
    /// Lower-case, as listed.
    pub signed_headers: Vec<String>,
    /// X-Amz-Date (or the Date header), in UTC.
    pub time: OffsetDateTime,
    /// X-Amz-Expires, for query-string (presigned URL) authentication.
    pub presigned: Option<std::time::Duration>,
    /// X-Amz-Security-Token: the header, or for presigned URLs the query parameter.
    pub session_token: Option<String>,
    signature: [u8; 32],
}

/// Reads the authentication parts of a request, from the Authorization header or, for
/// presigned URLs, from the query string.
pub fn parse(request: &HttpRequest<'_>) -> Result<Signature, SigError> {
    let authorization = request.single_header("authorization")?;
    let query_algorithm = request.single_query_param("X-Amz-Algorithm")?;
    match (authorization, query_algorithm) {
        (Some(_), Some(_)) => Err(SigError::Incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.".into(),
        )),
        (Some(header), None) => parse_header_auth(request, header),
        (None, Some(algorithm)) => parse_query_auth(request, &algorithm),
        (None, None) => Err(SigError::Missing),
    }
}

/// The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Default)]
struct AuthorizationParts<'h> {
    credential: Option<&'h str>,
    signed_headers: Option<&'h str>,
    signature: Option<&'h str>,
}

fn parse_header_auth(request: &HttpRequest<'_>, header: &str) -> Result<Signature, SigError> {
    let (algorithm, rest) = header.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((header, ""));
    if algorithm != ALGORITHM {
        return Err(unsupported_algorithm(algorithm));
    }
    let parts = parse_authorization_parts(header, rest)?;
    let date_header = match request.single_header("x-amz-date")? {
        Some(value) => Some(value),
        None => request.single_header("date")?,
    };
    let (Some(credential), Some(signed_headers), Some(signature), Some(date_header)) =
        (parts.credential, parts.signed_headers, parts.signature, date_header)
    else {
        return Err(missing_authorization_parts(&parts, date_header.is_some(), header));
    };
    let time = parse_amz_date(date_header)
        .or_else(|| parse_http_date(date_header))
        .ok_or_else(|| invalid_date(date_header))?;
    Ok(Signature {
        scope: parse_credential(credential, time)?,
        signed_headers: parse_signed_headers(signed_headers)?,
        time,
        presigned: None,
        session_token: request.single_header("x-amz-security-token")?.map(str::to_owned),
        signature: parse_signature_hex(signature)?,
    })
}

/// Separators are commas and/or whitespace in any amount, as AWS tolerates; no part's value
/// contains either.
fn parse_authorization_parts<'h>(header: &str, rest: &'h str) -> Result<AuthorizationParts<'h>, SigError> {
    let mut parts = AuthorizationParts::default();
    for item in rest.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|item| !item.is_empty()) {
        let Some((name, value)) = item.split_once('=') else {
            return Err(SigError::Incomplete(format!(
                "A part of the Authorization header is not a valid key=value pair (missing equal-sign). Authorization={}",
                redacted_authorization(header)
            )));
        };
        let slot = match name {
            "Credential" => &mut parts.credential,
            "SignedHeaders" => &mut parts.signed_headers,
            "Signature" => &mut parts.signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(SigError::Incomplete(format!(
                "Authorization header has more than one '{name}' parameter. Authorization={}",
                redacted_authorization(header)
            )));
        }
    }
    Ok(parts)
}

/// AWS lists every missing part at once, then echoes the header (here without the signature).
fn missing_authorization_parts(parts: &AuthorizationParts<'_>, has_date: bool, header: &str) -> SigError {
    let mut message = String::new();
    for (present, name) in [
        (parts.credential.is_some(), "Credential"),
        (parts.signature.is_some(), "Signature"),
        (parts.signed_headers.is_some(), "SignedHeaders"),
    ] {
        if !present {
            message.push_str(&format!("Authorization header requires '{name}' parameter. "));
        }
    }
    if !has_date {
        message.push_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
    }
    message.push_str("Authorization=");
    message.push_str(&redacted_authorization(header));
    SigError::Incomplete(message)
}

/// The Authorization header fit for an error message: the signature value, and any stray
/// item that might be one, replaced by `***`.
fn redacted_authorization(header: &str) -> String {
    let (algorithm, rest) = header.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((header, ""));
    let items: Vec<&str> = rest
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once('=') {
            Some(("Signature", _)) => "Signature=***",
            Some(_) => item,
            None => "***",
        })
        .collect();
    if items.is_empty() { algorithm.to_owned() } else { format!("{algorithm} {}", items.join(", ")) }
}

fn unsupported_algorithm(algorithm: &str) -> SigError {
    // Echo only what cannot be a credential (e.g. not the rest of a `Basic` header).
    let shown = if algorithm.len() <= 32 && algorithm.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        algorithm
    } else {
        "***"
    };
    SigError::Incomplete(format!("Unsupported AWS 'algorithm': '{shown}'; only '{ALGORITHM}' is supported."))
}

fn parse_query_auth(request: &HttpRequest<'_>, algorithm: &str) -> Result<Signature, SigError> {
    if algorithm != ALGORITHM {
        return Err(SigError::Incomplete(format!("X-Amz-Algorithm only supports \"{ALGORITHM}\".")));
    }
    let param = |name| request.single_query_param(name);
    let (Some(credential), Some(date), Some(expires), Some(signed_headers), Some(signature)) = (
        param("X-Amz-Credential")?,
        param("X-Amz-Date")?,
        param("X-Amz-Expires")?,
        param("X-Amz-SignedHeaders")?,
        param("X-Amz-Signature")?,
    ) else {
        return Err(SigError::Incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. Re-examine the query-string parameters.".into(),
        ));
    };
    let time = parse_amz_date(&date).ok_or_else(|| invalid_date(&date))?;
    Ok(Signature {
        scope: parse_credential(&credential, time)?,
        signed_headers: parse_signed_headers(&signed_headers)?,
        time,
        presigned: Some(parse_expires(&expires)?),
        session_token: param("X-Amz-Security-Token")?,
        signature: parse_signature_hex(&signature)?,
    })
}

fn parse_expires(value: &str) -> Result<std::time::Duration, SigError> {
    let secs: u64 = match value.parse() {
        Ok(secs) if value.bytes().all(|b| b.is_ascii_digit()) => secs,
        // Digits too many for a u64 are still "more than a week".
        Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => u64::MAX,
        _ => return Err(SigError::Incomplete("X-Amz-Expires should be a number.".into())),
    };
    match secs {
        0 => Err(SigError::Incomplete("X-Amz-Expires must be positive.".into())),
        1..=MAX_PRESIGNED_EXPIRES_SECS => Ok(std::time::Duration::from_secs(secs)),
        _ => Err(SigError::Incomplete(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES_SECS}."
        ))),
    }
}

/// `AKID/yyyymmdd/region/service/aws4_request`, dated the same day as the request.
fn parse_credential(credential: &str, time: OffsetDateTime) -> Result<Scope, SigError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts[..] else {
        return Err(malformed_credential());
    };
    if [access_key_id, date, region, service].iter().any(|part| part.is_empty()) {
        return Err(malformed_credential());
    }
    if terminator != TERMINATOR {
        return Err(SigError::Incomplete(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )));
    }
    let amz_date = format_amz_date(time);
    if date != &amz_date[..8] {
        return Err(SigError::Incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{}', from '{amz_date}'.",
            &amz_date[..8]
        )));
    }
    Ok(Scope {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    })
}

fn malformed_credential() -> SigError {
    SigError::Incomplete(
        "The Credential is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".".into(),
    )
}

fn parse_signed_headers(value: &str) -> Result<Vec<String>, SigError> {
    let names: Vec<String> = value.split(';').map(str::to_ascii_lowercase).collect();
    if names.iter().any(String::is_empty) {
        return Err(SigError::Incomplete(format!("SignedHeaders '{value}' lists an empty header name.")));
    }
    // The host binds the signature to this server: without it a request could be replayed
    // against any endpoint accepting the same key.
    if !names.iter().any(|name| name == "host") {
        return Err(SigError::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    Ok(names)
}

fn parse_signature_hex(value: &str) -> Result<[u8; 32], SigError> {
    let mut signature = [0u8; 32];
    hex::decode_to_slice(value, &mut signature)
        .map_err(|_| SigError::Incomplete("The Signature must be 64 hexadecimal digits.".into()))?;
    Ok(signature)
}

/// ISO 8601 basic format, `yyyymmddThhmmssZ`, exactly as SigV4 writes it.
fn parse_amz_date(value: &str) -> Option<OffsetDateTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let digits = &b[range];
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0')))
    };
    let month = Month::try_from(u8::try_from(number(4..6)?).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::from(number(0..4)?), month, u8::try_from(number(6..8)?).ok()?).ok()?;
    let time = time::Time::from_hms(
        u8::try_from(number(9..11)?).ok()?,
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(13..15)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// The `Date` header's HTTP form (`Sun, 30 Aug 2015 12:36:00 GMT`), which botocore signs
/// when the request already carries one.
fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value, &Rfc2822).ok()?.checked_to_offset(UtcOffset::UTC)
}

fn invalid_date(value: &str) -> SigError {
    SigError::Incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

fn format_amz_date(time: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

impl Signature {
    /// `payload_sha256`: hex SHA-256 of the body the server received.
    ///
    /// For presigned requests the payload hash is "UNSIGNED-PAYLOAD" (as S3 and the SigV4
    /// documentation sign them) or else `payload_sha256` (as botocore's generic presigner signs
    /// them, e.g. `generate_presigned_url` for non-S3 services and `aws eks get-token`).
    ///
    /// For header auth with an `x-amz-content-sha256` header: "UNSIGNED-PAYLOAD" is used as
    /// is; any other value must equal `payload_sha256` (else [`SigError::PayloadHashMismatch`])
    /// and is used. Without the header, `payload_sha256` is used.
    ///
    /// Checking the scope's region and service, and `session_token`, is the caller's job.
    pub fn verify(
        &self,
        request: &HttpRequest<'_>,
        payload_sha256: &str,
        secret_access_key: &str,
        now: OffsetDateTime,
    ) -> Result<(), SigError> {
        self.check_time(now)?;
        let head = canonical_request_head(request, &self.signed_headers, self.presigned.is_some());
        let amz_date = format_amz_date(self.time);
        let key = signing_key(secret_access_key, &self.scope);
        let signs = |payload_hash: &str| {
            let string_to_sign = string_to_sign(&amz_date, &self.scope, &head, payload_hash);
            hmac::verify(&key, string_to_sign.as_bytes(), &self.signature).is_ok()
        };
        let valid = match self.presigned {
            Some(_) => signs(UNSIGNED_PAYLOAD) || signs(payload_sha256),
            None => signs(header_auth_payload_hash(request, payload_sha256)?),
        };
        if valid { Ok(()) } else { Err(SigError::Mismatch) }
    }

    fn check_time(&self, now: OffsetDateTime) -> Result<(), SigError> {
        let now = now.to_offset(UtcOffset::UTC);
        let age = now - self.time;
        if age < -MAX_SKEW {
            return Err(SigError::Expired(format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                format_amz_date(self.time),
                format_amz_date(now.saturating_add(MAX_SKEW)),
                format_amz_date(now)
            )));
        }
        match self.presigned {
            None if age > MAX_SKEW => Err(SigError::Expired(format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                format_amz_date(self.time),
                format_amz_date(now.saturating_sub(MAX_SKEW)),
                format_amz_date(now)
            ))),
            Some(expires) if age > expires => Err(SigError::Expired(format!(
                "Request has expired: X-Amz-Date {} plus X-Amz-Expires {} s is earlier than {}.",
                format_amz_date(self.time),
                expires.as_secs(),
                format_amz_date(now)
            ))),
            _ => Ok(()),
        }
    }
}

/// What a header-authenticated request declares it signed as its payload hash.
fn header_auth_payload_hash<'r>(request: &HttpRequest<'r>, payload_sha256: &'r str) -> Result<&'r str, SigError> {
    match request.single_header("x-amz-content-sha256")? {
        None => Ok(payload_sha256),
        Some(UNSIGNED_PAYLOAD) => Ok(UNSIGNED_PAYLOAD),
        Some(claimed) if claimed.eq_ignore_ascii_case(payload_sha256) => Ok(claimed),
        Some(_) => Err(SigError::PayloadHashMismatch),
    }
}

/// The signature and session token are credentials (replayable for minutes), so not shown.
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("scope", &self.scope)
            .field("signed_headers", &self.signed_headers)
            .field("time", &self.time)
            .field("presigned", &self.presigned)
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// Client side: the headers to add (lower-case names): `authorization`, `x-amz-date`, and
/// `x-amz-security-token` when a session token is given. `request.headers` must already
/// contain `host`; any of the three headers it already has are ignored (replaced). Every
/// other header is signed, except those botocore never signs. If the request is to carry an
/// `x-amz-content-sha256` header, pass its value as `payload_sha256`.
#[expect(clippy::too_many_arguments, reason = "mirrors the SigV4 inputs one for one; a struct would only rename them")]
pub fn sign(
    request: &HttpRequest<'_>,
    payload_sha256: &str,
    access_key_id: &str,
    secret_access_key: &str,
    session_token: Option<&str>,
    region: &str,
    service: &str,
    time: OffsetDateTime,
) -> Vec<(String, String)> {
    let amz_date = format_amz_date(time.to_offset(UtcOffset::UTC));
    let scope = Scope {
        access_key_id: access_key_id.to_owned(),
        date: amz_date[..8].to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    };
    let mut headers: Vec<(&str, &str)> =
        request.headers.iter().copied().filter(|(name, _)| is_signable_client_header(name)).collect();
    headers.push(("x-amz-date", &amz_date));
    headers.extend(session_token.map(|token| ("x-amz-security-token", token)));
    let mut signed_headers: Vec<String> = headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
    signed_headers.sort_unstable();
    signed_headers.dedup();

    let head = canonical_request_head(&HttpRequest { headers: &headers, ..*request }, &signed_headers, false);
    let string_to_sign = string_to_sign(&amz_date, &scope, &head, payload_sha256);
    let signature = hmac::sign(&signing_key(secret_access_key, &scope), string_to_sign.as_bytes());
    let authorization = format!(
        "{ALGORITHM} Credential={access_key_id}/{}/{region}/{service}/{TERMINATOR}, SignedHeaders={}, Signature={}",
        scope.date,
        signed_headers.join(";"),
        hex::encode(signature)
    );

    let mut added = vec![("authorization".to_owned(), authorization), ("x-amz-date".to_owned(), amz_date)];
    added.extend(session_token.map(|token| ("x-amz-security-token".to_owned(), token.to_owned())));
    added
}

fn is_signable_client_header(name: &str) -> bool {
    let replaced = ["authorization", "x-amz-date", "x-amz-security-token"];
    !replaced.iter().chain(&UNSIGNABLE_HEADERS).any(|n| name.eq_ignore_ascii_case(n))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// The canonical request up to its last line, the payload hash, which may have more than one
/// candidate (see [`Signature::verify`]).
fn canonical_request_head(request: &HttpRequest<'_>, signed_headers: &[String], presigned: bool) -> String {
    let mut names: Vec<&str> = signed_headers.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();

    let mut out = String::with_capacity(256 + request.path.len() + request.query.len());
    out.push_str(request.method);
    out.push('\n');
    push_canonical_uri(&mut out, request.path);
    out.push('\n');
    push_canonical_query(&mut out, request.query, presigned);
    out.push('\n');
    for name in &names {
        out.push_str(name);
        out.push(':');
        push_canonical_header_value(&mut out, request, name);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&names.join(";"));
    out.push('\n');
    out
}

/// botocore's `quote(remove_dot_segments(path), safe='/~')`: dot and empty segments removed
/// (AWS services require it), then each segment encoded again, so `%20` becomes `%2520`.
fn push_canonical_uri(out: &mut String, path: &str) {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    if path.starts_with('/') || path.is_empty() {
        out.push('/');
    }
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(utf8_percent_encode(segment, UNRESERVED));
    }
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
}

/// Each name and value decoded then re-encoded, so equivalent encodings sign alike; sorted by
/// name then value. A presigned URL's own signature is of course not part of what it signs.
fn push_canonical_query(out: &mut String, query: &str, presigned: bool) {
    let encode = |raw: &str| -> String {
        percent_encoding::percent_encode(&percent_decode_str(raw).collect::<Vec<u8>>(), UNRESERVED).to_string()
    };
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .map(|(name, value)| (encode(name), encode(value)))
        .filter(|(name, _)| !(presigned && name == "X-Amz-Signature"))
        .collect();
    pairs.sort_unstable();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
}

/// Raw `(name, value)` pairs; a parameter without `=` has an empty value.
fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').filter(|pair| !pair.is_empty()).map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Values trimmed with inner whitespace runs collapsed; a repeated header's values joined by ','.
fn push_canonical_header_value(out: &mut String, request: &HttpRequest<'_>, name: &str) {
    for (i, value) in request.header_values(name).enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, word) in value.split_whitespace().enumerate() {
            if j > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
}

fn string_to_sign(amz_date: &str, scope: &Scope, canonical_head: &str, payload_hash: &str) -> String {
    let mut canonical_request = digest::Context::new(&digest::SHA256);
    canonical_request.update(canonical_head.as_bytes());
    canonical_request.update(payload_hash.as_bytes());
    format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/{TERMINATOR}\n{}",
        scope.date,
        scope.region,
        scope.service,
        hex::encode(canonical_request.finish())
    )
}

/// HMAC("AWS4" + secret, date) → region → service → "aws4_request".
fn signing_key(secret_access_key: &str, scope: &Scope) -> hmac::Key {
    let step = |key: &[u8], data: &str| hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes());
    let date_key = step(format!("AWS4{secret_access_key}").as_bytes(), &scope.date);
    let region_key = step(date_key.as_ref(), &scope.region);
    let service_key = step(region_key.as_ref(), &scope.service);
    hmac::Key::new(hmac::HMAC_SHA256, step(service_key.as_ref(), TERMINATOR).as_ref())
}

/// Messages follow AWS's wording; none contains a signature or a secret.
#[derive(Debug, thiserror::Error)]
pub enum SigError {
    /// No Authorization header and no X-Amz-Algorithm query parameter (AWS "MissingAuthenticationToken").
    #[error("Missing Authentication Token")]
    Missing,
    /// Malformed or missing parts (AWS "IncompleteSignature").
    #[error("{0}")]
    Incomplete(String),
    /// Outside the clock-skew window, or a presigned URL past X-Amz-Expires.
    #[error("{0}")]
    Expired(String),
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    PayloadHashMismatch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn canonical_uri(path: &str) -> String {
        let mut out = String::new();
        push_canonical_uri(&mut out, path);
        out
    }

    fn canonical_query(query: &str, presigned: bool) -> String {
        let mut out = String::new();
        push_canonical_query(&mut out, query, presigned);
        out
    }

    #[test]
    fn canonical_uri_matches_botocore() {
        for (path, expected) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("//example//", "/example/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./", "/"),
            ("/example/./a", "/example/a"),
            ("/../../a", "/a"),
            ("/example space/", "/example%20space/"),
            ("/a%20b", "/a%2520b"),
            ("/sha256:abc", "/sha256%3Aabc"),
            ("/-._~0-9A-Za-z", "/-._~0-9A-Za-z"),
            ("/\u{1234}", "/%E1%88%B4"),
            ("/v2/team/app/manifests/latest", "/v2/team/app/manifests/latest"),
        ] {
            assert_eq!(canonical_uri(path), expected, "{path:?}");
        }
    }

    #[test]
    fn canonical_query_is_reencoded_and_sorted() {
        for (query, expected) in [
            ("", ""),
            ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),
            ("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"),
            ("Param1=value1&Param1=Value2", "Param1=Value2&Param1=value1"),
            ("\u{1234}=bar", "%E1%88%B4=bar"),
            ("%E1%88%B4=bar", "%E1%88%B4=bar"),
            ("-._~0-9A-Za-z=-._~0-9A-Za-z", "-._~0-9A-Za-z=-._~0-9A-Za-z"),
            ("a=b c&a=b%20c&a=%7e", "a=b%20c&a=b%20c&a=~"),
            ("a=1+2", "a=1%2B2"),
            ("flag&&b=", "b=&flag="),
            ("a=%2F", "a=%2F"),
        ] {
            assert_eq!(canonical_query(query, false), expected, "{query:?}");
        }
        assert_eq!(canonical_query("b=1&X-Amz-Signature=ab&a=2", true), "a=2&b=1");
        assert_eq!(canonical_query("X-Amz-Signature=ab", false), "X-Amz-Signature=ab");
    }

    #[test]
    fn canonical_request_head_matches_the_suite() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("My-Header1", " value1"),
            ("My-Header2", "\"a   b   c\""),
            ("my-header3", "value2"),
            ("MY-HEADER3", " value1 "),
            ("X-Amz-Date", "20150830T123600Z"),
            ("X-Unsigned", "x"),
        ];
        let request = HttpRequest { method: "GET", path: "/", query: "", headers: &headers };
        let signed: Vec<String> =
            ["x-amz-date", "my-header3", "host", "my-header1", "my-header2", "host"].map(String::from).to_vec();
        assert_eq!(
            canonical_request_head(&request, &signed, false),
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nmy-header3:value2,value1\n\
             x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;my-header3;x-amz-date\n"
        );
    }

    #[test]
    fn suite_signing_key_and_string_to_sign() {
        let scope = Scope {
            access_key_id: "AKIDEXAMPLE".into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        };
        // From the SigV4 documentation's worked example.
        let sts = string_to_sign(
            "20150830T123600Z",
            &scope,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
        assert_eq!(
            sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let signature = hmac::sign(&signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &scope), sts.as_bytes());
        assert_eq!(hex::encode(signature), "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    }

    #[test]
    fn dates() {
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(datetime!(2015-08-30 12:36:00 UTC)));
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(datetime!(2024-02-29 23:59:59 UTC)));
        for bad in ["20230229T000000Z", "20150830T240000Z", "20150830t123600Z", "2015083OT123600Z", "20150830T123600"] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        for http in
            ["Sun, 30 Aug 2015 12:36:00 GMT", "Sun, 30 Aug 2015 12:36:00 -0000", "Sun, 30 Aug 2015 14:36:00 +0200"]
        {
            assert_eq!(parse_http_date(http), Some(datetime!(2015-08-30 12:36:00 UTC)), "{http}");
        }
        assert_eq!(format_amz_date(datetime!(2015-08-30 02:03:04 UTC)), "20150830T020304Z");
    }

    #[test]
    fn expires_bounds() {
        assert_eq!(parse_expires("1").unwrap(), std::time::Duration::from_secs(1));
        assert_eq!(parse_expires("604800").unwrap(), std::time::Duration::from_secs(604_800));
        for bad in ["", "0", "604801", "-1", "+1", "1.5", "1e3", "18446744073709551616"] {
            assert!(matches!(parse_expires(bad), Err(SigError::Incomplete(_))), "{bad}");
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redacted_authorization(
                "AWS4-HMAC-SHA256 Credential=A/b/c/d/aws4_request,SignedHeaders=host, Signature=abcdef"
            ),
            "AWS4-HMAC-SHA256 Credential=A/b/c/d/aws4_request, SignedHeaders=host, Signature=***"
        );
        assert_eq!(
            redacted_authorization("AWS4-HMAC-SHA256 Credential=x, abcdef0123"),
            "AWS4-HMAC-SHA256 Credential=x, ***"
        );
        let SigError::Incomplete(message) = unsupported_algorithm("Bearer:secret") else { panic!() };
        assert!(!message.contains("secret"));
    }
}
