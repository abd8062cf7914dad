//! Registry auth tokens (the password of `docker login -u AWS`) and STS session tokens.
//!
//! Both are stateless, so any node holding the master key verifies them without a database
//! read: registry tokens are HMAC-signed claims, session tokens carry their own sealed secret.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::hmac;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::secret::{MasterKey, Sealer};

/// Signing keys rotate every period; a token is signed with the key of the period it was issued in.
const PERIOD_SECS: i64 = 6 * 3600;
/// Tolerated clock difference between the node that issued a token and the one verifying it.
const CLOCK_SKEW_SECS: i64 = 300;
/// ECR's 12 hours, plus a minute for the issuer's own arithmetic.
const MAX_LIFETIME_SECS: i64 = 12 * 3600 + 60;
/// For this long after expiry a token still verifies far enough to be reported as expired
/// (a useful message for `docker pull` with a stale login) rather than as a bad signature.
const EXPIRED_REPORT_SECS: i64 = 12 * 3600;
const MAX_TOKEN_LEN: usize = 4096;
const MAX_SESSION_TOKEN_LEN: usize = 8192;
const VERSION_PREFIX: &str = "1.";
const SESSION_AAD: &[u8] = b"wharf session v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub principal: Principal,
    /// The key that asked for the token (AKIA… or ASIA…), so a disabled key's tokens can be refused.
    pub access_key_id: String,
    /// The token works only for this region's registries.
    pub region: String,
    /// Epoch seconds.
    pub issued_at: i64,
    /// Epoch seconds.
    pub expires_at: i64,
}

/// Issues and verifies registry tokens.
pub struct TokenKeys {
    /// Only ever used to derive per-period keys, never to sign tokens directly.
    root: hmac::Key,
}

impl TokenKeys {
    pub fn new(master: &MasterKey) -> TokenKeys {
        TokenKeys { root: hmac::Key::new(hmac::HMAC_SHA256, &master.derive("wharf registry token v1")) }
    }

    /// The envelope of `sign_claims`: only `[A-Za-z0-9_.-]`, so it is safe in Basic auth, URLs
    /// and shell arguments.
    pub fn issue(&self, claims: &TokenClaims) -> String {
        sign_claims(&self.period_key(period_of(claims.issued_at)), claims)
    }

    /// Authenticates before it parses: the claims' JSON is only read once the signature holds.
    pub fn verify(&self, password: &str, now: i64) -> Result<TokenClaims, TokenError> {
        let (signed, tag) = split_token(password)?;
        let period = self.signing_period(signed, &tag, now)?;
        let claims: TokenClaims = decode_claims(signed)?;
        check_times(&claims, period, now)?;
        Ok(claims)
    }

    /// The issue period is inside the payload, which must not be read before it is
    /// authenticated, so try each period a still-interesting token could come from, newest
    /// (most likely) first.
    fn signing_period(&self, signed: &str, tag: &[u8; 32], now: i64) -> Result<i64, TokenError> {
        let newest = period_of(now.saturating_add(CLOCK_SKEW_SECS));
        let oldest = period_of(now.saturating_sub(MAX_LIFETIME_SECS + EXPIRED_REPORT_SECS));
        (oldest..=newest)
            .rev()
            .find(|&period| hmac::verify(&self.period_key(period), signed.as_bytes(), tag).is_ok())
            .ok_or(TokenError::BadSignature)
    }

    /// One HMAC, so rotating keys cost nothing to keep and nothing needs caching.
    fn period_key(&self, period: i64) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&self.root, &period.to_be_bytes()).as_ref())
    }
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

fn period_of(epoch_secs: i64) -> i64 {
    epoch_secs.div_euclid(PERIOD_SECS)
}

