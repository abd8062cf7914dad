//! The server's master key, the keys derived from it, and the sealing of stored secrets
//! (secret access keys at rest, session tokens in flight) with AES-256-GCM.

use std::fmt;

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

const MASTER_KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// The one secret a wharf deployment is configured with; every other key is derived from it,
/// so all nodes sharing it can verify each other's tokens and open each other's sealed values.
pub struct MasterKey([u8; MASTER_KEY_LEN]);

impl MasterKey {
    pub fn generate() -> MasterKey {
        let mut bytes = [0u8; MASTER_KEY_LEN];
        fill_random(&mut bytes);
        MasterKey(bytes)
    }

    /// Parses 64 hex digits; surrounding whitespace (a trailing newline in a key file) is ignored.
    pub fn from_hex(s: &str) -> Result<MasterKey, SecretError> {
        let mut bytes = [0u8; MASTER_KEY_LEN];
        hex::decode_to_slice(s.trim(), &mut bytes).map_err(|_| SecretError::InvalidMasterKey)?;
        Ok(MasterKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// An independent 32-byte sub-key for one purpose (HKDF-SHA256, `label` as info), so that
    /// a key leaked or misused in one role reveals nothing about the others.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(&self.0);
        let mut out = [0u8; 32];
        // Both calls fail only for output lengths other than the algorithm's (here fixed at 32).
        prk.expand(&[label.as_bytes()], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out))
            .expect("HKDF-SHA256 yields 32 bytes");
        out
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Encrypts and authenticates small secrets. Output layout: nonce (12) || ciphertext || tag (16).
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    pub fn new(master: &MasterKey) -> Sealer {
        let key = master.derive("wharf secrets v1");
        // AES-256 takes exactly the 32 bytes `derive` returns.
        let key = UnboundKey::new(&aead::AES_256_GCM, &key).expect("AES-256-GCM key is 32 bytes");
        Sealer { key: LessSafeKey::new(key) }
    }

    /// `aad` names what the secret belongs to (e.g. its access key id): opening with any other
    /// `aad` fails, so a sealed value copied onto another row is useless.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        // Random nonces are safe here: 2^96 space, and far fewer than 2^32 seals per key.
        let mut nonce = [0u8; aead::NONCE_LEN];
        fill_random(&mut nonce);
        let mut out = Vec::with_capacity(aead::NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[aead::NONCE_LEN..],
            )
            // Fails only for plaintexts beyond GCM's ~64 GiB limit, never for secrets.
            .expect("plaintext within AES-GCM limits");
        out.extend_from_slice(tag.as_ref());
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < aead::NONCE_LEN + TAG_LEN {
            return Err(SecretError::Unseal);
        }
        let (nonce, ciphertext) = sealed.split_at(aead::NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Unseal)?;
        let mut buf = ciphertext.to_vec();
        let len = self.key.open_in_place(nonce, Aad::from(aad), &mut buf).map_err(|_| SecretError::Unseal)?.len();
        buf.truncate(len);
        Ok(buf)
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// `prefix` is "AKIA" for long-term keys and "ASIA" for temporary ones, as in AWS.
pub fn new_access_key_id(prefix: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut id = String::with_capacity(prefix.len() + 16);
    id.push_str(prefix);
    id.extend(random_chars::<16>(ALPHABET));
    id
}

pub fn new_secret_access_key() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    random_chars::<40>(ALPHABET).collect()
}

/// `N` characters drawn uniformly from `alphabet`, whose size must be a power of two no larger
/// than 256, so that masking a random byte introduces no bias.
fn random_chars<const N: usize>(alphabet: &[u8]) -> impl Iterator<Item = char> + '_ {
    debug_assert!(alphabet.len().is_power_of_two() && alphabet.len() <= 256);
    let mut bytes = [0u8; N];
    fill_random(&mut bytes);
    let mask = alphabet.len() - 1;
    bytes.into_iter().map(move |b| char::from(alphabet[usize::from(b) & mask]))
}

