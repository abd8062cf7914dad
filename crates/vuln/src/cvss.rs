//! CVSS base scores computed from vector strings, with the formulas of the specifications:
//! v2 (<https://www.first.org/cvss/v2/guide> §3.2.1), v3.0 and v3.1
//! (<https://www.first.org/cvss/v3.1/specification-document> §7.1 and appendix A).
//!
//! Advisories carry vectors, not always scores, and the score is what ECR reports and what
//! the severity follows. Temporal and environmental metrics are checked but do not change the
//! base score, which is all an advisory can speak for.
//!
//! CVSS v4.0 vectors are validated but not scored: the v4 score comes from a table of expert
//! ratings for each of the 270 "macro vectors" (FIRST's `cvss_lookup.js`), which is not
//! reproduced here. A v4-only advisory takes its severity from its own rating instead (see
//! [`assess`](crate::assess)).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CvssVersion {
    V2,
    V3_0,
    V3_1,
    V4_0,
}

/// A parsed vector and its base score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    pub version: CvssVersion,
    /// As the advisory wrote it.
    pub vector: String,
    /// 0.0 to 10.0, one decimal; `None` for v4.0 (see the module documentation).
    pub base_score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    #[error("not a CVSS v2, v3.0, v3.1 or v4.0 vector: {0:?}")]
    UnknownVersion(String),
    #[error("malformed metric {0:?} (expected NAME:VALUE)")]
    Malformed(String),
    #[error("unknown metric {0:?}")]
    UnknownMetric(String),
    #[error("metric {metric} cannot be {value:?}")]
    InvalidValue { metric: String, value: String },
    #[error("metric {0} appears twice")]
    DuplicateMetric(String),
    #[error("base metric {0} is missing")]
    MissingMetric(&'static str),
}

impl Cvss {
    /// Parses a vector (`CVSS:3.1/AV:N/…`, `CVSS:4.0/…`, or a bare v2 `AV:N/AC:L/Au:N/…`,
    /// optionally in parentheses) and computes its base score.
    pub fn parse(vector: &str) -> Result<Self, CvssError> {
        let trimmed = vector.trim();
        let (version, body) = if let Some(body) = trimmed.strip_prefix("CVSS:3.1/") {
            (CvssVersion::V3_1, body)
        } else if let Some(body) = trimmed.strip_prefix("CVSS:3.0/") {
            (CvssVersion::V3_0, body)
        } else if let Some(body) = trimmed.strip_prefix("CVSS:4.0/") {
            (CvssVersion::V4_0, body)
        } else {
            let body = trimmed.strip_prefix("CVSS:2.0/").unwrap_or(trimmed);
            let body = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')).unwrap_or(body);
            if !body.starts_with("AV:") {
                return Err(CvssError::UnknownVersion(vector.to_owned()));
            }
            (CvssVersion::V2, body)
        };
        let base_score = match version {
            CvssVersion::V2 => Some(v2_score(&Metrics::parse(body, V2_METRICS, &V2_BASE)?)),
            CvssVersion::V3_0 | CvssVersion::V3_1 => Some(v3_score(&Metrics::parse(body, V3_METRICS, &V3_BASE)?)),
            CvssVersion::V4_0 => {
                Metrics::parse(body, V4_METRICS, &V4_BASE)?;
                None
            }
        };
        Ok(Self { version, vector: trimmed.to_owned(), base_score })
    }
}

/// A metric name and the values it may take.
type Metric = (&'static str, &'static [&'static str]);

const V2_BASE: [&str; 6] = ["AV", "AC", "Au", "C", "I", "A"];
const V2_METRICS: &[Metric] = &[
    ("AV", &["L", "A", "N"]),
    ("AC", &["H", "M", "L"]),
    ("Au", &["M", "S", "N"]),
    ("C", &["N", "P", "C"]),
    ("I", &["N", "P", "C"]),
    ("A", &["N", "P", "C"]),
    ("E", &["U", "POC", "F", "H", "ND"]),
    ("RL", &["OF", "TF", "W", "U", "ND"]),
    ("RC", &["UC", "UR", "C", "ND"]),
    ("CDP", &["N", "L", "LM", "MH", "H", "ND"]),
    ("TD", &["N", "L", "M", "H", "ND"]),
    ("CR", &["L", "M", "H", "ND"]),
    ("IR", &["L", "M", "H", "ND"]),
    ("AR", &["L", "M", "H", "ND"]),
];

const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V3_METRICS: &[Metric] = &[
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "R"]),
    ("S", &["U", "C"]),
    ("C", &["H", "L", "N"]),
    ("I", &["H", "L", "N"]),
    ("A", &["H", "L", "N"]),
    ("E", &["X", "U", "P", "F", "H"]),
    ("RL", &["X", "O", "T", "W", "U"]),
    ("RC", &["X", "U", "R", "C"]),
    ("CR", &["X", "L", "M", "H"]),
    ("IR", &["X", "L", "M", "H"]),
    ("AR", &["X", "L", "M", "H"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "R"]),
    ("MS", &["X", "U", "C"]),
    ("MC", &["X", "N", "L", "H"]),
    ("MI", &["X", "N", "L", "H"]),
    ("MA", &["X", "N", "L", "H"]),
];

