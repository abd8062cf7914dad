//! Ruby gem versions, ordered as `Gem::Version#<=>` orders them.
//!
//! A `-` means `.pre.` (`1.0-1` is a pre-release); the version is then read as runs of
//! digits and runs of ASCII letters, everything else only separating them. Trailing zeros
//! are dropped from the leading numbers and from the rest, then the runs compare pairwise,
//! the shorter list padded with zeros: numbers by value, letters bytewise, and letters
//! before numbers, so that any version with letters is a pre-release.

use std::cmp::Ordering;

use super::{Digits, split_while};

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim().replace('-', ".pre."), b.trim().replace('-', ".pre."));
    let (a, b) = (canonical_segments(a.as_bytes()), canonical_segments(b.as_bytes()));
    let zero = Segment::Number(Digits(b"0"));
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).unwrap_or(&zero).cmp(b.get(i).unwrap_or(&zero)))
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Segment<'a> {
    Letters(&'a [u8]),
    Number(Digits<'a>),
}

impl Segment<'_> {
    fn is_zero(&self) -> bool {
        matches!(self, Self::Number(n) if n.0.iter().all(|&c| c == b'0'))
    }
}

fn canonical_segments(mut s: &[u8]) -> Vec<Segment<'_>> {
    let mut segments = Vec::new();
    while let Some(&c) = s.first() {
        let (run, rest) = if c.is_ascii_digit() {
            split_while(s, |c| c.is_ascii_digit())
        } else if c.is_ascii_alphabetic() {
            split_while(s, |c| c.is_ascii_alphabetic())
        } else {
            s.split_at(1)
        };
        s = rest;
        if c.is_ascii_digit() {
            segments.push(Segment::Number(Digits(run)));
        } else if c.is_ascii_alphabetic() {
            segments.push(Segment::Letters(run));
        }
    }
    let numeric = segments.iter().position(|segment| matches!(segment, Segment::Letters(_))).unwrap_or(segments.len());
    let letters = segments.split_off(numeric);
    let mut canonical = drop_trailing_zeros(segments);
    canonical.extend(drop_trailing_zeros(letters));
    canonical
}

fn drop_trailing_zeros(mut segments: Vec<Segment<'_>>) -> Vec<Segment<'_>> {
    while segments.last().is_some_and(Segment::is_zero) {
        segments.pop();
    }
    segments
}
