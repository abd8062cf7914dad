use serde_json::{Value, json};

use super::record;
use crate::{CvssVersion, Severity, SeveritySource, assess};

const CRITICAL_V3: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const MEDIUM_V3: &str = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N";
const V4: &str = "CVSS:4.0/AV:N/AC:H/AT:P/PR:H/UI:P/VC:N/VI:L/VA:L/SC:N/SI:N/SA:N";
const HIGH_V2: &str = "AV:N/AC:L/Au:N/C:P/I:P/A:P";

#[test]
fn scores_fall_into_ecr_bands() {
    let cases = [
        (10.0, Severity::Critical),
        (9.0, Severity::Critical),
        (8.9, Severity::High),
        (7.0, Severity::High),
        (6.9, Severity::Medium),
        (4.0, Severity::Medium),
        (3.9, Severity::Low),
        (0.1, Severity::Low),
        (0.0, Severity::Informational),
        (f64::NAN, Severity::Undefined),
        (-1.0, Severity::Undefined),
    ];
    for (score, severity) in cases {
        assert_eq!(Severity::from_score(score), severity, "{score}");
    }
}

#[test]
fn ratings_in_words_are_understood() {
    let cases = [
        ("CRITICAL", Some(Severity::Critical)),
        ("Important", Some(Severity::High)),
        ("high", Some(Severity::High)),
        ("MODERATE", Some(Severity::Medium)),
        ("medium", Some(Severity::Medium)),
        (" Low ", Some(Severity::Low)),
        ("negligible", Some(Severity::Informational)),
        ("unimportant", Some(Severity::Informational)),
        ("", None),
        ("urgent", None),
    ];
    for (rating, severity) in cases {
        assert_eq!(Severity::from_rating(rating), severity, "{rating:?}");
    }
    assert_eq!(serde_json::to_value(Severity::Informational).expect("serializes"), json!("INFORMATIONAL"));
    assert_eq!(Severity::Critical.as_str(), "CRITICAL");
}

/// A record with one affected entry in `ecosystem`, and the given extra fields merged in.
fn advisory(ecosystem: &str, extra: Value) -> crate::Record {
    let mut value = json!({
        "id": "X-1",
        "affected": [{ "package": { "ecosystem": ecosystem, "name": "p" }, "versions": ["1"] }]
    });
    if let (Some(target), Value::Object(extra)) = (value.as_object_mut(), extra) {
        target.extend(extra);
    }
    record(value)
}

fn assessed(record: &crate::Record) -> (Severity, SeveritySource, Option<CvssVersion>, Option<f64>) {
    let entries: Vec<&crate::Affected> = record.affected.iter().collect();
    let assessment = assess(record, &entries);
    let cvss = assessment.cvss.as_ref();
    (assessment.severity, assessment.source, cvss.map(|c| c.version), cvss.and_then(|c| c.base_score))
}

#[test]
fn severities_are_decided_in_order_of_preference() {
    use Severity::*;
    use SeveritySource as S;
    let v3 = |score: &str| json!({ "type": "CVSS_V3", "score": score });
    let v4 = json!({ "type": "CVSS_V4", "score": V4 });
    let v2 = json!({ "type": "CVSS_V2", "score": HIGH_V2 });
    let cases = [
        // The distribution's rating first, even over CVSS; the score is still reported.
        (
            advisory("AlmaLinux:9", json!({ "summary": "Moderate: p security update", "severity": [v3(CRITICAL_V3)] })),
            (Medium, S::Distribution, Some(CvssVersion::V3_1), Some(9.8)),
        ),
        (
            advisory("Ubuntu:22.04:LTS", json!({ "severity": [{ "type": "Ubuntu", "score": "negligible" }] })),
            (Informational, S::Distribution, None, None),
        ),
        // A summary prefix means nothing outside RPM distributions.
        (
            advisory("PyPI", json!({ "summary": "Low: p", "severity": [v3(CRITICAL_V3)] })),
            (Critical, S::CvssV3, Some(CvssVersion::V3_1), Some(9.8)),
        ),
        // CVSS v3 before the database's rating.
        (
            advisory("npm", json!({ "severity": [v3(MEDIUM_V3)], "database_specific": { "severity": "CRITICAL" } })),
            (Medium, S::CvssV3, Some(CvssVersion::V3_1), Some(5.5)),
        ),
        // A v4-only advisory takes the database's rating; its vector is reported unscored.
        (
            advisory("crates.io", json!({ "severity": [v4.clone()], "database_specific": { "severity": "MODERATE" } })),
            (Medium, S::Database, Some(CvssVersion::V4_0), None),
        ),
        (advisory("crates.io", json!({ "severity": [v4] })), (Undefined, S::None, Some(CvssVersion::V4_0), None)),
        // The database's rating before CVSS v2, which is used when nothing else is there.
        (
            advisory("npm", json!({ "severity": [v2.clone()], "database_specific": { "severity": "LOW" } })),
            (Low, S::Database, Some(CvssVersion::V2), Some(7.5)),
        ),
        (advisory("npm", json!({ "severity": [v2] })), (High, S::CvssV2, Some(CvssVersion::V2), Some(7.5))),
        // Vectors that do not parse are passed over.
        (advisory("npm", json!({ "severity": [v3("CVSS:3.1/AV:N")] })), (Undefined, S::None, None, None)),
        (advisory("npm", json!({})), (Undefined, S::None, None, None)),
    ];
    for (record, expected) in cases {
        assert_eq!(assessed(&record), expected, "{record:?}");
    }
}

#[test]
fn a_package_s_own_severity_comes_before_the_advisory_s() {
    let record = record(json!({
        "id": "X-1",
        "severity": [{ "type": "CVSS_V3", "score": CRITICAL_V3 }],
        "affected": [{
            "package": { "ecosystem": "npm", "name": "p" },
            "severity": [{ "type": "CVSS_V3", "score": MEDIUM_V3 }],
            "database_specific": { "severity": "LOW" }
        }]
    }));
    assert_eq!(assessed(&record), (Severity::Medium, SeveritySource::CvssV3, Some(CvssVersion::V3_1), Some(5.5)));
    // With no entry matched, only the advisory's own severity counts.
    assert_eq!(assess(&record, &[]).severity, Severity::Critical);
}
