//! Alpine package versions, `number{.number}[letter]{_suffix[number]}[~hash][-rN]`, ordered
//! as apk-tools orders them.
//!
//! The version before the `-r` is read as a sequence of tokens, compared pairwise. When the
//! kinds of two tokens differ, a pre-release suffix (`_alpha`, `_beta`, `_pre`, `_rc`) sorts
//! first, and otherwise the version that moved on to a later part of the grammar sorts
//! first: `1.2_p1 < 1.2.1`, `1.2 < 1.2.0`, `1.2 < 1.2a`.
//!
//! apk's treatment of malformed versions has changed between releases; the choices here are
//! the ones the conformance vectors pin down:
//! - anything that does not fit the grammar ends the token sequence as *junk*, which sorts
//!   before a clean end; two junk tails compare bytewise (`6.6.2p1 < 6.6.2p2`);
//! - the `-r` revision is compared after everything before it: no revision sorts before any
//!   `-rN`, and `-r` alone is `-r0`; a `-` followed by anything but `rN` sorts before both,
//!   by the number after its `-r` if there is one (`1-r0-1 = 1-r-2 < 1 < 1-r0`).

use std::cmp::Ordering;

use super::{Digits, split_while};

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (Version::parse(a.as_bytes()), Version::parse(b.as_bytes()));
    compare_main(&a, &b).then_with(|| a.revision.cmp(&b.revision))
}

/// Suffixes in their order, with the place of "no suffix" between pre- and post-releases.
const PRE_SUFFIXES: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST_SUFFIXES: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

