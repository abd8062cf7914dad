//! Cases beyond the conformance vectors (which `tests/vectors.rs` runs): the ecosystem
//! names, the Go toolchain's spellings, malformed input, and randomized checks that every
//! comparator is a total order on arbitrary strings.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use super::VersionScheme::{self, *};

const ALL: [VersionScheme; 8] = [Dpkg, Apk, Rpm, Pep440, Semver, Go, Maven, RubyGems];

#[test]
fn ecosystems_map_to_schemes() {
    let cases: &[(&str, Option<VersionScheme>)] = &[
        ("Debian", Some(Dpkg)),
        ("Debian:12", Some(Dpkg)),
        ("Ubuntu:22.04:LTS", Some(Dpkg)),
        ("Ubuntu:Pro:18.04:LTS", Some(Dpkg)),
        ("Alpine:v3.20", Some(Apk)),
        ("Wolfi", Some(Apk)),
        ("AlmaLinux:9", Some(Rpm)),
        ("Rocky Linux:8", Some(Rpm)),
        ("Red Hat:enterprise_linux:9::appstream", Some(Rpm)),
        ("openSUSE:Leap 15.5", Some(Rpm)),
        ("SUSE:Linux Enterprise Server 15 SP5", Some(Rpm)),
        ("PyPI", Some(Pep440)),
        ("crates.io", Some(Semver)),
        ("npm", Some(Semver)),
        ("Go", Some(Go)),
        ("Maven", Some(Maven)),
        ("RubyGems", Some(RubyGems)),
        // Ecosystems are case-sensitive in OSV.
        ("pypi", None),
        ("NuGet", None),
        ("GIT", None),
        ("", None),
    ];
    for (ecosystem, expected) in cases {
        assert_eq!(VersionScheme::for_ecosystem(ecosystem), *expected, "{ecosystem}");
    }
}

fn check(scheme: VersionScheme, cases: &[(&str, Ordering, &str)]) {
    for (a, expected, b) in cases {
        assert_eq!(scheme.compare(a, b), *expected, "{scheme:?}: {a} vs {b}");
        assert_eq!(scheme.compare(b, a), expected.reverse(), "{scheme:?}: {b} vs {a}");
    }
}

#[test]
fn go_reads_toolchain_spellings() {
    check(
        Go,
        &[
            ("go1.21.3", Equal, "1.21.3"),
            ("go1.21.3", Equal, "v1.21.3"),
            ("go1.20", Equal, "1.20.0"),
            ("go1.22rc1", Equal, "1.22.0-rc.1"),
            ("go1.22rc2", Greater, "go1.22rc1"),
            ("go1.22rc1", Less, "go1.22.0"),
            ("go1.22rc1", Greater, "1.22.0-0"),
            ("go1.9beta2", Equal, "1.9.0-beta.2"),
            ("go1.21.13", Greater, "go1.21.9"),
            // Pseudo-versions are pre-releases of the version after their base.
            ("v0.0.0-20210101000000-abcdef012345", Less, "v0.0.1"),
            ("v1.2.4-0.20230101000000-abcdef012345", Greater, "v1.2.3"),
            ("v1.2.4-0.20230101000000-abcdef012345", Less, "v1.2.4"),
            ("v2.0.0+incompatible", Equal, "v2.0.0"),
        ],
    );
}

#[test]
fn distribution_versions_order_as_their_tools_do() {
    check(Dpkg, &[("1:1.0", Greater, "2.0"), ("1.0~rc1-1", Less, "1.0-1"), ("3.0.11-1~deb12u2", Less, "3.0.11-1")]);
    check(
        Apk,
        &[
            ("3.3.1-r0", Less, "3.3.2-r0"),
            ("1.2", Less, "1.2-r0"),
            ("1.2-r5", Less, "1.2.0"),
            ("1-r0-x", Less, "1"),
            ("1.2.4_git20230101-r0", Greater, "1.2.4-r5"),
            ("1.36.1-r2", Greater, "1.36.1-r1"),
        ],
    );
    check(
        Rpm,
        &[
            ("1:1.0-1.el9", Greater, "2.0-1.el9"),
            ("3.0.7-27.el9", Less, "3.0.7-27.el9_5.1"),
            ("1.0~rc1-1", Less, "1.0-1"),
            ("8.0.30-1.module+el8.6.0+1031+ca6d8a4a", Less, "8.0.32-1.module+el8.8.0+1283+ad8a4d6c"),
        ],
    );
}

