//! Maven versions, ordered as `ComparableVersion` of maven-artifact 3.8 orders them, made
//! into a total order.
//!
//! A version is lower-cased and split into items at `.`, at `-`, and where digits and
//! non-digits meet; a `-` or such a meeting opens a nested list for the rest, so the lists
//! form a chain, each ending with the next. Trailing "null" items (`0`, `""` and its aliases
//! `final`, `ga`, `release`, empty lists) are dropped from each list. Items then compare as
//! `ComparableVersion`'s do: numbers by value, the well-known qualifiers in their order
//! (`alpha < beta < milestone < rc < snapshot < "" < sp`) with any other after them
//! alphabetically, and a missing item as null.
//!
//! `ComparableVersion` is not transitive where items of different kinds meet: a `0` ranks
//! above every qualifier and list, yet equals the null that pads a shorter list, and null
//! ranks below `sp` and below a list of numbers (so `2.9.0.RC1 < 2.9 < 2.9.0-1 < 2.9.0.RC1`).
//! Sorting and range checks need a total order, so here every item first takes a side of
//! null: below (pre-release qualifiers), equal, or above (numbers, post-release and unknown
//! qualifiers); a `0` takes the side of what follows it in its list, and a list that of its
//! first item not equal to null. Items on different sides order by side; on the same side,
//! by `ComparableVersion`'s order of kinds (qualifier < list < number), then by value. Where
//! `ComparableVersion` contradicts itself, this keeps a release's candidates below its
//! builds (`2.9.0.RC1 < 2.9.0-1`); the two agree on all the conformance vectors but the
//! three that record its cycles (see `tests/vectors.rs`).
//!
//! One more deviation, from the specification's side: see [`normalize`].

use std::cmp::Ordering;

use super::cmp_digits;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    compare_chains(&parse(a), &parse(b))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    /// Digits without leading zeros: empty for zero.
    Int(String),
    /// A qualifier, after its aliases are resolved.
    Str(String),
}

impl Atom {
    fn int(digits: &str) -> Self {
        Self::Int(digits.trim_start_matches('0').to_owned())
    }

    /// `followed_by_digit` is set where a qualifier ends because a number starts: only there
    /// are `a`, `b` and `m` short for `alpha`, `beta` and `milestone`.
    fn string(qualifier: &str, followed_by_digit: bool) -> Self {
        let qualifier = match qualifier {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            other => other,
        };
        Self::Str(qualifier.to_owned())
    }

    fn parse(text: &str, is_digit: bool) -> Self {
        if is_digit { Self::int(text) } else { Self::string(text, false) }
    }

    fn is_null(&self) -> bool {
        match self {
            Self::Int(digits) | Self::Str(digits) => digits.is_empty(),
        }
    }

    /// The side of null this atom is on by itself; `None` for a zero, which takes the side
    /// of what follows it.
    fn own_side(&self) -> Option<Ordering> {
        match self {
            Self::Int(digits) if digits.is_empty() => None,
            Self::Int(_) => Some(Ordering::Greater),
            Self::Str(qualifier) => Some(qualifier_rank(qualifier).cmp(&qualifier_rank(""))),
        }
    }
}

/// One list of the chain: its atoms, then (unless it is the last) the next list.
#[derive(Debug)]
struct Level {
    atoms: Vec<Atom>,
    /// The side of null of each atom, and of the level as a whole (its first atom, or the
    /// next list, not equal to null), filled in by [`assign_sides`].
    sides: Vec<Ordering>,
    side: Ordering,
}

impl Level {
    fn new() -> Self {
        Self { atoms: Vec::new(), sides: Vec::new(), side: Ordering::Equal }
    }
}

fn push(levels: &mut [Level], atom: Atom) {
    if let Some(level) = levels.last_mut() {
        level.atoms.push(atom);
    }
}

fn parse(version: &str) -> Vec<Level> {
    let version = version.to_lowercase();
    let mut levels = vec![Level::new()];
    let mut is_digit = false;
    let mut start = 0;
    for (i, c) in version.char_indices() {
        match c {
            '.' | '-' => {
                push(
                    &mut levels,
                    if i == start { Atom::Int(String::new()) } else { Atom::parse(&version[start..i], is_digit) },
                );
                start = i + 1;
                if c == '-' {
                    levels.push(Level::new());
                }
            }
            '0'..='9' => {
                if !is_digit && i > start {
                    push(&mut levels, Atom::string(&version[start..i], true));
                    start = i;
                    levels.push(Level::new());
                }
                is_digit = true;
            }
            _ => {
                if is_digit && i > start {
                    push(&mut levels, Atom::int(&version[start..i]));
                    start = i;
                    levels.push(Level::new());
                }
                is_digit = false;
            }
        }
    }
    if version.len() > start {
        push(&mut levels, Atom::parse(&version[start..], is_digit));
    }
    normalize(&mut levels);
    assign_sides(&mut levels);
    levels
}

