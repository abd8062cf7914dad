//! IAM glob matching: `*` matches any run of characters (including none), `?` exactly one.
//! There is no escape character, as in IAM. ECR's tag mutability exclusion filters use the
//! same matcher.
//!
//! The matcher is the iterative greedy one: on a mismatch it only ever returns to the most
//! recent `*`, so a pattern can cost at most O(pattern × value) steps, never the exponential
//! blow-up of naive recursive backtracking on patterns like `a*a*a*a*b`.

/// Whether `value` matches `pattern`, comparing characters exactly.
pub fn matches(pattern: &str, value: &str) -> bool {
    matches_by(pattern, value, |p, v| p == v)
}

/// Whether `value` matches `pattern`, ignoring case (Unicode lower-case folding per character).
pub fn matches_ignore_case(pattern: &str, value: &str) -> bool {
    matches_by(pattern, value, chars_eq_ignore_case)
}

/// Character equality under Unicode lower-casing; the ASCII test first because nearly every
/// action name and key is ASCII.
fn chars_eq_ignore_case(a: char, b: char) -> bool {
    a == b || a.eq_ignore_ascii_case(&b) || (!(a.is_ascii() && b.is_ascii()) && a.to_lowercase().eq(b.to_lowercase()))
}

fn matches_by(pattern: &str, value: &str, eq: impl Fn(char, char) -> bool) -> bool {
    // The commonest pattern of all; answer it without walking the value.
    if pattern == "*" {
        return true;
    }
    // Byte offsets into `pattern` and `value`, always on character boundaries.
    let (mut p, mut v) = (0, 0);
    // After a `*`: where the pattern resumes, and how much of the value that `*` has taken.
    let mut star: Option<(usize, usize)> = None;
    while let Some(vc) = value[v..].chars().next() {
        match pattern[p..].chars().next() {
            Some('*') => {
                p += 1;
                star = Some((p, v));
                continue;
            }
            Some(pc) if pc == '?' || eq(pc, vc) => {
                p += pc.len_utf8();
                v += vc.len_utf8();
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last `*` swallow one more character and retry from there.
        let Some((star_p, star_v)) = star else { return false };
        let taken = star_v + value[star_v..].chars().next().map_or(1, char::len_utf8);
        star = Some((star_p, taken));
        p = star_p;
        v = taken;
    }
    pattern[p..].bytes().all(|b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        // (pattern, value, case-sensitive result, case-insensitive result)
        let cases: &[(&str, &str, bool, bool)] = &[
            ("", "", true, true),
            ("", "a", false, false),
            ("a", "", false, false),
            ("*", "", true, true),
            ("*", "anything at all", true, true),
            ("**", "", true, true),
            ("?", "", false, false),
            ("?", "a", true, true),
            ("?", "ab", false, false),
            ("??", "ab", true, true),
            ("a?c", "abc", true, true),
            ("a?c", "ac", false, false),
            ("abc", "abc", true, true),
            ("abc", "ABC", false, true),
            ("abc", "abcd", false, false),
            ("abcd", "abc", false, false),
            ("a*", "a", true, true),
            ("a*", "abc", true, true),
            ("*c", "abc", true, true),
            ("*c", "abd", false, false),
            ("a*c", "ac", true, true),
            ("a*c", "abbbc", true, true),
            ("a*c", "abbbcd", false, false),
            ("a*b*c", "aXbYc", true, true),
            ("a*b*c", "aXcYb", false, false),
            ("*a*", "bab", true, true),
            ("*?", "", false, false),
            ("*?", "x", true, true),
            ("a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false),
            ("ecr:*", "ecr:BatchGetImage", true, true),
            ("ecr:batch*", "ecr:BatchGetImage", false, true),
            ("ECR:Get*", "ecr:GetDownloadUrlForLayer", false, true),
            ("ecr:Get?mage", "ecr:GetImage", true, true),
            ("ecr:Get?mage", "ecr:GetImages", false, false),
            (
                "arn:aws:ecr:*:111111111111:repository/team-a/*",
                "arn:aws:ecr:us-east-1:111111111111:repository/team-a/app",
                true,
                true,
            ),
            (
                "arn:aws:ecr:*:111111111111:repository/team-a/*",
                "arn:aws:ecr:us-east-1:111111111111:repository/team-b/app",
                false,
                false,
            ),
            ("é?", "éü", true, true),
            ("É*", "éclair", false, true),
            ("?", "ü", true, true),
            ("*ß", "straß", true, true),
        ];
        for &(pattern, value, exact, folded) in cases {
            assert_eq!(matches(pattern, value), exact, "matches({pattern:?}, {value:?})");
            assert_eq!(matches_ignore_case(pattern, value), folded, "matches_ignore_case({pattern:?}, {value:?})");
        }
    }

    #[test]
    fn long_pathological_input_is_fast() {
        let value = "a".repeat(20_000);
        let pattern = format!("{}b", "a*".repeat(50));
        assert!(!matches(&pattern, &value));
    }
}
