//! Presigned download URLs, the answer of `GetDownloadUrlForLayer`. ECR hands out presigned
//! S3 URLs; wharf hands out a URL on itself whose last segment is a token naming one blob of
//! one repository until a time, signed with a key derived from the master key. Whoever holds
//! the URL may download that blob and nothing else, with no other credentials, and any node
//! checks it with one HMAC and no database read.

use std::fmt;

use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::secret::MasterKey;
use crate::token::{decode_claims, sign_claims, split_token};

/// What a download token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadClaims {
    pub account: String,
    pub region: String,
    pub repository: String,
    pub digest: String,
    /// Epoch seconds.
    pub expires_at: i64,
}

/// Signs and checks download tokens.
pub struct Presigner {
    key: hmac::Key,
}

impl Presigner {
    pub fn new(master: &MasterKey) -> Presigner {
        // Its own derived key: a download token can never pass for a registry token, nor
        // the other way round.
        Presigner { key: hmac::Key::new(hmac::HMAC_SHA256, &master.derive("wharf presigned download v1")) }
    }

    /// A URL-safe token (`[A-Za-z0-9_.-]`) carrying `claims`.
    pub fn sign(&self, claims: &DownloadClaims) -> String {
        sign_claims(&self.key, claims)
    }

    /// The claims of a token signed by this key that has not expired at `now`. The
    /// signature is checked (in constant time) before the claims are read.
    pub fn verify(&self, token: &str, now: i64) -> Result<DownloadClaims, PresignError> {
        let (signed, tag) = split_token(token).map_err(|_| PresignError::Invalid)?;
        hmac::verify(&self.key, signed.as_bytes(), &tag).map_err(|_| PresignError::Invalid)?;
        let claims: DownloadClaims = decode_claims(signed).map_err(|_| PresignError::Invalid)?;
        if claims.expires_at <= now {
            return Err(PresignError::Expired);
        }
        Ok(claims)
    }
}

impl fmt::Debug for Presigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Presigner(..)")
    }
}

/// The messages never echo the token: it is a credential.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PresignError {
    #[error("the download URL is not valid")]
    Invalid,
    #[error("the download URL has expired; ask for a new one")]
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{TokenClaims, TokenKeys};

    const NOW: i64 = 1_750_000_000;

    fn master(byte: u8) -> MasterKey {
        MasterKey::from_hex(&hex::encode([byte; 32])).unwrap()
    }

    fn claims() -> DownloadClaims {
        DownloadClaims {
            account: "111111111111".into(),
            region: "us-east-1".into(),
            repository: "team/app".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            expires_at: NOW + 900,
        }
    }

    #[test]
    fn sign_verify_round_trip() {
        let presigner = Presigner::new(&master(1));
        let token = presigner.sign(&claims());
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "{token}");
        assert_eq!(presigner.verify(&token, NOW).unwrap(), claims());
        assert_eq!(presigner.verify(&token, NOW + 899).unwrap(), claims());
        // Another node with the same master key.
        assert_eq!(Presigner::new(&master(1)).verify(&token, NOW).unwrap(), claims());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let presigner = Presigner::new(&master(1));
        let token = presigner.sign(&claims());
        assert_eq!(presigner.verify(&token, NOW + 900), Err(PresignError::Expired));
        assert_eq!(presigner.verify(&token, NOW + 86_400), Err(PresignError::Expired));
    }

    #[test]
    fn any_changed_character_is_refused() {
        let presigner = Presigner::new(&master(1));
        let token = presigner.sign(&claims());
        for i in 0..token.len() {
            for replacement in ['A', 'B', '_', '.', '-'] {
                if token.as_bytes()[i] == replacement as u8 {
                    continue;
                }
                let mut changed = token.clone().into_bytes();
                changed[i] = replacement as u8;
                let changed = String::from_utf8(changed).unwrap();
                assert_eq!(presigner.verify(&changed, NOW), Err(PresignError::Invalid), "position {i}");
            }
        }
    }

    #[test]
    fn claims_cannot_be_changed() {
        let presigner = Presigner::new(&master(1));
        let token = presigner.sign(&claims());
        let tag = token.rsplit_once('.').unwrap().1;
        let other = presigner.sign(&DownloadClaims { repository: "team/other".into(), ..claims() });
        let (other_signed, _) = other.rsplit_once('.').unwrap();
        assert_eq!(presigner.verify(&format!("{other_signed}.{tag}"), NOW), Err(PresignError::Invalid));
    }

    #[test]
    fn other_keys_and_other_tokens_are_refused() {
        let token = Presigner::new(&master(1)).sign(&claims());
        assert_eq!(Presigner::new(&master(2)).verify(&token, NOW), Err(PresignError::Invalid));
        // A registry token made from the same master key is no download token.
        let registry = TokenKeys::new(&master(1)).issue(&TokenClaims {
            principal: crate::Principal::root("111111111111"),
            access_key_id: "AKIAEXAMPLE234567ABC".into(),
            region: "us-east-1".into(),
            issued_at: NOW,
            expires_at: NOW + 3600,
        });
        let presigner = Presigner::new(&master(1));
        for bad in [registry.as_str(), "", "1.", "1..", "garbage", &"A".repeat(5000)] {
            assert_eq!(presigner.verify(bad, NOW), Err(PresignError::Invalid), "{bad:.40}");
        }
    }

    #[test]
    fn errors_and_debug_do_not_show_secrets() {
        let presigner = Presigner::new(&master(1));
        let token = presigner.sign(&claims());
        let tag = token.rsplit_once('.').unwrap().1;
        for err in [PresignError::Invalid, PresignError::Expired] {
            assert!(!err.to_string().contains(tag) && !format!("{err:?}").contains(tag));
        }
        assert_eq!(format!("{presigner:?}"), "Presigner(..)");
    }
}
