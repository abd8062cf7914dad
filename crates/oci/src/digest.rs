//! Content digests (`sha256:<hex>`, `sha512:<hex>`) and the streaming hasher behind them.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("digest must have the form <algorithm>:<hex>")]
    Malformed,
    #[error("unsupported digest algorithm '{0}' (sha256 and sha512 are supported)")]
    UnsupportedAlgorithm(String),
    #[error("digest hex part must be {expected} lower-case hex characters")]
    BadHex { expected: usize },
}

/// A validated digest. The string form is kept because it is what every store and header
/// uses; parsing guarantees it is canonical (lower-case hex of the right length).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    text: String,
}

impl Digest {
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The hex part, without `<algorithm>:`.
    pub fn hex(&self) -> &str {
        &self.text[self.algorithm.as_str().len() + 1..]
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut h = algorithm.hasher();
        h.update(bytes);
        h.finish()
    }

    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::of(Algorithm::Sha256, bytes)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (alg, hex) = s.split_once(':').ok_or(DigestError::Malformed)?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            // The spec's grammar allows other algorithms; we answer them as unsupported
            // rather than malformed so the client sees why.
            _ if !alg.is_empty()
                && alg.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b)) =>
            {
                return Err(DigestError::UnsupportedAlgorithm(alg.to_owned()));
            }
            _ => return Err(DigestError::Malformed),
        };
        let expected = algorithm.hex_len();
        if hex.len() != expected || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::BadHex { expected });
        }
        Ok(Digest { algorithm, text: s.to_owned() })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Streaming hasher for either algorithm. `sha2` picks the SHA-NI code path at run time
/// when the CPU has it.
#[derive(Clone)]
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub fn finish(self) -> Digest {
        let algorithm = self.algorithm();
        let hex = match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        };
        Digest { algorithm, text: format!("{}:{hex}", algorithm.as_str()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY256: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_rejects() {
        let cases: &[(&str, Result<(), DigestError>)] = &[
            (EMPTY256, Ok(())),
            (
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                Err(DigestError::BadHex { expected: 64 }),
            ),
            ("sha256:abc", Err(DigestError::BadHex { expected: 64 })),
            ("sha512:abc", Err(DigestError::BadHex { expected: 128 })),
            ("md5:abc", Err(DigestError::UnsupportedAlgorithm("md5".into()))),
            ("nocolon", Err(DigestError::Malformed)),
            (":abc", Err(DigestError::Malformed)),
            ("SHA256:abc", Err(DigestError::Malformed)),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Digest>().map(|_| ()), *want, "{input}");
        }
    }

    #[test]
    fn hashes_both_algorithms() {
        assert_eq!(Digest::sha256_of(b"").as_str(), EMPTY256);
        let d = Digest::of(Algorithm::Sha512, b"");
        assert!(d.as_str().starts_with("sha512:cf83e1357eefb8bd"));
        assert_eq!(d.as_str().parse::<Digest>().unwrap(), d);
        assert_eq!(d.hex().len(), 128);
    }
}