/// The envelope of wharf's signed tokens: `"1." + base64url(json(claims)) + "." +
/// base64url(hmac)`, only `[A-Za-z0-9_.-]`.
pub(crate) fn sign_claims<T: Serialize>(key: &hmac::Key, claims: &T) -> String {
    let json = serde_json::to_vec(claims).expect("token claims always serialize");
    let mut token = String::with_capacity(VERSION_PREFIX.len() + json.len() * 4 / 3 + 48);
    token.push_str(VERSION_PREFIX);
    URL_SAFE_NO_PAD.encode_string(json, &mut token);
    let tag = hmac::sign(key, token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    token
}

/// The claims of the signed part of an envelope; call only once its tag has been verified.
pub(crate) fn decode_claims<T: DeserializeOwned>(signed: &str) -> Result<T, TokenError> {
    let json = URL_SAFE_NO_PAD.decode(&signed[VERSION_PREFIX.len()..]).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

/// Splits into the signed part (`"1." + payload`) and the decoded 32-byte tag.
pub(crate) fn split_token(password: &str) -> Result<(&str, [u8; 32]), TokenError> {
    if password.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let rest = password.strip_prefix(VERSION_PREFIX).ok_or(TokenError::Malformed)?;
    let (payload, tag_b64) = rest.split_once('.').ok_or(TokenError::Malformed)?;
    if payload.is_empty() {
        return Err(TokenError::Malformed);
    }
    let mut tag = [0u8; 32];
    if URL_SAFE_NO_PAD.decode_slice(tag_b64, &mut tag) != Ok(32) {
        return Err(TokenError::Malformed);
    }
    Ok((&password[..VERSION_PREFIX.len() + payload.len()], tag))
}

fn check_times(claims: &TokenClaims, period: i64, now: i64) -> Result<(), TokenError> {
    if claims.expires_at <= now {
        return Err(TokenError::Expired);
    }
    if claims.issued_at > now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(TokenError::NotYetValid);
    }
    // Only a bug could produce these, since the claims are our own: refuse rather than trust.
    let lifetime = claims.expires_at.saturating_sub(claims.issued_at);
    if !(0..=MAX_LIFETIME_SECS).contains(&lifetime) || period_of(claims.issued_at) != period {
        return Err(TokenError::Malformed);
    }
    Ok(())
}

/// The messages never echo the token: it is a credential.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the authorization token is malformed")]
    Malformed,
    #[error("the authorization token's signature is not valid")]
    BadSignature,
    #[error("the authorization token has expired; log in again")]
    Expired,
    #[error("the authorization token is not valid yet; check the clocks of the servers")]
    NotYetValid,
}

/// What an STS session token stands for. The token is these claims sealed, secret included,
/// so a node needs only the master key to learn the secret that signed a request.
///
/// [`SessionClaims::open`] checks neither expiry nor that `access_key_id` matches the request's
/// credential; the caller must.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// ASIA…
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The assumed-role principal.
    pub principal: Principal,
    /// The long-term key that assumed the role, so disabling it ends its sessions too.
    pub source_access_key_id: String,
    /// Epoch seconds.
    pub expires_at: i64,
}

impl SessionClaims {
    /// Standard padded base64, like the session tokens AWS hands out.
    pub fn seal(&self, sealer: &Sealer) -> String {
        let json = serde_json::to_vec(self).expect("SessionClaims always serializes");
        STANDARD.encode(sealer.seal(&json, SESSION_AAD))
    }

