//! Real advisories from the public OSV databases (see `tests/records/README.md`), each read,
//! stored again as JSON, and matched against installed versions inside and outside its
//! ranges.

use std::path::Path;

use wharf_vuln::{CvssVersion, Finding, InstalledPackage, Record, Severity, SeveritySource, match_package};

fn load(name: &str) -> Record {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/records").join(name);
    let json = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    Record::from_json(&json).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn scan(record: &Record, ecosystem: &str, name: &str, version: &str) -> Vec<Finding> {
    let package =
        InstalledPackage { ecosystem: ecosystem.into(), name: name.into(), version: version.into(), source: None };
    match_package(&package, std::slice::from_ref(record)).expect("supported ecosystem")
}

/// The one finding for a version inside the advisory's ranges.
fn hit(record: &Record, ecosystem: &str, name: &str, version: &str) -> Finding {
    let mut findings = scan(record, ecosystem, name, version);
    assert_eq!(findings.len(), 1, "{} for {name} {version}", record.id);
    findings.remove(0)
}

fn miss(record: &Record, ecosystem: &str, name: &str, version: &str) {
    assert!(scan(record, ecosystem, name, version).is_empty(), "{} for {name} {version}", record.id);
}

#[test]
fn every_record_survives_storage_as_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/records");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/records exists") {
        let name = entry.expect("readable").file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            let record = load(&name);
            let stored = serde_json::to_string(&record).expect("serializes");
            assert_eq!(Record::from_json(&stored).expect("parses again"), record, "{name}");
            count += 1;
        }
    }
    assert_eq!(count, 8);
}

#[test]
fn rustsec_semver_range_with_cvss_v3() {
    let record = load("RUSTSEC-2019-0014.json");
    let finding = hit(&record, "crates.io", "image", "0.21.0");
    assert_eq!((finding.severity, finding.severity_source), (Severity::Critical, SeveritySource::CvssV3));
    let cvss = finding.cvss.as_ref().expect("has a vector");
    assert_eq!((cvss.version, cvss.base_score), (CvssVersion::V3_1, Some(9.8)));
    assert_eq!(finding.fixed_in.as_deref(), Some("0.21.3"));
    assert_eq!(finding.aliases, ["CVE-2019-16138", "GHSA-m2pf-hprp-3vqm"]);
    assert_eq!(finding.cves, ["CVE-2019-16138"]);
    hit(&record, "crates.io", "image", "0.10.2");
    miss(&record, "crates.io", "image", "0.10.1");
    miss(&record, "crates.io", "image", "0.21.3");
    miss(&record, "crates.io", "image2", "0.21.0");
}

#[test]
fn rustsec_with_only_a_cvss_v4_vector() {
    let record = load("RUSTSEC-2026-0223.json");
    let finding = hit(&record, "crates.io", "wasmtime", "47.0.2");
    assert_eq!(finding.fixed_in.as_deref(), Some("47.0.3"));
    assert_eq!(hit(&record, "crates.io", "wasmtime", "46.0.1").fixed_in.as_deref(), Some("46.0.2"));
    // Not scored, and no other rating to fall back to.
    assert_eq!((finding.severity, finding.severity_source), (Severity::Undefined, SeveritySource::None));
    let cvss = finding.cvss.as_ref().expect("has a vector");
    assert_eq!((cvss.version, cvss.base_score), (CvssVersion::V4_0, None));
    miss(&record, "crates.io", "wasmtime", "46.0.2");
    miss(&record, "crates.io", "wasmtime", "45.9.9");
}

#[test]
fn go_standard_library_in_toolchain_spelling() {
    let record = load("GO-2026-6218.json");
    assert_eq!(hit(&record, "Go", "stdlib", "go1.25.12").fixed_in.as_deref(), Some("1.25.13"));
    assert_eq!(hit(&record, "Go", "stdlib", "go1.26.5").fixed_in.as_deref(), Some("1.26.6"));
    assert_eq!(hit(&record, "Go", "stdlib", "go1.27rc2").fixed_in.as_deref(), Some("1.27.0-rc.3"));
    miss(&record, "Go", "stdlib", "go1.25.13");
    miss(&record, "Go", "stdlib", "go1.26.6");
    miss(&record, "Go", "stdlib", "go1.27rc3");
    miss(&record, "Go", "stdlib", "go1.27.0");
    // The Go database rates nothing.
    assert_eq!(hit(&record, "Go", "stdlib", "go1.25.0").severity, Severity::Undefined);
}

#[test]
fn go_module_fixed_at_a_pseudo_version() {
    let record = load("GO-2020-0006.json");
    let module = "github.com/miekg/dns";
    assert_eq!(hit(&record, "Go", module, "v1.0.3").fixed_in.as_deref(), Some("1.0.4-0.20180125103619-43913f2f4fbd"));
    hit(&record, "Go", module, "v1.0.4-0.20180101000000-0123456789ab");
    miss(&record, "Go", module, "v1.0.4-0.20180125103619-43913f2f4fbd");
    miss(&record, "Go", module, "v1.0.4");
}

#[test]
fn pypi_ranges_and_listed_versions() {
    let gdal = load("PYSEC-2022-43065.json");
    let finding = hit(&gdal, "PyPI", "GDAL", "3.3.2");
    assert_eq!(finding.fixed_in.as_deref(), Some("3.4.1"));
    assert_eq!((finding.severity, finding.cvss.and_then(|cvss| cvss.base_score)), (Severity::Medium, Some(5.5)));
    hit(&gdal, "PyPI", "gdal", "3.4.1rc1");
    miss(&gdal, "PyPI", "gdal", "3.4.1");
    miss(&gdal, "PyPI", "gdal", "3.2.9");

    // No fix, only a last affected version; no severity at all.
    let py = load("PYSEC-2022-42969.json");
    let finding = hit(&py, "PyPI", "py", "1.11.0");
    assert_eq!((finding.fixed_in, finding.severity), (None, Severity::Undefined));
    hit(&py, "PyPI", "py", "0.8.0-alpha2");
    miss(&py, "PyPI", "py", "1.11.1");
}

#[test]
fn almalinux_rates_in_its_summary() {
    let record = load("ALSA-2022-7288.json");
    let finding = hit(&record, "AlmaLinux:9", "openssl-libs", "1:3.0.1-41.el9_0");
    assert_eq!((finding.severity, finding.severity_source), (Severity::High, SeveritySource::Distribution));
    assert_eq!(finding.fixed_in.as_deref(), Some("1:3.0.1-43.el9_0"));
    assert_eq!(finding.cves, ["CVE-2022-3602", "CVE-2022-3786"]);
    miss(&record, "AlmaLinux:9", "openssl-libs", "1:3.0.1-43.el9_0");
    miss(&record, "AlmaLinux:9", "openssl-libs", "1:3.0.7-16.el9");
    miss(&record, "AlmaLinux:8", "openssl-libs", "1:1.1.1k-7.el8_6");
}

#[test]
fn psf_advisories_name_commits_not_packages() {
    let record = load("PSF-2007-1.json");
    assert!(record.affected.iter().all(|entry| entry.package.is_none()));
    miss(&record, "PyPI", "python", "2.5.1");
    miss(&record, "PyPI", "cpython", "2.5.1");
}
