//! Randomized checks that no input makes the CVSS parser or the range evaluation panic, and
//! that what they return is coherent. Fixed seeds keep every run the same.

use serde_json::json;

use super::ranged;
use crate::{Cvss, VersionScheme, affected};

/// xorshift64*: enough to vary test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'p>(&mut self, pool: &[&'p str]) -> &'p str {
        pool[(self.next() % pool.len() as u64) as usize]
    }
}

#[test]
fn mangled_vectors_parse_or_fail_cleanly() {
    const VALID: &[&str] = &[
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.0/AV:L/AC:H/PR:L/UI:R/S:C/C:L/I:N/A:L/E:P",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "AV:N/AC:M/Au:S/C:P/I:N/A:C",
    ];
    const JUNK: &[&str] = &["", "X", "AV", "AV:", ":N", "S:C", "Au:M", "CVSS:3.1", "é:é", "C:C", "MAV:X", "U:Red"];
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let (mut parsed, mut refused) = (0, 0);
    for _ in 0..50_000 {
        let mut parts: Vec<String> = rng.pick(VALID).split('/').map(str::to_owned).collect();
        for _ in 0..rng.next() % 4 {
            let at = (rng.next() % parts.len() as u64) as usize;
            match rng.next() % 4 {
                0 => drop(parts.remove(at)),
                1 => parts.insert(at, parts[at].clone()),
                2 => parts[at] = rng.pick(JUNK).to_owned(),
                _ => {
                    let last = parts.len() - 1;
                    parts.swap(at, last);
                }
            }
            if parts.is_empty() {
                parts.push(String::new());
            }
        }
        let vector = parts.join("/");
        match Cvss::parse(&vector) {
            Ok(cvss) => {
                parsed += 1;
                assert!(cvss.base_score.is_none_or(|score| (0.0..=10.0).contains(&score)), "{vector}: {cvss:?}");
            }
            Err(_) => refused += 1,
        }
    }
    assert!(parsed > 1_000 && refused > 1_000, "{parsed} parsed, {refused} refused");
}

#[test]
fn random_ranges_evaluate_coherently() {
    const VERSIONS: &[&str] = &[
        "0",
        "0.0.0",
        "1",
        "1.0",
        "1.0.0",
        "1.0.0-rc.1",
        "1.0.1",
        "1.2",
        "2.0",
        "2.0.0-1",
        "1:1.0",
        "1.0~rc1",
        "1.0-r1",
        "1.0a1",
        "v1.2.3",
        "go1.21.3",
        "1.0.RELEASE",
        "*",
        "",
        "junk",
        "~",
        "1..2",
    ];
    const KINDS: &[&str] = &["introduced", "introduced", "fixed", "fixed", "last_affected", "limit"];
    let schemes = [
        VersionScheme::Dpkg,
        VersionScheme::Apk,
        VersionScheme::Rpm,
        VersionScheme::Pep440,
        VersionScheme::Semver,
        VersionScheme::Go,
        VersionScheme::Maven,
        VersionScheme::RubyGems,
    ];
    let mut rng = Rng(0xfeed_face_cafe_beef);
    for round in 0..20_000 {
        let events: Vec<_> = (0..1 + rng.next() % 6).map(|_| json!({ rng.pick(KINDS): rng.pick(VERSIONS) })).collect();
        let kind = if round % 2 == 0 { "ECOSYSTEM" } else { "SEMVER" };
        let entry = ranged(kind, json!(events));
        let scheme = schemes[round % schemes.len()];
        let range_scheme = if kind == "SEMVER" && scheme != VersionScheme::Go { VersionScheme::Semver } else { scheme };
        let version = rng.pick(VERSIONS);
        if let Some(found) = affected(&entry, version, scheme) {
            // A fix is always above the affected version, in the order its range uses.
            if let Some(fixed) = &found.fixed_in {
                assert!(
                    range_scheme.compare(fixed, version).is_gt(),
                    "{scheme:?} {version} fixed in {fixed}: {events:?}"
                );
            }
        }
    }
}
