//! Semantic Versioning 2.0 ordering, read leniently as the OSV tooling reads it: an optional
//! `v`, any number of numeric parts (missing ones are zero, `1.2 == 1.2.0`), a pre-release
//! starting at the first character that is neither a digit nor a dot (with or without the
//! `-`), and build metadata after `+` ignored.
//!
//! Go module versions are semver with a mandatory `v`, and pseudo-versions
//! (`v0.0.0-20210101000000-abcdef012345`) are ordinary pre-releases, so they need nothing
//! more. The Go toolchain (`stdlib`, `toolchain`) does: its own spellings `go1.21.3` and
//! `go1.22rc1` are rewritten to the `1.21.3` and `1.22.0-rc.1` that the Go vulnerability
//! database uses.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::{Digits, split_while};

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    Semver::parse(a).order(&Semver::parse(b))
}

pub(super) fn compare_go(a: &str, b: &str) -> Ordering {
    compare(&go_to_semver(a), &go_to_semver(b))
}

struct Semver<'a> {
    numbers: Vec<Digits<'a>>,
    /// Dot-separated identifiers; `None` for a release.
    pre: Option<&'a [u8]>,
}

impl<'a> Semver<'a> {
    fn parse(s: &'a str) -> Self {
        let s = s.trim().as_bytes();
        let mut rest = s.strip_prefix(b"v").unwrap_or(s);
        let mut numbers = Vec::new();
        loop {
            let (number, after) = split_while(rest, |c| c.is_ascii_digit());
            if !number.is_empty() {
                numbers.push(Digits(number));
            }
            match after.split_first() {
                Some((b'.', next)) => rest = next,
                _ => {
                    rest = after;
                    break;
                }
            }
        }
        let without_build = rest.split(|&c| c == b'+').next().unwrap_or_default();
        let pre = without_build.strip_prefix(b"-").unwrap_or(without_build);
        Self { numbers, pre: (!pre.is_empty()).then_some(pre) }
    }
}

impl Semver<'_> {
    fn order(&self, other: &Self) -> Ordering {
        let len = self.numbers.len().max(other.numbers.len());
        let number = |v: &Self, i: usize| v.numbers.get(i).copied().unwrap_or(Digits(b"0"));
        (0..len)
            .map(|i| number(self, i).cmp(&number(other, i)))
            .find(|order| order.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| match (self.pre, other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => identifiers(a).cmp(identifiers(b)),
            })
    }
}

/// A pre-release identifier: numeric ones compare by value and sort before the others,
/// which compare bytewise.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier<'a> {
    Number(Digits<'a>),
    Text(&'a [u8]),
}

fn identifiers(pre: &[u8]) -> impl Iterator<Item = Identifier<'_>> {
    pre.split(|&c| c == b'.').map(|part| {
        if !part.is_empty() && part.iter().all(u8::is_ascii_digit) {
            Identifier::Number(Digits(part))
        } else {
            Identifier::Text(part)
        }
    })
}

/// `go1.21.3` → `1.21.3`, `go1.22rc1` → `1.22.0-rc.1`, `1.9beta2` → `1.9.0-beta.2`; anything
/// else unchanged.
fn go_to_semver(s: &str) -> Cow<'_, str> {
    let s = s.trim();
    let s = s.strip_prefix("go").filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit())).unwrap_or(s);
    let (numbers, rest) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let Some((label, n)) = ["alpha", "beta", "rc"]
        .into_iter()
        .find_map(|label| rest.strip_prefix(label).map(|n| (label, n)))
        .filter(|(_, n)| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    else {
        return Cow::Borrowed(s);
    };
    if numbers.is_empty() || numbers.ends_with('.') || numbers.contains("..") {
        return Cow::Borrowed(s);
    }
    let padding = ".0".repeat(3usize.saturating_sub(numbers.split('.').count()));
    Cow::Owned(format!("{numbers}{padding}-{label}.{n}"))
}