const V4_BASE: [&str; 11] = ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"];
const V4_METRICS: &[Metric] = &[
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
    ("E", &["X", "A", "P", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MAT", &["X", "N", "P"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "P", "A"]),
    ("MVC", &["X", "H", "L", "N"]),
    ("MVI", &["X", "H", "L", "N"]),
    ("MVA", &["X", "H", "L", "N"]),
    ("MSC", &["X", "H", "L", "N"]),
    ("MSI", &["X", "S", "H", "L", "N"]),
    ("MSA", &["X", "S", "H", "L", "N"]),
    ("S", &["X", "N", "P"]),
    ("AU", &["X", "N", "Y"]),
    ("R", &["X", "A", "U", "I"]),
    ("V", &["X", "D", "C"]),
    ("RE", &["X", "L", "M", "H"]),
    ("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// The metrics of a vector, each known to its version and with a valid value.
struct Metrics<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Metrics<'a> {
    fn parse(body: &'a str, known: &[Metric], base: &[&'static str]) -> Result<Self, CvssError> {
        let mut metrics: Vec<(&str, &str)> = Vec::new();
        for part in body.split('/') {
            let (name, value) = part.split_once(':').ok_or_else(|| CvssError::Malformed(part.to_owned()))?;
            let (_, values) = known
                .iter()
                .find(|(known, _)| *known == name)
                .ok_or_else(|| CvssError::UnknownMetric(name.to_owned()))?;
            if !values.contains(&value) {
                return Err(CvssError::InvalidValue { metric: name.to_owned(), value: value.to_owned() });
            }
            if metrics.iter().any(|(seen, _)| *seen == name) {
                return Err(CvssError::DuplicateMetric(name.to_owned()));
            }
            metrics.push((name, value));
        }
        if let Some(missing) = base.iter().find(|name| !metrics.iter().any(|(seen, _)| seen == *name)) {
            return Err(CvssError::MissingMetric(missing));
        }
        Ok(Self(metrics))
    }

    /// The value of a base metric, which [`Metrics::parse`] made sure is there.
    fn get(&self, name: &str) -> &'a str {
        self.0.iter().find(|(seen, _)| *seen == name).map_or("", |(_, value)| value)
    }
}

fn v3_score(m: &Metrics<'_>) -> f64 {
    let changed = m.get("S") == "C";
    let av = match m.get("AV") {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        _ => 0.2,
    };
    let ac = if m.get("AC") == "L" { 0.77 } else { 0.44 };
    let pr = match (m.get("PR"), changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27,
        (_, true) => 0.5,
    };
    let ui = if m.get("UI") == "N" { 0.85 } else { 0.62 };
    let cia = |name| match m.get(name) {
        "H" => 0.56,
        "L" => 0.22,
        _ => 0.0,
    };
    let iss: f64 = 1.0 - (1.0 - cia("C")) * (1.0 - cia("I")) * (1.0 - cia("A"));
    let impact = if changed { 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15) } else { 6.42 * iss };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return 0.0;
    }
    let raw: f64 = if changed { 1.08 * (impact + exploitability) } else { impact + exploitability };
    round_up(raw.min(10.0))
}

/// The smallest one-decimal number not below `x`, computed as v3.1 appendix A prescribes to
/// keep floating-point noise (4.000000000000001) from rounding up a whole tenth. v3.0 meant
/// the same function and is scored with it too.
fn round_up(x: f64) -> f64 {
    let hundred_thousandths = (x * 100_000.0).round();
    if hundred_thousandths % 10_000.0 == 0.0 {
        hundred_thousandths / 100_000.0
    } else {
        ((hundred_thousandths / 10_000.0).floor() + 1.0) / 10.0
    }
}

fn v2_score(m: &Metrics<'_>) -> f64 {
    let av = match m.get("AV") {
        "L" => 0.395,
        "A" => 0.646,
        _ => 1.0,
    };
    let ac = match m.get("AC") {
        "H" => 0.35,
        "M" => 0.61,
        _ => 0.71,
    };
    let au = match m.get("Au") {
        "M" => 0.45,
        "S" => 0.56,
        _ => 0.704,
    };
    let cia = |name| match m.get(name) {
        "P" => 0.275,
        "C" => 0.660,
        _ => 0.0,
    };
    let impact = 10.41 * (1.0 - (1.0 - cia("C")) * (1.0 - cia("I")) * (1.0 - cia("A")));
    let exploitability = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    let score: f64 = (0.6 * impact + 0.4 * exploitability - 1.5) * f;
    // Round half up to one decimal, past the noise of the products above.
    ((score * 10.0 + 1e-9).round() / 10.0).max(0.0)
}
