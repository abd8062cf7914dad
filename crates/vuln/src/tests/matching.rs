use serde_json::json;

use super::{entry, ranged};
use crate::VersionScheme::{self, *};
use crate::{Affected, affected};

/// `(version, affected, fixed_in)` for one entry under one scheme.
fn check(scheme: VersionScheme, entry: &Affected, cases: &[(&str, bool, Option<&str>)]) {
    for &(version, expected, fixed_in) in cases {
        let found = affected(entry, version, scheme);
        assert_eq!(found.is_some(), expected, "{version} in {:?}", entry.ranges);
        if let Some(found) = found {
            assert_eq!(found.fixed_in.as_deref(), fixed_in, "{version} in {:?}", entry.ranges);
        }
    }
}

#[test]
fn introduced_is_inclusive_and_fixed_exclusive() {
    let from_start = ranged("SEMVER", json!([{ "introduced": "0" }, { "fixed": "1.0.0" }]));
    check(
        Semver,
        &from_start,
        &[
            ("0.0.0", true, Some("1.0.0")),
            ("0.9.9", true, Some("1.0.0")),
            ("1.0.0-rc.1", true, Some("1.0.0")),
            ("1.0.0", false, None),
            ("1.0.1", false, None),
        ],
    );
    let bounded = ranged("SEMVER", json!([{ "introduced": "1.2.0" }, { "fixed": "1.4.0" }]));
    check(
        Semver,
        &bounded,
        &[
            ("1.1.9", false, None),
            ("1.2.0", true, Some("1.4.0")),
            ("1.3.9", true, Some("1.4.0")),
            ("1.4.0", false, None),
        ],
    );
}

#[test]
fn several_intervals_in_one_range_give_the_next_fix() {
    // Events out of order, as some feeds write them: they are sorted before use.
    let range = ranged(
        "SEMVER",
        json!([{ "introduced": "2.0.0" }, { "fixed": "1.5.0" }, { "introduced": "0" }, { "fixed": "2.3.0" }]),
    );
    check(
        Semver,
        &range,
        &[
            ("1.0.0", true, Some("1.5.0")),
            ("1.5.0", false, None),
            ("1.9.9", false, None),
            ("2.0.0", true, Some("2.3.0")),
            ("2.3.0", false, None),
        ],
    );
}

#[test]
fn events_at_the_same_version() {
    // Intervals listed out of order, one ending where the next starts: still affected there.
    let contiguous = ranged(
        "ECOSYSTEM",
        json!([{ "introduced": "0.13.0" }, { "fixed": "0.14.0rc1" }, { "introduced": "0.12.2" }, { "fixed": "0.13.0" }]),
    );
    check(
        Pep440,
        &contiguous,
        &[
            ("0.12.1", false, None),
            ("0.12.9", true, Some("0.13.0")),
            ("0.13.0", true, Some("0.14.0rc1")),
            ("0.14.0rc1", false, None),
        ],
    );
    // An empty interval, as RustSec writes a series fixed from its start, affects nothing.
    let empty = ranged(
        "SEMVER",
        json!([{ "introduced": "0.0.0-0" }, { "fixed": "0.9.2" }, { "introduced": "0.10.0" }, { "fixed": "0.10.0" }]),
    );
    check(
        Semver,
        &empty,
        &[("0.9.1", true, Some("0.9.2")), ("0.9.2", false, None), ("0.10.0", false, None), ("0.11.0", false, None)],
    );
}

#[test]
fn last_affected_is_inclusive_and_names_no_fix() {
    let range = ranged("SEMVER", json!([{ "introduced": "1.0.0" }, { "last_affected": "1.5.0" }]));
    check(
        Semver,
        &range,
        &[("0.9.0", false, None), ("1.0.0", true, None), ("1.5.0", true, None), ("1.5.1", false, None)],
    );
    let open = ranged("SEMVER", json!([{ "introduced": "1.0.0" }]));
    check(Semver, &open, &[("0.9.0", false, None), ("99.0.0", true, None)]);
}

#[test]
fn limit_bounds_the_range_from_above() {
    let range = ranged("SEMVER", json!([{ "introduced": "0" }, { "limit": "2.0.0" }]));
    check(Semver, &range, &[("1.9.9", true, None), ("2.0.0", false, None), ("3.0.0", false, None)]);
    let unlimited = ranged("SEMVER", json!([{ "introduced": "0" }, { "limit": "*" }]));
    check(Semver, &unlimited, &[("3.0.0", true, None)]);
}

