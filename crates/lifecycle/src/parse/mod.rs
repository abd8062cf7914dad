//! Parsing and validation of policy text, in ECR's two passes: first the JSON schema (shapes,
//! required and unknown properties, enums, minimums), failing with the JSON-schema validator's
//! texts ([`schema`]); then what a schema can't say, combinations within a rule and across
//! rules, failing with plain sentences ([`checks`]). A policy wrong both ways reports its
//! schema error, as ECR does.

mod checks;
mod json;
mod schema;

use crate::{LifecyclePolicy, PolicyError};

pub(crate) fn parse(text: &str) -> Result<LifecyclePolicy, PolicyError> {
    checks::build(schema::read(text)?)
}
