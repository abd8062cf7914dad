//! Every line of the version-ordering vectors in `tests/vectors` (see its README), checked in
//! both directions against the comparator of its ecosystem.

use std::cmp::Ordering;
use std::path::Path;

use wharf_vuln::VersionScheme;

/// Vector files by name prefix, and the schemes that must pass them. The semver vectors hold
/// for Go too, as Go versions are semver.
const SUITES: &[(&str, &[VersionScheme])] = &[
    ("debian", &[VersionScheme::Dpkg]),
    ("alpine", &[VersionScheme::Apk]),
    ("redhat", &[VersionScheme::Rpm]),
    ("pypi", &[VersionScheme::Pep440]),
    ("semver", &[VersionScheme::Semver, VersionScheme::Go]),
    ("maven", &[VersionScheme::Maven]),
    ("rubygems", &[VersionScheme::RubyGems]),
];

/// Lines that no total order can pass while ranking release candidates by their numbers.
/// maven-artifact 3.8's `ComparableVersion` is not transitive: it puts a `0` above every
/// list, so `2.9.0-1 < 2.9.0.RC1`, yet also `2.9.0.RC1 < 2.9 < 2.9.0-1`. The generated Maven
/// vectors were made by sorting real version lists with it, and record both sides of such
/// cycles: lines 5774-5776 read `2.9.0.RC3 < 2.9.0`, `2.9.0 < 2.9.0-1`,
/// `2.9.0-1 < 2.9.0.RC1`, which with `2.9.0.RC1 < 2.9.0.RC3` close a cycle; lines 2786 and
/// 12642 sit on cycles of the same shape. `VersionScheme::Maven` is a total order that keeps
/// `ComparableVersion`'s answers except on this kind of comparison (a `0` followed by a
/// pre-release qualifier, against a list above null; see `src/version/maven.rs`), where it
/// puts the build of a release (`2.9.0-1`) above the release's candidates. These lines come
/// out the other way round, and the test checks that they, and only they, do.
const CYCLIC: &[(&str, usize)] = &[
    ("maven-versions-generated.txt", 2786),
    ("maven-versions-generated.txt", 5776),
    ("maven-versions-generated.txt", 12642),
];

struct Vector {
    line: usize,
    a: String,
    expected: Ordering,
    b: String,
}

fn read_vectors(path: &Path) -> Vec<Vector> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut vectors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = fields[..] else { panic!("{}:{}: not `a op b`: {line}", path.display(), index + 1) };
        let expected = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{}:{}: unknown operator {op}", path.display(), index + 1),
        };
        vectors.push(Vector { line: index + 1, a: a.to_owned(), expected, b: b.to_owned() });
    }
    vectors
}

#[test]
fn every_vector_line_passes_in_both_directions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/vectors exists")
        .map(|entry| entry.expect("readable entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".txt"))
        .collect();
    names.sort();
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for (prefix, schemes) in SUITES {
        let files: Vec<&String> = names.iter().filter(|name| name.starts_with(prefix)).collect();
        assert!(!files.is_empty(), "no vector files for {prefix}");
        for scheme in *schemes {
            let (mut passed, mut cyclic) = (0, 0);
            for name in &files {
                let vectors = read_vectors(&dir.join(name));
                assert!(!vectors.is_empty(), "{name} has no vectors");
                for v in vectors {
                    let forward = scheme.compare(&v.a, &v.b);
                    let backward = scheme.compare(&v.b, &v.a);
                    let expected = if CYCLIC.contains(&(name.as_str(), v.line)) {
                        cyclic += 1;
                        v.expected.reverse()
                    } else {
                        v.expected
                    };
                    if forward == expected && backward == expected.reverse() {
                        passed += 1;
                    } else {
                        failures.push(format!(
                            "{name}:{} ({scheme:?}): expected {} {expected:?} {}, got {forward:?} and reversed {backward:?}",
                            v.line, v.a, v.b
                        ));
                    }
                }
            }
            summary.push(format!("{scheme:?}: {} lines passed, {cyclic} cyclic lines reversed", passed - cyclic));
            if *prefix == "maven" {
                assert_eq!(cyclic, CYCLIC.len(), "a cyclic line is missing from the Maven vectors");
            }
        }
    }
    println!("{}", summary.join("\n"));
    let shown: Vec<&String> = failures.iter().take(200).collect();
    assert!(
        failures.is_empty(),
        "{} vector lines failed:\n{}",
        failures.len(),
        shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
}
