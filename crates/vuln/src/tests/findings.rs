use serde_json::json;

use super::record;
use crate::{Finding, InstalledPackage, MatchError, Record, Severity, SourcePackage, match_package};

fn installed(ecosystem: &str, name: &str, version: &str) -> InstalledPackage {
    InstalledPackage { ecosystem: ecosystem.into(), name: name.into(), version: version.into(), source: None }
}

fn with_source(package: InstalledPackage, name: &str, version: Option<&str>) -> InstalledPackage {
    InstalledPackage { source: Some(SourcePackage { name: name.into(), version: version.map(Into::into) }), ..package }
}

/// An advisory fixing `name` in `ecosystem` at `fixed`.
fn fixed_at(id: &str, ecosystem: &str, name: &str, fixed: &str) -> Record {
    record(json!({
        "id": id,
        "affected": [{
            "package": { "ecosystem": ecosystem, "name": name },
            "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": fixed }] }]
        }]
    }))
}

fn ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|finding| finding.id.as_str()).collect()
}

#[test]
fn distribution_advisories_name_source_packages() {
    // Debian's advisories are about source packages; the image has binary ones.
    let records = [fixed_at("DSA-TEST-1", "Debian:12", "openssl", "3.0.13-1~deb12u1")];
    let libssl = installed("Debian:12", "libssl3", "3.0.11-1~deb12u2");
    assert!(match_package(&libssl, &records).expect("supported").is_empty());
    let findings = match_package(&with_source(libssl.clone(), "openssl", None), &records).expect("supported");
    assert_eq!(ids(&findings), ["DSA-TEST-1"]);
    let finding = &findings[0];
    assert_eq!((finding.package_name.as_str(), finding.package_version.as_str()), ("libssl3", "3.0.11-1~deb12u2"));
    assert_eq!(finding.fixed_in.as_deref(), Some("3.0.13-1~deb12u1"));
    assert!(finding.fix_available());
    // Where the binary's version is not the source's (the kernel's image packages, say),
    // the source version is the one the advisory speaks of.
    let image = installed("Debian:12", "linux-image-6.1.0-18-amd64", "6.1.76-1");
    let records = [fixed_at("DSA-TEST-2", "Debian:12", "linux-signed-amd64", "6.1.76+2")];
    let with_version = with_source(image.clone(), "linux-signed-amd64", Some("6.1.76+1"));
    assert_eq!(ids(&match_package(&with_version, &records).expect("ok")), ["DSA-TEST-2"]);
    let fixed = with_source(image, "linux-signed-amd64", Some("6.1.76+2"));
    assert!(match_package(&fixed, &records).expect("ok").is_empty());
}

#[test]
fn only_entries_for_the_package_s_ecosystem_and_name_count() {
    let records = [record(json!({
        "id": "ALSA-TEST-1",
        "summary": "Important: p security update",
        "related": ["CVE-2024-2", "CVE-2024-1", "RHSA-2024:1"],
        "affected": [
            { "package": { "ecosystem": "AlmaLinux:8", "name": "p" }, "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": "2.0-1.el8" }] }] },
            { "package": { "ecosystem": "AlmaLinux:9", "name": "p" }, "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": "2.0-1.el9" }] }] },
            { "package": { "ecosystem": "AlmaLinux:9", "name": "p-libs" }, "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": "3.0-1.el9" }] }] }
        ]
    }))];
    let findings = match_package(&installed("AlmaLinux:9", "p", "1.0-1.el9"), &records).expect("supported");
    assert_eq!(ids(&findings), ["ALSA-TEST-1"]);
    let finding = &findings[0];
    assert_eq!(finding.fixed_in.as_deref(), Some("2.0-1.el9"));
    assert_eq!(finding.severity, Severity::High);
    assert_eq!(finding.cves, ["CVE-2024-1", "CVE-2024-2"]);
    assert!(match_package(&installed("AlmaLinux:10", "p", "1.0-1.el10"), &records).expect("supported").is_empty());
    assert!(match_package(&installed("AlmaLinux:9", "p", "2.0-1.el9"), &records).expect("supported").is_empty());
}

