//! Python package versions, ordered as PEP 440 (and pypa's `packaging`) orders them.
//!
//! Strings that are not PEP 440 versions are "legacy" versions and sort before every PEP 440
//! one, as they did in `packaging` before it dropped them; among themselves they are ordered
//! as setuptools' `parse_version` used to order them. Old advisories still name such versions,
//! and an installed package may carry one.

use std::cmp::Ordering;

use super::{Digits, split_while};

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    match (Pep440::parse(a), Pep440::parse(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => legacy_parts(a).cmp(&legacy_parts(b)),
    }
}

/// The parts of a PEP 440 version, in the order they are compared.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pep440<'a> {
    epoch: Digits<'a>,
    /// Without trailing zeros, which do not count: `1.0 == 1`.
    release: Vec<Digits<'a>>,
    pre: Pre<'a>,
    post: Option<Digits<'a>>,
    dev: Dev<'a>,
    /// Absent sorts before any local part.
    local: Option<Vec<LocalPart<'a>>>,
}

/// Variants in sort order. A development release of a final release (`1.0.dev1`) sorts
/// before its pre-releases (`1.0a1`).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Pre<'a> {
    DevOfFinal,
    Tagged(PreKind, Digits<'a>),
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    Alpha,
    Beta,
    Candidate,
}

/// A development release sorts before the same version without one.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dev<'a> {
    Dev(Digits<'a>),
    None,
}

/// Letters sort before numbers, and compare without regard to case.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart<'a> {
    Text(Vec<u8>),
    Number(Digits<'a>),
}

const PRE_LABELS: [(&str, PreKind); 8] = [
    ("preview", PreKind::Candidate),
    ("alpha", PreKind::Alpha),
    ("beta", PreKind::Beta),
    ("pre", PreKind::Candidate),
    ("rc", PreKind::Candidate),
    ("a", PreKind::Alpha),
    ("b", PreKind::Beta),
    ("c", PreKind::Candidate),
];
const POST_LABELS: [&str; 3] = ["post", "rev", "r"];

impl<'a> Pep440<'a> {
    /// Follows the regular expression of PEP 440's appendix B, which `packaging` uses: any
    /// case, an optional `v`, optional separators before each part, implicit numbers.
    fn parse(s: &'a str) -> Option<Self> {
        let mut cursor = Cursor(s.trim().as_bytes());
        cursor.label(&["v"]);
        let epoch = cursor.epoch();
        let release = cursor.release()?;
        let pre = cursor.pre();
        let post = cursor.post();
        let dev = cursor.labelled_number(&["dev"]).map(|(_, n)| n);
        let local = cursor.local()?;
        if !cursor.0.is_empty() {
            return None;
        }
        let pre = match (pre, &post, &dev) {
            (Some((kind, n)), _, _) => Pre::Tagged(kind, n),
            (None, None, Some(_)) => Pre::DevOfFinal,
            (None, _, _) => Pre::None,
        };
        Some(Self {
            epoch: epoch.unwrap_or(Digits(b"0")),
            release,
            pre,
            post,
            dev: dev.map_or(Dev::None, Dev::Dev),
            local,
        })
    }
}