#[test]
fn language_versions_order_as_their_tools_do() {
    check(
        Pep440,
        &[("1.0", Equal, "1.0.0"), ("1.0.post1", Greater, "1.0"), ("1!0.1", Greater, "2.0"), ("2.0rc1", Less, "2.0")],
    );
    check(Semver, &[("1.0.0-alpha", Less, "1.0.0"), ("0.21.3", Greater, "0.10.2"), ("1.0", Equal, "1.0.0")]);
    check(Maven, &[("2.17.1", Greater, "2.17.0"), ("2.0-RC1", Less, "2.0"), ("1.0.Final", Equal, "1.0")]);
    check(RubyGems, &[("1.0.0.pre", Less, "1.0.0"), ("1.0-1", Less, "1.0"), ("7.0.4.1", Greater, "7.0.4")]);
}

#[test]
fn malformed_versions_still_order() {
    let junk =
        ["", " ", ":", "-", "~", "^", "+", ".", "..1", "v", "go", "1::2", "1--", "\u{0}", "é1.ü", "0x1F", "1e10"];
    for scheme in ALL {
        for a in junk {
            assert_eq!(scheme.compare(a, a), Equal, "{scheme:?}: {a:?}");
            for b in junk {
                assert_eq!(scheme.compare(a, b), scheme.compare(b, a).reverse(), "{scheme:?}: {a:?} vs {b:?}");
            }
        }
    }
    // Numbers beyond any machine integer compare by value.
    let (big, bigger) = ("1.184467440737095516150000000", "1.184467440737095516150000001");
    for scheme in [Dpkg, Rpm, Pep440, Semver, Go, Maven, RubyGems] {
        assert_eq!(scheme.compare(big, bigger), Less, "{scheme:?}");
    }
}

#[test]
fn long_versions_neither_overflow_the_stack_nor_crawl() {
    // Maven nests a list at every `-` and digit-letter change; a long junk version must not
    // recurse that deep, nor cost more than linear time.
    let patterns = ["a1", "1-", "-", "0.", "0-a-", "~", "1_p", "9"];
    let started = std::time::Instant::now();
    for scheme in ALL {
        for pattern in patterns {
            let long = pattern.repeat(20_000);
            let longer = format!("{long}x");
            assert_eq!(scheme.compare(&long, &longer), scheme.compare(&longer, &long).reverse(), "{scheme:?}");
        }
    }
    assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
}

/// xorshift64*: small, fast, and enough to vary test inputs; fixed seeds keep runs repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Mostly version-like strings: digits, separators and the letters and words that mean
    /// something to some scheme, with the odd arbitrary character.
    fn version(&mut self) -> String {
        const PIECES: &[&str] = &[
            "0", "1", "2", "9", "10", "01", "00", ".", ".", "-", "_", "~", "^", "+", ":", "!", "a", "b", "p", "r",
            "rc", "alpha", "beta", "pre", "post", "dev", "git", "ga", "final", "sp", "snapshot", "v", "go", "el9", "Z",
            " ", "é",
        ];
        let len = self.below(9);
        (0..len)
            .map(|_| {
                if self.below(20) == 0 {
                    char::from_u32(self.below(0x3000) as u32).map(String::from).unwrap_or_default()
                } else {
                    PIECES[self.below(PIECES.len())].to_owned()
                }
            })
            .collect()
    }
}

#[test]
fn random_versions_compare_as_a_total_order() {
    for (seed, scheme) in ALL.into_iter().enumerate() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed as u64 + 1));
        for _ in 0..20_000 {
            let (a, b, c) = (rng.version(), rng.version(), rng.version());
            let ab = scheme.compare(&a, &b);
            assert_eq!(ab, scheme.compare(&b, &a).reverse(), "{scheme:?} not antisymmetric: {a:?} vs {b:?}");
            assert_eq!(scheme.compare(&a, &a), Equal, "{scheme:?} not reflexive: {a:?}");
            let (bc, ac) = (scheme.compare(&b, &c), scheme.compare(&a, &c));
            if ab != Greater && bc != Greater {
                let expected = if ab == Less || bc == Less { Less } else { Equal };
                assert_eq!(ac, expected, "{scheme:?} not transitive: {a:?} {ab:?} {b:?} {bc:?} {c:?}");
            }
        }
    }
}

#[test]
fn sorting_random_versions_is_consistent() {
    // A sort with an inconsistent comparator panics or leaves pairs out of order.
    for (seed, scheme) in ALL.into_iter().enumerate() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (seed as u64 + 7));
        let mut versions: Vec<String> = (0..2_000).map(|_| rng.version()).collect();
        versions.sort_by(|a, b| scheme.compare(a, b));
        for pair in versions.windows(2) {
            assert_ne!(scheme.compare(&pair[0], &pair[1]), Greater, "{scheme:?}: {pair:?}");
        }
    }
}
