//! The parsed form of a policy: what each rule selects and what it does to the images it picks.

/// A policy that passed ECR's validation, its rules sorted by ascending `rulePriority`, which
/// is the order they apply in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecyclePolicy {
    pub(crate) rules: Vec<Rule>,
}

/// Why a policy text was refused: the text ECR puts after "Lifecycle policy validation failure: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

impl LifecyclePolicy {
    /// Parses and validates `text` as ECR does, reporting the first failure with ECR's wording.
    pub fn parse(text: &str) -> Result<LifecyclePolicy, PolicyError> {
        crate::parse::parse(text)
    }

    /// The rules, by ascending priority.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub priority: u32,
    pub description: Option<String>,
    pub selection: Selection,
    pub action: Action,
}

/// Which images a rule considers, and which of those it acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub tag_status: TagStatus,
    /// Only for [`TagStatus::Tagged`]; validation guarantees it is never `None` there.
    pub tags: TagFilter,
    pub storage_class: StorageClass,
    pub count: Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

/// A tagged rule's filter: every entry must match some tag of the image (AND across entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    None,
    /// `tagPrefixList`: plain prefixes.
    Prefixes(Vec<String>),
    /// `tagPatternList`: globs where `*` matches any run of characters.
    Patterns(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageClass {
    Standard,
    Archive,
}

/// `countType` with its `countNumber`; the age types count days, the only `countUnit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// `imageCountMoreThan`: keep the newest N by push time, act on the rest.
    MoreThan(u32),
    /// `sinceImagePushed`: act on images pushed more than N days ago.
    SincePushedDays(u32),
    /// `sinceImagePulled`: act on images last pulled (or, never pulled, pushed) more than N days ago.
    SincePulledDays(u32),
    /// `sinceImageTransitioned`: act on archived images archived more than N days ago.
    SinceTransitionedDays(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionType {
    Expire,
    /// Move to the archive storage class, the only `targetStorageClass`.
    Transition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub kind: ActionType,
}
