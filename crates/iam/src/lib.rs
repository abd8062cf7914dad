//! Identity and access, with no I/O: ARNs and principals, IAM policy documents (parse,
//! validate, evaluate), AWS Signature Version 4, registry auth tokens, presigned download
//! tokens, and the sealing of stored secrets. The registry crate supplies the data (keys,
//! policies) and the clock.

pub mod policy;
pub mod presign;
pub mod principal;
pub mod secret;
pub mod sigv4;
pub mod token;
pub mod wildcard;

pub use principal::{Principal, PrincipalKind};