#[test]
fn listed_versions_match_exactly() {
    let listed = entry(json!({ "package": { "ecosystem": "PyPI", "name": "p" }, "versions": ["1.0", "1.1"] }));
    // By string, as OSV says: `1.0.0` is not listed even if it equals `1.0` under PEP 440.
    check(Pep440, &listed, &[("1.0", true, None), ("1.1", true, None), ("1.0.0", false, None), ("1.2", false, None)]);
    // Listed versions take the fix from the ranges that can be evaluated, not from commits.
    let with_git = entry(json!({
        "package": { "ecosystem": "PyPI", "name": "p" },
        "ranges": [
            { "type": "GIT", "repo": "https://example.com/p", "events": [{ "introduced": "0" }, { "fixed": "9f1c" }] },
            { "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": "2.0" }] }
        ],
        "versions": ["1.5"]
    }));
    check(Pep440, &with_git, &[("1.5", true, Some("2.0")), ("2.0", false, None)]);
}

#[test]
fn git_and_unknown_ranges_are_not_evaluated() {
    let git = ranged("GIT", json!([{ "introduced": "0" }, { "fixed": "abcdef" }]));
    check(Semver, &git, &[("0.1.0", false, None), ("abc", false, None)]);
    let unknown = ranged("FUTURE", json!([{ "introduced": "0" }]));
    check(Semver, &unknown, &[("1.0.0", false, None)]);
}

#[test]
fn semver_ranges_use_semver_in_any_ecosystem() {
    // `1.0.0-1` is a pre-release of 1.0.0 in semver but a post-release in PEP 440.
    let semver = ranged("SEMVER", json!([{ "introduced": "0" }, { "fixed": "1.0.0" }]));
    let ecosystem = ranged("ECOSYSTEM", json!([{ "introduced": "0" }, { "fixed": "1.0.0" }]));
    check(Pep440, &semver, &[("1.0.0-1", true, Some("1.0.0"))]);
    check(Pep440, &ecosystem, &[("1.0.0-1", false, None)]);
}

#[test]
fn ecosystem_ranges_use_the_ecosystem_order() {
    let debian = ranged("ECOSYSTEM", json!([{ "introduced": "0" }, { "fixed": "3.0.11-1~deb12u2" }]));
    check(
        Dpkg,
        &debian,
        &[
            ("3.0.11-1~deb12u1", true, Some("3.0.11-1~deb12u2")),
            ("3.0.11-1~deb12u2", false, None),
            ("3.0.11-1", false, None),
            ("1:1.0-1", false, None),
        ],
    );
    let alpine = ranged("ECOSYSTEM", json!([{ "introduced": "0" }, { "fixed": "3.3.2-r0" }]));
    check(
        Apk,
        &alpine,
        &[("3.3.1-r3", true, Some("3.3.2-r0")), ("3.3.2_rc1-r0", true, Some("3.3.2-r0")), ("3.3.2-r1", false, None)],
    );
    let rpm = ranged("ECOSYSTEM", json!([{ "introduced": "0" }, { "fixed": "1:3.0.1-43.el9_0" }]));
    check(
        Rpm,
        &rpm,
        &[
            ("1:3.0.1-41.el9_0", true, Some("1:3.0.1-43.el9_0")),
            ("3.0.7-27.el9", true, Some("1:3.0.1-43.el9_0")),
            ("1:3.0.7-27.el9", false, None),
        ],
    );
}

#[test]
fn go_ranges_read_the_toolchain_spellings() {
    let stdlib = ranged(
        "SEMVER",
        json!([{ "introduced": "0" }, { "fixed": "1.21.9" }, { "introduced": "1.22.0-0" }, { "fixed": "1.22.2" }]),
    );
    check(
        Go,
        &stdlib,
        &[
            ("go1.21.8", true, Some("1.21.9")),
            ("go1.21.9", false, None),
            ("go1.22rc1", true, Some("1.22.2")),
            ("go1.22.1", true, Some("1.22.2")),
            ("go1.22.2", false, None),
        ],
    );
}

#[test]
fn the_smallest_fix_above_the_version_wins() {
    let two_ranges = entry(json!({
        "package": { "ecosystem": "npm", "name": "p" },
        "ranges": [
            { "type": "SEMVER", "events": [{ "introduced": "0" }, { "fixed": "1.5.0" }] },
            { "type": "SEMVER", "events": [{ "introduced": "0" }, { "fixed": "1.2.0" }] }
        ]
    }));
    check(Semver, &two_ranges, &[("1.0.0", true, Some("1.2.0")), ("1.3.0", true, Some("1.5.0"))]);
}