#[derive(Debug, Clone, Copy)]
enum Token<'a> {
    Number(&'a [u8]),
    Letter(u8),
    /// Index into `PRE_SUFFIXES` followed by `POST_SUFFIXES`.
    Suffix(usize),
    SuffixNumber(&'a [u8]),
    Hash(&'a [u8]),
}

/// How the tokens before the revision end.
#[derive(Debug, Clone, Copy)]
enum End<'a> {
    Clean,
    Junk(&'a [u8]),
}

/// What follows the first `-`, in sort order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Revision<'a> {
    /// Not `-rN`: the number is that of a `-r` that junk follows, if any.
    Junk(Digits<'a>),
    Absent,
    Clean(Digits<'a>),
}

struct Version<'a> {
    tokens: Vec<Token<'a>>,
    end: End<'a>,
    revision: Revision<'a>,
}

impl<'a> Version<'a> {
    fn parse(s: &'a [u8]) -> Self {
        let mut version = Self { tokens: Vec::new(), end: End::Clean, revision: Revision::Absent };
        let (first, mut rest) = split_while(s, |c| c.is_ascii_digit());
        if first.is_empty() {
            version.end = End::Junk(s);
            return version;
        }
        version.tokens.push(Token::Number(first));
        while let Some(&c) = rest.first() {
            if c == b'-' {
                version.parse_revision(rest);
                return version;
            }
            match next_token(version.tokens.last(), rest) {
                Some((token, after)) => {
                    version.tokens.push(token);
                    rest = after;
                }
                None => {
                    version.end = End::Junk(rest);
                    return version;
                }
            }
        }
        version
    }

    /// `rest` starts with `-`.
    fn parse_revision(&mut self, rest: &'a [u8]) {
        self.revision = match rest.strip_prefix(b"-r") {
            Some(after) => match split_while(after, |c| c.is_ascii_digit()) {
                (digits, b"") => Revision::Clean(Digits(digits)),
                (digits, _) => Revision::Junk(Digits(digits)),
            },
            None => Revision::Junk(Digits(b"")),
        };
    }

    /// The token at `i`, or how the tokens end once past the last.
    fn element(&self, i: usize) -> Element<'a> {
        self.tokens.get(i).map_or(Element::End(self.end), |&token| Element::Token(token))
    }
}

/// The token that `rest` starts with, if the grammar allows it after `previous`.
fn next_token<'a>(previous: Option<&Token<'a>>, rest: &'a [u8]) -> Option<(Token<'a>, &'a [u8])> {
    let after_number = matches!(previous, Some(Token::Number(_)));
    let before_hash = !matches!(previous, Some(Token::Hash(_)));
    match rest[0] {
        b'a'..=b'z' if after_number => Some((Token::Letter(rest[0]), &rest[1..])),
        b'.' if after_number => {
            non_empty(split_while(&rest[1..], |c| c.is_ascii_digit())).map(|(n, r)| (Token::Number(n), r))
        }
        b'0'..=b'9' if matches!(previous, Some(Token::Suffix(_))) => {
            Some(split_while(rest, |c| c.is_ascii_digit())).map(|(n, r)| (Token::SuffixNumber(n), r))
        }
        b'_' if before_hash => {
            let (name, after) = split_while(&rest[1..], |c| c.is_ascii_lowercase());
            let index = PRE_SUFFIXES.iter().chain(&POST_SUFFIXES).position(|suffix| *suffix == name)?;
            Some((Token::Suffix(index), after))
        }
        b'~' if before_hash => non_empty(split_while(&rest[1..], |c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
            .map(|(hash, r)| (Token::Hash(hash), r)),
        _ => None,
    }
}

fn non_empty<'a>((head, tail): (&'a [u8], &'a [u8])) -> Option<(&'a [u8], &'a [u8])> {
    (!head.is_empty()).then_some((head, tail))
}

#[derive(Debug, Clone, Copy)]
enum Element<'a> {
    Token(Token<'a>),
    End(End<'a>),
}

impl Element<'_> {
    /// Elements of different kinds order by this rank alone: a pre-release suffix first,
    /// then the later a part of the grammar, the earlier.
    fn rank(self) -> u8 {
        match self {
            Self::Token(Token::Suffix(i)) if i < PRE_SUFFIXES.len() => 0,
            Self::End(End::Junk(_)) => 1,
            Self::End(End::Clean) => 2,
            Self::Token(Token::Hash(_)) => 3,
            Self::Token(Token::SuffixNumber(_)) => 4,
            Self::Token(Token::Suffix(_)) => 5,
            Self::Token(Token::Letter(_)) => 6,
            Self::Token(Token::Number(_)) => 7,
        }
    }

    /// `first` marks the leading number, which always compares by value.
    fn order(self, other: Self, first: bool) -> Ordering {
        match (self, other) {
            (Self::Token(Token::Number(a)), Self::Token(Token::Number(b))) => compare_numbers(a, b, first),
            (Self::Token(Token::Letter(a)), Self::Token(Token::Letter(b))) => a.cmp(&b),
            (Self::Token(Token::Suffix(a)), Self::Token(Token::Suffix(b))) => a.cmp(&b),
            (Self::Token(Token::SuffixNumber(a)), Self::Token(Token::SuffixNumber(b))) => Digits(a).cmp(&Digits(b)),
            (Self::Token(Token::Hash(a)), Self::Token(Token::Hash(b))) => a.cmp(b),
            (Self::End(End::Junk(a)), Self::End(End::Junk(b))) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// Later numbers with a leading zero compare as strings, as in Gentoo, whose versions apk's
/// follow: `1.05 < 1.1`, and every such number sorts before those without.
fn compare_numbers(a: &[u8], b: &[u8], first: bool) -> Ordering {
    let key = |n: &[u8]| n.first() != Some(&b'0');
    if first || (key(a) && key(b)) { Digits(a).cmp(&Digits(b)) } else { key(a).cmp(&key(b)).then_with(|| a.cmp(b)) }
}

fn compare_main(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    for i in 0.. {
        let (x, y) = (a.element(i), b.element(i));
        match x.order(y, i == 0) {
            Ordering::Equal if matches!(x, Element::End(_)) => return Ordering::Equal,
            Ordering::Equal => {}
            order => return order,
        }
    }
    Ordering::Equal
}