/// What is left of the version being parsed.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn digits(&mut self) -> Option<Digits<'a>> {
        let (digits, rest) = split_while(self.0, |c| c.is_ascii_digit());
        self.0 = rest;
        (!digits.is_empty()).then_some(Digits(digits))
    }

    /// Consumes the first of `labels` (ignoring case) that the input starts with.
    fn label(&mut self, labels: &[&str]) -> Option<usize> {
        let index = labels.iter().position(|label| {
            self.0.len() >= label.len() && self.0[..label.len()].eq_ignore_ascii_case(label.as_bytes())
        })?;
        self.0 = &self.0[labels[index].len()..];
        Some(index)
    }

    fn separator(&mut self) {
        if let Some((b'-' | b'_' | b'.', rest)) = self.0.split_first() {
            self.0 = rest;
        }
    }

    /// An optional separator and one of `labels`; consumes nothing unless a label is there.
    fn separated_label(&mut self, labels: &[&str]) -> Option<usize> {
        let start = self.0;
        self.separator();
        let found = self.label(labels);
        if found.is_none() {
            self.0 = start;
        }
        found
    }

    /// `[sep]label[sep][number]`: which label, and the number (`0` when missing).
    fn labelled_number(&mut self, labels: &[&str]) -> Option<(usize, Digits<'a>)> {
        let index = self.separated_label(labels)?;
        // Taken even with no number after it, as the expression's greedy `[-_\.]?` does.
        self.separator();
        Some((index, self.digits().unwrap_or(Digits(b"0"))))
    }

    fn epoch(&mut self) -> Option<Digits<'a>> {
        let start = self.0;
        match (self.digits(), self.0.split_first()) {
            (Some(epoch), Some((b'!', rest))) => {
                self.0 = rest;
                Some(epoch)
            }
            _ => {
                self.0 = start;
                None
            }
        }
    }

    fn release(&mut self) -> Option<Vec<Digits<'a>>> {
        let mut release = vec![self.digits()?];
        while let Some((b'.', rest)) = self.0.split_first() {
            if !rest.first().is_some_and(u8::is_ascii_digit) {
                break;
            }
            self.0 = rest;
            release.extend(self.digits());
        }
        while release.last().is_some_and(|n| n.0.iter().all(|&c| c == b'0')) {
            release.pop();
        }
        Some(release)
    }

    fn pre(&mut self) -> Option<(PreKind, Digits<'a>)> {
        let (index, n) = self.labelled_number(&PRE_LABELS.map(|(label, _)| label))?;
        Some((PRE_LABELS[index].1, n))
    }

    /// `-N` (an implicit post-release) or `[sep](post|rev|r)[sep][N]`.
    fn post(&mut self) -> Option<Digits<'a>> {
        if let Some((b'-', rest)) = self.0.split_first() {
            let start = self.0;
            self.0 = rest;
            if let Some(n) = self.digits() {
                return Some(n);
            }
            self.0 = start;
        }
        self.labelled_number(&POST_LABELS).map(|(_, n)| n)
    }

    /// `+` and dot-, dash- or underscore-separated runs of letters and digits. `Some(None)`
    /// when there is none; `None` when it is malformed, which makes the version legacy.
    fn local(&mut self) -> Option<Option<Vec<LocalPart<'a>>>> {
        let Some((b'+', mut rest)) = self.0.split_first() else {
            return Some(None);
        };
        let mut parts = Vec::new();
        loop {
            let (part, after) = split_while(rest, |c| c.is_ascii_alphanumeric());
            if part.is_empty() {
                return None;
            }
            parts.push(if part.iter().all(u8::is_ascii_digit) {
                LocalPart::Number(Digits(part))
            } else {
                LocalPart::Text(part.to_ascii_lowercase())
            });
            match after.split_first() {
                Some((b'-' | b'_' | b'.', next)) => rest = next,
                _ => {
                    self.0 = after;
                    return Some(Some(parts));
                }
            }
        }
    }
}

/// A part of a legacy version, as setuptools' `_parse_version_parts` made them. Text sorts
/// before numbers (setuptools prefixed text with `*` and zero-padded numbers).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LegacyPart<'a> {
    Text(String),
    Number(Digits<'a>),
}

impl LegacyPart<'_> {
    fn is_text_below_final(&self) -> bool {
        matches!(self, Self::Text(text) if text.as_str() < "final")
    }

    fn is_zero(&self) -> bool {
        matches!(self, Self::Number(n) if n.0.iter().all(|&c| c == b'0'))
    }
}

fn legacy_parts(s: &str) -> Vec<LegacyPart<'_>> {
    let mut parts: Vec<LegacyPart<'_>> = Vec::new();
    for part in legacy_pieces(s.as_bytes()).into_iter().chain([LegacyPart::Text("final".to_owned())]) {
        if matches!(part, LegacyPart::Text(_)) {
            if part.is_text_below_final() {
                while parts.last().is_some_and(|last| matches!(last, LegacyPart::Text(t) if t == "final-")) {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(LegacyPart::is_zero) {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts
}

/// Splits into runs of digits, runs of letters, `.`, `-`, and whatever lies between them,
/// dropping the dots and renaming the pre-release spellings as setuptools did.
fn legacy_pieces(mut s: &[u8]) -> Vec<LegacyPart<'_>> {
    let mut pieces = Vec::new();
    while let Some(&c) = s.first() {
        let (piece, rest) = match c {
            b'0'..=b'9' => split_while(s, |c| c.is_ascii_digit()),
            b'a'..=b'z' | b'A'..=b'Z' => split_while(s, |c| c.is_ascii_alphabetic()),
            b'.' | b'-' => s.split_at(1),
            _ => split_while(s, |c| !c.is_ascii_alphanumeric() && c != b'.' && c != b'-'),
        };
        s = rest;
        if c.is_ascii_digit() {
            pieces.push(LegacyPart::Number(Digits(piece)));
            continue;
        }
        let text = String::from_utf8_lossy(piece).to_ascii_lowercase();
        let text = match text.as_str() {
            "." => continue,
            "pre" | "preview" | "rc" => "c".to_owned(),
            "-" => "final-".to_owned(),
            "dev" => "@".to_owned(),
            _ => text,
        };
        pieces.push(LegacyPart::Text(text));
    }
    pieces
}
