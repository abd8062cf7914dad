//! Tables of cases for the OSV model, range matching, CVSS scores, severities and findings,
//! built from small records written as JSON. The version orders have their own tests
//! (`version/tests.rs`), and the conformance vectors and real records theirs (`tests/`).

use serde_json::{Value, json};

use crate::{Affected, Record};

mod cvss;
mod findings;
mod matching;
mod osv;
mod properties;
mod severity;

fn record(value: Value) -> Record {
    serde_json::from_value(value).expect("test record parses")
}

fn entry(value: Value) -> Affected {
    serde_json::from_value(value).expect("test entry parses")
}

/// An affected entry with one range of `kind` (`ECOSYSTEM`, `SEMVER`, `GIT`) and these events.
fn ranged(kind: &str, events: Value) -> Affected {
    entry(json!({ "package": { "ecosystem": "npm", "name": "p" }, "ranges": [{ "type": kind, "events": events }] }))
}
