//! Debian package versions, `[epoch:]upstream[-revision]`, ordered as `dpkg --compare-versions`
//! does (deb-version(7)): the epoch numerically, then upstream and revision each by
//! alternating non-digit and digit runs, where `~` sorts before everything, even the end of
//! the string, and letters sort before other characters.

use std::cmp::Ordering;

use super::{cmp_digits, split_while};

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (Version::parse(a), Version::parse(b));
    cmp_digits(a.epoch, b.epoch)
        .then_with(|| compare_part(a.upstream, b.upstream))
        .then_with(|| compare_part(a.revision, b.revision))
}

struct Version<'a> {
    epoch: &'a [u8],
    upstream: &'a [u8],
    revision: &'a [u8],
}

impl<'a> Version<'a> {
    /// Never fails: a prefix before `:` that is not a number is not an epoch but part of the
    /// upstream version, and a missing revision is the empty one, which dpkg orders as `0`.
    fn parse(s: &'a str) -> Self {
        let s = s.trim().as_bytes();
        let (epoch, rest) = match s.iter().position(|&c| c == b':') {
            Some(i) if s[..i].iter().all(u8::is_ascii_digit) => (&s[..i], &s[i + 1..]),
            _ => (&s[..0], s),
        };
        // Upstream versions may contain hyphens; the revision is what follows the last one.
        let (upstream, revision) = match rest.iter().rposition(|&c| c == b'-') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        Self { epoch, upstream, revision }
    }
}

fn compare_part(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        let (a_text, a_rest) = split_while(a, |c| !c.is_ascii_digit());
        let (b_text, b_rest) = split_while(b, |c| !c.is_ascii_digit());
        let mut text = (0..a_text.len().max(b_text.len())).map(|i| weight(a_text.get(i)).cmp(&weight(b_text.get(i))));
        if let Some(order) = text.find(|order| order.is_ne()) {
            return order;
        }
        let (a_num, a_rest) = split_while(a_rest, |c| c.is_ascii_digit());
        let (b_num, b_rest) = split_while(b_rest, |c| c.is_ascii_digit());
        match cmp_digits(a_num, b_num) {
            Ordering::Equal => (a, b) = (a_rest, b_rest),
            order => return order,
        }
    }
    Ordering::Equal
}

/// `~` < end of the run < letters < everything else.
fn weight(c: Option<&u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(&c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(&c) => i32::from(c) + 256,
    }
}