#[test]
fn python_names_compare_normalized() {
    let records = [fixed_at("PYSEC-TEST-1", "PyPI", "Zope.Interface", "5.0")];
    for name in ["zope.interface", "zope-interface", "ZOPE_interface", "zope__interface"] {
        assert_eq!(
            ids(&match_package(&installed("PyPI", name, "4.0"), &records).expect("ok")),
            ["PYSEC-TEST-1"],
            "{name}"
        );
    }
    assert!(match_package(&installed("PyPI", "zopeinterface", "4.0"), &records).expect("ok").is_empty());
    // Elsewhere names are exact.
    let records = [fixed_at("X-1", "npm", "Left-Pad", "2.0.0")];
    assert!(match_package(&installed("npm", "left-pad", "1.0.0"), &records).expect("ok").is_empty());
}

#[test]
fn withdrawn_advisories_affect_nothing() {
    let mut withdrawn = fixed_at("GHSA-TEST-1", "npm", "p", "2.0.0");
    withdrawn.withdrawn = Some("2024-01-01T00:00:00Z".into());
    assert!(match_package(&installed("npm", "p", "1.0.0"), &[withdrawn]).expect("ok").is_empty());
}

#[test]
fn aliases_of_each_other_make_one_finding() {
    let ghsa = record(json!({
        "id": "GHSA-aaaa-bbbb-cccc",
        "aliases": ["CVE-2024-1"],
        "severity": [{ "type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
        "affected": [{ "package": { "ecosystem": "PyPI", "name": "p" }, "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": "2.0" }] }] }]
    }));
    let pysec = record(json!({
        "id": "PYSEC-2024-1",
        "aliases": ["CVE-2024-1", "GHSA-aaaa-bbbb-cccc"],
        "affected": [{ "package": { "ecosystem": "PyPI", "name": "p" }, "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": "2.0" }] }] }]
    }));
    let other = fixed_at("PYSEC-2024-2", "PyPI", "p", "3.0");
    let findings = match_package(&installed("PyPI", "p", "1.0"), &[pysec, other, ghsa]).expect("ok");
    assert_eq!(ids(&findings), ["GHSA-aaaa-bbbb-cccc", "PYSEC-2024-2"]);
    // The most severe one is kept, and knows the others' names.
    assert_eq!(findings[0].severity, Severity::Critical);
    assert_eq!(findings[0].aliases, ["CVE-2024-1", "PYSEC-2024-1"]);
    assert_eq!(findings[0].cves, ["CVE-2024-1"]);
}

#[test]
fn an_upgrade_must_fix_every_matching_entry() {
    let entries = |second: serde_json::Value| {
        record(json!({
            "id": "X-1",
            "affected": [
                { "package": { "ecosystem": "npm", "name": "p" }, "ranges": [{ "type": "SEMVER", "events": [{ "introduced": "0" }, { "fixed": "1.2.0" }] }] },
                { "package": { "ecosystem": "npm", "name": "p" }, "ranges": [{ "type": "SEMVER", "events": second }] }
            ]
        }))
    };
    let p = installed("npm", "p", "1.0.0");
    let both_fixed = entries(json!([{ "introduced": "1.0.0" }, { "fixed": "1.3.0" }]));
    assert_eq!(match_package(&p, &[both_fixed]).expect("ok")[0].fixed_in.as_deref(), Some("1.3.0"));
    let one_unfixed = entries(json!([{ "introduced": "1.0.0" }]));
    let finding = &match_package(&p, &[one_unfixed]).expect("ok")[0];
    assert_eq!(finding.fixed_in, None);
    assert!(!finding.fix_available());
}

#[test]
fn unknown_ecosystems_are_refused() {
    let err = match_package(&installed("NuGet", "p", "1.0"), &[]).expect_err("no order for NuGet");
    assert_eq!(err, MatchError::UnsupportedEcosystem("NuGet".into()));
}

#[test]
fn findings_serialize_for_storage() {
    let findings = match_package(&installed("npm", "p", "1.0.0"), &[fixed_at("X-1", "npm", "p", "1.1.0")]).expect("ok");
    let json = serde_json::to_string(&findings).expect("serializes");
    let back: Vec<Finding> = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, findings);
}