    pub fn open(token: &str, sealer: &Sealer) -> Result<SessionClaims, TokenError> {
        if token.len() > MAX_SESSION_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let sealed = STANDARD.decode(token).map_err(|_| TokenError::Malformed)?;
        let json = sealer.open(&sealed, SESSION_AAD).map_err(|_| TokenError::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
    }
}

impl fmt::Debug for SessionClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionClaims")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("principal", &self.principal)
            .field("source_access_key_id", &self.source_access_key_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;

    fn master(byte: u8) -> MasterKey {
        MasterKey::from_hex(&hex::encode([byte; 32])).unwrap()
    }

    fn claims(issued_at: i64) -> TokenClaims {
        TokenClaims {
            principal: Principal::user("111111111111", "alice"),
            access_key_id: "AKIAEXAMPLE234567ABC".into(),
            region: "us-east-1".into(),
            issued_at,
            expires_at: issued_at + 12 * 3600,
        }
    }

    #[test]
    fn issue_verify_round_trip() {
        let keys = TokenKeys::new(&master(1));
        let c = claims(NOW);
        assert_eq!(c.expires_at, NOW + 12 * 3600);
        let token = keys.issue(&c);
        assert!(token.starts_with("1."));
        assert!(!token.is_empty() && !token.contains(char::is_whitespace));
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(keys.verify(&token, NOW).unwrap(), c);
        assert_eq!(keys.verify(&token, NOW + 12 * 3600 - 1).unwrap(), c);
        // Another node with the same master key.
        assert_eq!(TokenKeys::new(&master(1)).verify(&token, NOW + 60).unwrap(), c);
    }

    #[test]
    fn every_issue_period_of_a_valid_token_verifies() {
        let keys = TokenKeys::new(&master(1));
        for age in [0, 1, 3600, 6 * 3600, 7 * 3600, 11 * 3600, 12 * 3600 - 1] {
            for now in [NOW, NOW - NOW % PERIOD_SECS, NOW - NOW % PERIOD_SECS - 1] {
                let c = claims(now - age);
                assert_eq!(keys.verify(&keys.issue(&c), now).unwrap(), c, "age {age} now {now}");
            }
        }
    }

    #[test]
    fn token_from_previous_period_verifies() {
        let keys = TokenKeys::new(&master(1));
        let c = claims(NOW - 7 * 3600);
        assert_ne!(period_of(c.issued_at), period_of(NOW));
        assert_eq!(keys.verify(&keys.issue(&c), NOW).unwrap(), c);
    }

    #[test]
    fn tokens_are_signed_per_period() {
        let keys = TokenKeys::new(&master(1));
        assert_ne!(hmac::sign(&keys.period_key(1), b"x").as_ref(), hmac::sign(&keys.period_key(2), b"x").as_ref());
    }

    #[test]
    fn expired_and_not_yet_valid() {
        let keys = TokenKeys::new(&master(1));
        let token = keys.issue(&claims(NOW));
        assert_eq!(keys.verify(&token, NOW + 12 * 3600), Err(TokenError::Expired));
        assert_eq!(keys.verify(&token, NOW + 20 * 3600), Err(TokenError::Expired));
        assert_eq!(keys.verify(&token, NOW - 300).unwrap().issued_at, NOW);
        assert_eq!(keys.verify(&token, NOW - 301), Err(TokenError::NotYetValid));
        // Long after expiry the signing key is no longer tried at all.
        assert_eq!(keys.verify(&token, NOW + 30 * 24 * 3600), Err(TokenError::BadSignature));
        assert_eq!(keys.verify(&token, NOW - 30 * 24 * 3600), Err(TokenError::BadSignature));
    }

    #[test]
    fn overlong_lifetime_is_refused() {
        let keys = TokenKeys::new(&master(1));
        let mut c = claims(NOW);
        c.expires_at = NOW + 12 * 3600 + 61;
        assert_eq!(keys.verify(&keys.issue(&c), NOW), Err(TokenError::Malformed));
        c.expires_at = NOW + 12 * 3600 + 60;
        assert!(keys.verify(&keys.issue(&c), NOW).is_ok());
    }

    #[test]
    fn other_master_key_is_a_bad_signature() {
        let token = TokenKeys::new(&master(1)).issue(&claims(NOW));
        assert_eq!(TokenKeys::new(&master(2)).verify(&token, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn any_changed_character_is_refused() {
        let keys = TokenKeys::new(&master(1));
        let token = keys.issue(&claims(NOW));
        for i in 0..token.len() {
            for replacement in ['A', 'B', '_', '.', '-'] {
                if token.as_bytes()[i] == replacement as u8 {
                    continue;
                }
                let mut changed = token.clone().into_bytes();
                changed[i] = replacement as u8;
                let changed = String::from_utf8(changed).unwrap();
                let result = keys.verify(&changed, NOW);
                assert!(
                    matches!(result, Err(TokenError::BadSignature | TokenError::Malformed)),
                    "position {i} -> {replacement}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_tokens() {
        let keys = TokenKeys::new(&master(1));
        let token = keys.issue(&claims(NOW));
        let (signed, tag) = token.rsplit_once('.').unwrap();
        for bad in [
            String::new(),
            "1.".into(),
            "1..".into(),
            "2.".to_owned() + &token[2..],
            token[..token.len() - 1].into(),
            token.clone() + "A",
            token.clone() + ".",
            format!("{signed}.{tag}.{tag}"),
            format!("{signed}.x.{tag}"),
            format!("1.{tag}"),
            format!("{token} "),
            "1.".to_owned() + &"A".repeat(5000) + "." + tag,
        ] {
            assert_eq!(keys.verify(&bad, NOW).unwrap_err(), TokenError::Malformed, "{bad:.40}");
        }
        // Correctly signed garbage is still refused.
        let garbage = format!("1.{}", URL_SAFE_NO_PAD.encode(b"{\"not\":\"claims\"}"));
        let tag = URL_SAFE_NO_PAD.encode(hmac::sign(&keys.period_key(period_of(NOW)), garbage.as_bytes()));
        assert_eq!(keys.verify(&format!("{garbage}.{tag}"), NOW), Err(TokenError::Malformed));
    }

    #[test]
    fn errors_do_not_echo_the_token() {
        let keys = TokenKeys::new(&master(1));
        let token = keys.issue(&claims(NOW));
        for err in [TokenError::Malformed, TokenError::BadSignature, TokenError::Expired, TokenError::NotYetValid] {
            assert!(!err.to_string().contains(&token[2..12]));
            assert!(!format!("{err:?}").contains(&token[2..12]));
        }
    }

    fn session() -> SessionClaims {
        SessionClaims {
            access_key_id: "ASIAEXAMPLE234567ABC".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            principal: Principal::assumed_role("111111111111", "ci", "build-7"),
            source_access_key_id: "AKIAEXAMPLE234567ABC".into(),
            expires_at: NOW + 3600,
        }
    }

    #[test]
    fn session_token_round_trip() {
        let sealer = Sealer::new(&master(1));
        let token = session().seal(&sealer);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
        assert!(!token.contains("wJalr"));
        assert_eq!(SessionClaims::open(&token, &sealer).unwrap(), session());
        assert_eq!(SessionClaims::open(&token, &Sealer::new(&master(1))).unwrap(), session());
    }

    #[test]
    fn session_token_refusals() {
        let sealer = Sealer::new(&master(1));
        let token = session().seal(&sealer);
        assert_eq!(SessionClaims::open(&token, &Sealer::new(&master(2))), Err(TokenError::Malformed));
        let mut tampered = STANDARD.decode(&token).unwrap();
        tampered[20] ^= 1;
        assert_eq!(SessionClaims::open(&STANDARD.encode(tampered), &sealer), Err(TokenError::Malformed));
        // Sealed with the same key but for another purpose.
        let other = STANDARD.encode(sealer.seal(&serde_json::to_vec(&session()).unwrap(), b"AKIAEXAMPLE"));
        assert_eq!(SessionClaims::open(&other, &sealer), Err(TokenError::Malformed));
        for bad in ["", "!!!!", &token[1..], &"A".repeat(8196)] {
            assert_eq!(SessionClaims::open(bad, &sealer), Err(TokenError::Malformed));
        }
        // A registry token is not a session token.
        let registry = TokenKeys::new(&master(1)).issue(&claims(NOW));
        assert_eq!(SessionClaims::open(&registry, &sealer), Err(TokenError::Malformed));
    }

    #[test]
    fn session_debug_hides_the_secret() {
        let shown = format!("{:?}", session());
        assert!(shown.contains("***"));
        assert!(shown.contains("ASIAEXAMPLE234567ABC"));
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(!format!("{:?}", TokenKeys::new(&master(1))).contains("01"));
    }
}
