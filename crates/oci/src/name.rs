//! Repository names (ECR's grammar), tags, and the `<reference>` of a manifest URL.

use crate::digest::{Digest, DigestError};

pub const MAX_NAME_LEN: usize = 256;
const MIN_NAME_LEN: usize = 2;
const MAX_TAG_LEN: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error(
        "repository name must be {MIN_NAME_LEN} to {MAX_NAME_LEN} characters of lower-case path components separated by '/', each matching [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*"
    )]
    InvalidName,
    #[error("tag must match [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}")]
    InvalidTag,
    #[error(transparent)]
    InvalidDigest(#[from] DigestError),
}

/// Checks a repository name against ECR's `RepositoryName` pattern and length bounds.
pub fn validate_repository_name(name: &str) -> Result<(), NameError> {
    if !(MIN_NAME_LEN..=MAX_NAME_LEN).contains(&name.len()) || !name.split('/').all(valid_component) {
        return Err(NameError::InvalidName);
    }
    Ok(())
}

/// One path component: alphanumeric runs joined by `.`, `_`, `__` or a run of `-`.
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let run_start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == run_start {
            return false; // empty run: leading, trailing or doubled separator
        }
        if i == bytes.len() {
            return true;
        }
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[sep_start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
}

pub fn validate_tag(tag: &str) -> Result<(), NameError> {
    let bytes = tag.as_bytes();
    let first_ok = bytes.first().is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if first_ok && rest_ok && bytes.len() <= MAX_TAG_LEN { Ok(()) } else { Err(NameError::InvalidTag) }
}

/// The `<reference>` part of `/v2/<name>/manifests/<reference>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    /// A reference with a `:` is a digest, anything else a tag (tags cannot hold `:`).
    pub fn parse(s: &str) -> Result<Reference, NameError> {
        if s.contains(':') {
            Ok(Reference::Digest(s.parse()?))
        } else {
            validate_tag(s)?;
            Ok(Reference::Tag(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(t) => t,
            Reference::Digest(d) => d.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        let good = [
            "ab",
            "nginx",
            "project-a/nginx-web-app",
            "a/b/c/d/e",
            "a.b",
            "a_b",
            "a__b",
            "a---b",
            "0abc",
            "my.repo_x__y--z/q",
        ];
        let long_ok = "a".repeat(256);
        let long_bad = "a".repeat(257);
        let bad = [
            "a",
            "",
            "A",
            "Nginx",
            "a_",
            "_a",
            "a___b",
            "a..b",
            "a.-b",
            "a/",
            "/a",
            "a//b",
            "a b",
            "a:b",
            "a/B",
            "a+b",
            long_bad.as_str(),
        ];
        for n in good.iter().copied().chain([long_ok.as_str()]) {
            assert_eq!(validate_repository_name(n), Ok(()), "{n}");
        }
        for n in bad {
            assert_eq!(validate_repository_name(n), Err(NameError::InvalidName), "{n}");
        }
    }

    #[test]
    fn tags() {
        let max = "a".repeat(128);
        let over = "a".repeat(129);
        for t in ["latest", "v1.2.3", "_x", "A-b_c.d", max.as_str()] {
            assert!(validate_tag(t).is_ok(), "{t}");
        }
        for t in ["", ".x", "-x", "a/b", "a:b", "a b", over.as_str()] {
            assert!(validate_tag(t).is_err(), "{t}");
        }
    }

    #[test]
    fn references() {
        assert_eq!(Reference::parse("v1").unwrap(), Reference::Tag("v1".into()));
        assert!(matches!(
            Reference::parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            Ok(Reference::Digest(_))
        ));
        assert!(matches!(Reference::parse("sha256:zz"), Err(NameError::InvalidDigest(_))));
        assert_eq!(Reference::parse("-x"), Err(NameError::InvalidTag));
    }
}
