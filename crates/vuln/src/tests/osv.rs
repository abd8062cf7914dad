use serde_json::json;

use super::record;
use crate::{Event, RangeKind, Record, SeverityKind};

#[test]
fn feeds_are_read_leniently() {
    // Nulls for lists (the PyPI export has them), unknown fields at every level, and types
    // this crate does not know.
    let parsed = record(json!({
        "id": "X-1",
        "aliases": null,
        "severity": null,
        "schema_version": "1.6.0",
        "credits": [{ "name": "someone" }],
        "affected": [{
            "package": { "ecosystem": "PyPI", "name": "p", "extra": true },
            "ranges": [
                { "type": "ECOSYSTEM", "events": [{ "introduced": "0", "note": "x" }, { "fixed": "1.0" }] },
                { "type": "FUTURE", "events": [{ "introduced": "a" }] }
            ],
            "versions": null,
            "severity": [{ "type": "Ubuntu", "score": "high" }, { "type": "CVSS_V5", "score": "?" }]
        }],
        "references": [{ "type": "WEB", "url": "https://example.com" }]
    }));
    assert!(parsed.aliases.is_empty() && parsed.severity.is_empty());
    let entry = &parsed.affected[0];
    assert!(entry.versions.is_empty());
    assert_eq!(entry.ranges[0].events, [Event::Introduced("0".into()), Event::Fixed("1.0".into())]);
    assert_eq!(entry.ranges[1].kind, RangeKind::Other("FUTURE".into()));
    assert_eq!(entry.severity[0].kind, SeverityKind::Ubuntu);
    assert_eq!(entry.severity[1].kind, SeverityKind::Other("CVSS_V5".into()));
}

#[test]
fn records_survive_a_round_trip_through_json() {
    let original = record(json!({
        "id": "GHSA-xxxx-yyyy-zzzz",
        "aliases": ["CVE-2024-1"],
        "summary": "s",
        "details": "d",
        "modified": "2024-01-02T00:00:00Z",
        "published": "2024-01-01T00:00:00Z",
        "severity": [{ "type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
        "affected": [{
            "package": { "ecosystem": "npm", "name": "p", "purl": "pkg:npm/p" },
            "ranges": [
                { "type": "SEMVER", "events": [{ "introduced": "0" }, { "last_affected": "1.2.3" }, { "limit": "2.0.0" }] },
                { "type": "GIT", "repo": "https://example.com/p.git", "events": [{ "introduced": "abc" }] },
                { "type": "FUTURE", "events": [] }
            ],
            "versions": ["1.0.0"],
            "ecosystem_specific": { "affects": ["f"] },
            "database_specific": { "source": "x" }
        }],
        "references": [{ "type": "ADVISORY", "url": "https://example.com/a" }],
        "database_specific": { "severity": "HIGH" }
    }));
    let json = serde_json::to_string(&original).expect("serializes");
    assert_eq!(Record::from_json(&json).expect("parses again"), original);
    // Absent and empty parts are left out rather than written as null.
    assert!(!json.contains("null") && !json.contains("\"withdrawn\""));
}

#[test]
fn an_event_needs_exactly_one_version() {
    for events in [json!([{ "introduced": "0", "fixed": "1" }]), json!([{}]), json!([{ "unknown": "1" }])] {
        let value = json!({ "id": "X", "affected": [{ "ranges": [{ "type": "SEMVER", "events": events }] }] });
        let err = Record::from_json(&value.to_string()).expect_err("refused");
        assert!(err.to_string().contains("exactly one"), "{err}");
    }
}

#[test]
fn a_record_needs_an_id() {
    assert!(Record::from_json(r#"{"affected": []}"#).is_err());
    assert!(Record::from_json("[]").is_err());
}
