//! ECR lifecycle policies, with no I/O: the policy grammar (parse and validate with ECR's
//! messages) and the evaluator that decides which images a policy expires or archives.
