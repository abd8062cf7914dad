//! `os-release(5)`: which distribution release the image is, and so which OSV ecosystem its
//! distribution packages belong to.

use crate::model::OsRelease;

/// OSV's name for a release of each distribution it has advisories for. OSV has no feed for
/// a few common IDs (CentOS, Amazon Linux, Fedora); those get `None`.
fn ecosystem(id: &str, version_id: Option<&str>, version: Option<&str>) -> Option<String> {
    let major = || version_id.map(|v| v.split('.').next().unwrap_or(v));
    let major_minor = || version_id.map(|v| v.split('.').take(2).collect::<Vec<_>>().join("."));
    let with = |name: &str, release: Option<String>| match release {
        Some(release) => format!("{name}:{release}"),
        None => name.to_string(),
    };
    Some(match id {
        "debian" => with("Debian", major().map(str::to_string)),
        // OSV names Ubuntu's long-term releases `Ubuntu:22.04:LTS`, the others `Ubuntu:23.10`.
        "ubuntu" => {
            let lts = version.is_some_and(|v| v.contains("LTS"));
            let release = version_id.map(|v| if lts { format!("{v}:LTS") } else { v.to_string() });
            with("Ubuntu", release)
        }
        "alpine" => with("Alpine", major_minor().map(|v| format!("v{v}"))),
        "almalinux" => with("AlmaLinux", major().map(str::to_string)),
        "rocky" => with("Rocky Linux", major().map(str::to_string)),
        // Red Hat's OSV records name a product stream (`Red Hat:enterprise_linux:9::baseos`);
        // os-release does not say which streams are enabled, so this is their common prefix.
        "rhel" => with("Red Hat", major().map(|v| format!("enterprise_linux:{v}"))),
        "opensuse-leap" => with("openSUSE", version_id.map(|v| format!("Leap {v}"))),
        "mageia" => with("Mageia", major().map(str::to_string)),
        "wolfi" => "Wolfi".to_string(),
        "chainguard" => "Chainguard".to_string(),
        _ => return None,
    })
}

/// Reads an os-release file: `KEY=value` lines, values optionally quoted (shell rules, of
/// which os-release files use only quotes and backslash escapes).
pub(crate) fn parse(data: &[u8], path: &str) -> Option<OsRelease> {
    let text = String::from_utf8_lossy(data);
    let mut values = std::collections::HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            values.insert(key.trim().to_string(), unquote(value.trim()));
        }
    }
    let get = |key: &str| values.get(key).filter(|v| !v.is_empty()).cloned();
    let id = get("ID")?.to_ascii_lowercase();
    let version_id = get("VERSION_ID");
    let ecosystem = ecosystem(&id, version_id.as_deref(), get("VERSION").as_deref());
    Some(OsRelease { id, version_id, pretty_name: get("PRETTY_NAME"), ecosystem, path: path.to_string() })
}

fn unquote(value: &str) -> String {
    let inner = match value.as_bytes() {
        [q @ (b'"' | b'\''), .., last] if last == q && value.len() >= 2 => &value[1..value.len() - 1],
        _ => value,
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(escaped) = chars.next() {
                out.push(escaped);
            }
        } else {
            out.push(c);
        }
    }
    out
}