/// Without randomness no key or credential can be made safely, so there is nothing to fall back on.
fn fill_random(out: &mut [u8]) {
    SystemRandom::new().fill(out).expect("the OS random number generator failed");
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the master key must be 64 hexadecimal digits (32 bytes)")]
    InvalidMasterKey,
    #[error(
        "a sealed secret could not be opened: it is corrupt, or was sealed with another master key or for another record"
    )]
    Unseal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_key_hex_round_trip() {
        let key = MasterKey::generate();
        let parsed = MasterKey::from_hex(&format!("  {}\n", key.to_hex())).unwrap();
        assert_eq!(parsed.to_hex(), key.to_hex());
        assert_eq!(key.to_hex().len(), 64);
        assert_ne!(MasterKey::generate().to_hex(), key.to_hex());
    }

    #[test]
    fn master_key_rejects_bad_hex_without_echoing_it() {
        for bad in ["", "00", &"0".repeat(63), &"0".repeat(65), &"g".repeat(64), &"ab".repeat(33)] {
            let err = MasterKey::from_hex(bad).unwrap_err();
            assert!(matches!(err, SecretError::InvalidMasterKey));
        }
        let err = MasterKey::from_hex(&"7".repeat(62)).unwrap_err().to_string();
        assert!(!err.contains("777"));
    }

    #[test]
    fn debug_hides_key_material() {
        let key = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(..)");
        assert!(!format!("{:?}", Sealer::new(&key)).contains("ab"));
    }

    #[test]
    fn derive_is_deterministic_and_label_separated() {
        let key = MasterKey::from_hex(&"01".repeat(32)).unwrap();
        assert_eq!(key.derive("a"), key.derive("a"));
        assert_ne!(key.derive("a"), key.derive("b"));
        assert_ne!(key.derive("a"), MasterKey::from_hex(&"02".repeat(32)).unwrap().derive("a"));
    }

    #[test]
    fn seal_round_trip() {
        let sealer = Sealer::new(&MasterKey::generate());
        let sealed = sealer.seal(b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"AKIAEXAMPLE");
        assert_eq!(sealed.len(), 12 + 40 + 16);
        assert_eq!(sealer.open(&sealed, b"AKIAEXAMPLE").unwrap(), b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert_eq!(sealer.open(&sealer.seal(b"", b""), b"").unwrap(), b"");
        // Fresh nonce each time.
        assert_ne!(sealer.seal(b"x", b"a"), sealer.seal(b"x", b"a"));
    }

    #[test]
    fn open_refuses_wrong_aad_tampering_and_other_keys() {
        let master = MasterKey::generate();
        let sealer = Sealer::new(&master);
        let sealed = sealer.seal(b"secret", b"AKIAONE");
        assert!(matches!(sealer.open(&sealed, b"AKIATWO"), Err(SecretError::Unseal)));
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert!(sealer.open(&tampered, b"AKIAONE").is_err(), "byte {i}");
        }
        assert!(sealer.open(&sealed[..sealed.len() - 1], b"AKIAONE").is_err());
        assert!(sealer.open(&sealed[..20], b"AKIAONE").is_err());
        assert!(sealer.open(&[], b"AKIAONE").is_err());
        assert!(Sealer::new(&MasterKey::generate()).open(&sealed, b"AKIAONE").is_err());
        // Same master key, another instance: works (any node can open).
        assert_eq!(
            Sealer::new(&MasterKey::from_hex(&master.to_hex()).unwrap()).open(&sealed, b"AKIAONE").unwrap(),
            b"secret"
        );
    }

    #[test]
    fn access_key_ids_and_secrets_look_like_aws() {
        let id = new_access_key_id("AKIA");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("AKIA"));
        assert!(id[4..].bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert!(new_access_key_id("ASIA").starts_with("ASIA"));
        assert_ne!(new_access_key_id("AKIA"), id);

        let secret = new_secret_access_key();
        assert_eq!(secret.len(), 40);
        assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
        assert_ne!(new_secret_access_key(), secret);
    }
}