/// Drops the null items at the end of each list, innermost first as `ComparableVersion`
/// does: an empty next list goes, and nulls before a non-empty one go too (`1.0-beta` is
/// `1-beta`). A nested list left holding nothing but the next list is that list: Maven's
/// version order specification trims a null before each hyphen, so `1-ga-1` is `1-1`,
/// where maven-artifact 3.8 keeps an extra level and puts it lower. The outermost list
/// keeps its level, which is what puts `0.0.0-2021` below `20`.
fn normalize(levels: &mut Vec<Level>) {
    // Rebuilt innermost first, so that dropping a level costs nothing.
    let mut kept: Vec<Level> = Vec::with_capacity(levels.len());
    for (k, mut level) in levels.drain(..).enumerate().rev() {
        if kept.last().is_some_and(|next| next.atoms.is_empty()) {
            kept.clear();
        }
        while level.atoms.last().is_some_and(Atom::is_null) {
            level.atoms.pop();
        }
        if k == 0 || !level.atoms.is_empty() || kept.is_empty() {
            kept.push(level);
        }
    }
    kept.reverse();
    *levels = kept;
}

fn assign_sides(levels: &mut [Level]) {
    let mut after = Ordering::Equal;
    for level in levels.iter_mut().rev() {
        level.sides = vec![Ordering::Equal; level.atoms.len()];
        for (atom, side) in level.atoms.iter().zip(&mut level.sides).rev() {
            *side = atom.own_side().unwrap_or(after);
            if side.is_ne() {
                after = *side;
            }
        }
        level.side = after;
    }
}

/// An item of a list, or the null that pads the shorter of two lists.
#[derive(Debug, Clone, Copy)]
enum Item<'a> {
    Atom(&'a Atom, Ordering),
    List(Ordering),
    Null,
}

impl Item<'_> {
    fn side(self) -> Ordering {
        match self {
            Self::Atom(_, side) | Self::List(side) => side,
            Self::Null => Ordering::Equal,
        }
    }

    /// Among items on the same side of null: qualifiers, then lists, then numbers.
    fn kind(self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Atom(Atom::Str(_), _) => 1,
            Self::List(_) => 2,
            Self::Atom(Atom::Int(_), _) => 3,
        }
    }
}

fn item(levels: &[Level], k: usize, i: usize) -> Item<'_> {
    let Some(level) = levels.get(k) else { return Item::Null };
    match (level.atoms.get(i), level.sides.get(i)) {
        (Some(atom), Some(&side)) => Item::Atom(atom, side),
        _ if i == level.atoms.len() && k + 1 < levels.len() => Item::List(levels[k + 1].side),
        _ => Item::Null,
    }
}

/// Walks both chains level by level; two lists meet only as the last items of their levels,
/// so descending into them is a loop, whatever the depth.
fn compare_chains(a: &[Level], b: &[Level]) -> Ordering {
    let mut k = 0;
    'levels: loop {
        let len =
            |levels: &[Level]| levels.get(k).map_or(0, |level| level.atoms.len() + usize::from(k + 1 < levels.len()));
        for i in 0..len(a).max(len(b)) {
            let (x, y) = (item(a, k, i), item(b, k, i));
            let order = x.side().cmp(&y.side());
            if order.is_ne() {
                return order;
            }
            if x.side().is_eq() {
                continue;
            }
            match (x, y) {
                (Item::Atom(Atom::Int(x), _), Item::Atom(Atom::Int(y), _)) => {
                    match cmp_digits(x.as_bytes(), y.as_bytes()) {
                        Ordering::Equal => {}
                        order => return order,
                    }
                }
                (Item::Atom(Atom::Str(x), _), Item::Atom(Atom::Str(y), _)) => {
                    match qualifier_rank(x).cmp(&qualifier_rank(y)) {
                        Ordering::Equal => {}
                        order => return order,
                    }
                }
                (Item::List(_), Item::List(_)) => {
                    k += 1;
                    continue 'levels;
                }
                _ => return x.kind().cmp(&y.kind()),
            }
        }
        return Ordering::Equal;
    }
}

/// Known qualifiers by their place; unknown ones after all of them, alphabetically.
fn qualifier_rank(qualifier: &str) -> (usize, &str) {
    const KNOWN: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
    match KNOWN.iter().position(|known| *known == qualifier) {
        Some(index) => (index, ""),
        None => (KNOWN.len(), qualifier),
    }
}
