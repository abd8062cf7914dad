//! RPM versions, `[epoch:]version[-release]`, ordered as rpm's `rpmvercmp` orders each part.
//!
//! A part is read as a sequence of segments: runs of digits, runs of ASCII letters, and the
//! single characters `~` and `^`; anything else (punctuation, non-ASCII) only separates
//! segments. Segment by segment: `~` sorts before anything, even the end (pre-releases);
//! the end sorts before `^` (post-release snapshots), which sorts before any letters or
//! digits; letters sort before digits; digits compare by value and letters bytewise. An
//! empty part sorts before every non-empty one.

use std::cmp::Ordering;

use super::{cmp_digits, split_while};

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (Version::parse(a), Version::parse(b));
    compare_part(a.epoch, b.epoch)
        .then_with(|| compare_part(a.version, b.version))
        .then_with(|| compare_part(a.release, b.release))
}

struct Version<'a> {
    epoch: &'a [u8],
    version: &'a [u8],
    /// Keeps its leading `-`, so that `1-` (an empty release) sorts after `1` (none).
    release: &'a [u8],
}

impl<'a> Version<'a> {
    /// Never fails: a prefix before `:` that is not all digits is no epoch (module streams
    /// put colons in versions), and the release starts at the first `-`.
    fn parse(s: &'a str) -> Self {
        let s = s.as_bytes();
        let (epoch, rest) = match s.iter().position(|&c| c == b':') {
            Some(i) if s[..i].iter().all(u8::is_ascii_digit) => (&s[..i], &s[i + 1..]),
            _ => (&s[..0], s),
        };
        let epoch: &[u8] = if epoch.is_empty() { b"0" } else { epoch };
        let (version, release) = rest.split_at(rest.iter().position(|&c| c == b'-').unwrap_or(rest.len()));
        Self { epoch, version, release }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment<'a> {
    Tilde,
    End,
    Caret,
    Letters(&'a [u8]),
    Digits(&'a [u8]),
}

impl Segment<'_> {
    fn rank(self) -> u8 {
        match self {
            Self::Tilde => 0,
            Self::End => 1,
            Self::Caret => 2,
            Self::Letters(_) => 3,
            Self::Digits(_) => 4,
        }
    }

    fn cmp(self, other: Self) -> Ordering {
        match (self, other) {
            (Self::Letters(a), Self::Letters(b)) => a.cmp(b),
            (Self::Digits(a), Self::Digits(b)) => cmp_digits(a, b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// The next segment of `s` and what follows it.
fn next_segment(s: &[u8]) -> (Segment<'_>, &[u8]) {
    let s = &s[s.iter().position(|&c| c.is_ascii_alphanumeric() || c == b'~' || c == b'^').unwrap_or(s.len())..];
    match s.first() {
        None => (Segment::End, s),
        Some(b'~') => (Segment::Tilde, &s[1..]),
        Some(b'^') => (Segment::Caret, &s[1..]),
        Some(c) if c.is_ascii_digit() => {
            let (digits, rest) = split_while(s, |c| c.is_ascii_digit());
            (Segment::Digits(digits), rest)
        }
        Some(_) => {
            let (letters, rest) = split_while(s, |c| c.is_ascii_alphabetic());
            (Segment::Letters(letters), rest)
        }
    }
}

fn compare_part(mut a: &[u8], mut b: &[u8]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    loop {
        let (a_segment, a_rest) = next_segment(a);
        let (b_segment, b_rest) = next_segment(b);
        match a_segment.cmp(b_segment) {
            Ordering::Equal if a_segment == Segment::End => return Ordering::Equal,
            Ordering::Equal => (a, b) = (a_rest, b_rest),
            order => return order,
        }
    }
}
