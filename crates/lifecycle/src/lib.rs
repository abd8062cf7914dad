//! ECR lifecycle policies, with no I/O: the policy grammar (parse and validate with ECR's
//! messages) and the evaluator that decides which images a policy expires or archives.
//!
//! A policy is parsed and validated once ([`LifecyclePolicy::parse`]); evaluating it
//! ([`evaluate()`]) only needs the repository's images and the clock, which the caller supplies.

mod evaluate;
mod model;
mod parse;
#[cfg(test)]
mod tests;

pub use evaluate::{Decision, Image, evaluate};
pub use model::{
    Action, ActionType, Count, LifecyclePolicy, PolicyError, Rule, Selection, StorageClass, TagFilter, TagStatus,
};
