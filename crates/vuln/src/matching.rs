//! Whether a version is affected by an advisory's entry for its package, with OSV's
//! evaluation rules (<https://ossf.github.io/osv-schema/#evaluation>):
//!
//! - a version listed in `versions` is affected, by exact string;
//! - each range's events are sorted by version, `introduced: "0"` first, and replayed in
//!   order: `introduced` at or below the version turns it affected, `fixed` at or below it
//!   turns it unaffected (fixed versions are not affected), and so does a `last_affected`
//!   below it (the last affected version still is); `Tie` says how events at the same
//!   version are ordered;
//! - `limit` events bound the range from above: the version must be below one of them;
//! - `ECOSYSTEM` ranges use the ecosystem's order, `SEMVER` ranges semver whatever the
//!   ecosystem, and `GIT` ranges (commits) are not evaluated: they need the repository.

use crate::osv::{Affected, Event, Range, RangeKind};
use crate::version::VersionScheme;

/// An affected version, and the version that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The smallest `fixed` version above the affected one in any of the entry's ranges;
    /// `None` when no fix is known.
    pub fixed_in: Option<String>,
}

/// Evaluates one affected entry for `version`, which must be of the entry's package and
/// ecosystem, ordered by `scheme`. `None` when the version is not affected.
pub fn affected(entry: &Affected, version: &str, scheme: VersionScheme) -> Option<Match> {
    let listed = entry.versions.iter().any(|listed| listed == version);
    if !listed && !entry.ranges.iter().any(|range| range_includes(range, version, scheme)) {
        return None;
    }
    let fixed_in = entry
        .ranges
        .iter()
        .filter_map(|range| Some((range, range_scheme(range, scheme)?)))
        .flat_map(|(range, order)| {
            range.events.iter().filter_map(move |event| match event {
                Event::Fixed(fixed) if order.compare(fixed, version).is_gt() => Some(fixed),
                _ => None,
            })
        })
        // Fixes from ranges of different kinds are ranked by the ecosystem's order.
        .min_by(|a, b| scheme.compare(a, b))
        .cloned();
    Some(Match { fixed_in })
}

/// The order a range's versions follow, or `None` if it cannot be evaluated here.
fn range_scheme(range: &Range, scheme: VersionScheme) -> Option<VersionScheme> {
    match range.kind {
        RangeKind::Ecosystem => Some(scheme),
        // Go's versions are semver already; its scheme only adds the toolchain's spellings.
        RangeKind::Semver if scheme == VersionScheme::Go => Some(VersionScheme::Go),
        RangeKind::Semver => Some(VersionScheme::Semver),
        RangeKind::Git | RangeKind::Other(_) => None,
    }
}

fn range_includes(range: &Range, version: &str, scheme: VersionScheme) -> bool {
    let Some(scheme) = range_scheme(range, scheme) else { return false };
    let mut events: Vec<(&Event, Tie)> = range
        .events
        .iter()
        .enumerate()
        .map(|(i, event)| (event, tie(event, range.events.get(i + 1), scheme)))
        .collect();
    events.sort_by(|(a, a_tie), (b, b_tie)| match (event_key(a), event_key(b)) {
        (EventKey::Version, EventKey::Version) => scheme.compare(a.version(), b.version()).then(a_tie.cmp(b_tie)),
        (a, b) => a.cmp(&b),
    });
    let mut affected = false;
    let mut limits = Vec::new();
    for (event, _) in events {
        match event {
            Event::Introduced(v) => {
                if v == "0" || scheme.compare(version, v).is_ge() {
                    affected = true;
                }
            }
            Event::Fixed(v) => {
                if scheme.compare(version, v).is_ge() {
                    affected = false;
                }
            }
            Event::LastAffected(v) => {
                if scheme.compare(version, v).is_gt() {
                    affected = false;
                }
            }
            Event::Limit(v) if v != "*" => limits.push(v),
            Event::Limit(_) => {}
        }
    }
    affected && (limits.is_empty() || limits.iter().any(|limit| scheme.compare(version, limit).is_lt()))
}

/// The order of events at the same version, which OSV leaves open. Feeds list intervals out
/// of order (`[1.3, 1.4)` before `[1.2, 1.3)`), and the version at which one interval ends
/// and the next starts is affected: there the `fixed` goes first. But an `introduced` that
/// the record follows at once with a `fixed` at the same version is an empty interval
/// (RustSec writes `[0.10.0, 0.10.0)` for a series fixed from its start), and goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tie {
    EmptyInterval,
    Closing,
    Opening,
}

/// `next` is the event after `event` in the record.
fn tie(event: &Event, next: Option<&Event>, scheme: VersionScheme) -> Tie {
    match (event, next) {
        (Event::Introduced(a), Some(Event::Fixed(b))) if scheme.compare(a, b).is_eq() => Tie::EmptyInterval,
        (Event::Introduced(_), _) => Tie::Opening,
        _ => Tie::Closing,
    }
}

/// Where an event sorts before its version is looked at: `introduced: "0"` before every
/// version, `limit: "*"` after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKey {
    Start,
    Version,
    End,
}

fn event_key(event: &Event) -> EventKey {
    match event {
        Event::Introduced(v) if v == "0" => EventKey::Start,
        Event::Limit(v) if v == "*" => EventKey::End,
        _ => EventKey::Version,
    }
}
