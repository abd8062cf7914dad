//! `wharf admin …`: accounts, users, roles, inline policies and access keys, managed
//! directly in the metadata store (works beside a running server; servers see changes
//! within their cache TTL).

use anyhow::Context;
use clap::{Args, Subcommand};
use wharf_meta::ROOT;
use wharf_registry::access::Access;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Accounts (12-digit ids).
    #[command(subcommand)]
    Account(AccountCommand),
    /// IAM users.
    #[command(subcommand)]
    User(UserCommand),
    /// IAM roles, assumed with `aws sts assume-role`.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Inline identity policies of users and roles.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Access keys of users and of the account root.
    #[command(subcommand)]
    AccessKey(AccessKeyCommand),
}

#[derive(Subcommand)]
pub enum AccountCommand {
    Create { id: String },
    List,
}

#[derive(Args)]
pub struct InAccount {
    /// The account (default: the configured default account).
    #[arg(long)]
    account: Option<String>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    Create {
        name: String,
        #[command(flatten)]
        account: InAccount,
    },
    /// Deletes the user with its policies and access keys.
    Delete {
        name: String,
        #[command(flatten)]
        account: InAccount,
    },
    List {
        #[command(flatten)]
        account: InAccount,
    },
}

#[derive(Subcommand)]
pub enum RoleCommand {
    Create {
        name: String,
        /// Trust policy: JSON text, or `file://PATH`. Default: principals of the role's own
        /// account whose identity policies allow `sts:AssumeRole`.
        #[arg(long)]
        trust_policy: Option<String>,
        #[arg(long, default_value_t = 3600)]
        max_session_secs: i64,
        #[command(flatten)]
        account: InAccount,
    },
    Delete {
        name: String,
        #[command(flatten)]
        account: InAccount,
    },
    List {
        #[command(flatten)]
        account: InAccount,
    },
}

/// A user or a role.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct Identity {
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    role: Option<String>,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Adds or replaces an inline policy.
    Put {
        #[command(flatten)]
        identity: Identity,
        /// Name of the policy.
        #[arg(long)]
        name: String,
        /// The policy document: JSON text, or `file://PATH`.
        #[arg(long)]
        document: String,
        #[command(flatten)]
        account: InAccount,
    },
    Delete {
        #[command(flatten)]
        identity: Identity,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        account: InAccount,
    },
    /// Prints each policy: its name, then its document.
    List {
        #[command(flatten)]
        identity: Identity,
        #[command(flatten)]
        account: InAccount,
    },
}

/// A user, or the account root.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct KeyOwner {
    #[arg(long)]
    user: Option<String>,
    /// The account root (allowed everything in its account; prefer users).
    #[arg(long)]
    root: bool,
}

#[derive(Subcommand)]
pub enum AccessKeyCommand {
    /// Creates a key and prints it in AWS credentials-file format. The secret is shown
    /// only this once.
    Create {
        #[command(flatten)]
        owner: KeyOwner,
        #[command(flatten)]
        account: InAccount,
    },
    List {
        #[command(flatten)]
        owner: KeyOwner,
        #[command(flatten)]
        account: InAccount,
    },
    Disable {
        id: String,
    },
    Enable {
        id: String,
    },
    Delete {
        id: String,
    },
}

pub async fn run(command: AdminCommand, access: &Access, default_account: &str) -> anyhow::Result<()> {
    let account = |a: InAccount| a.account.unwrap_or_else(|| default_account.to_owned());
    match command {
        AdminCommand::Account(AccountCommand::Create { id }) => {
            anyhow::ensure!(access.create_account(&id).await?, "account {id} exists already");
        }
        AdminCommand::Account(AccountCommand::List) => {
            for id in access.meta().list_accounts().await? {
                println!("{id}");
            }
        }
        AdminCommand::User(UserCommand::Create { name, account: a }) => {
            let user = access.create_user(&account(a), &name).await?;
            println!("arn:aws:iam::{}:user/{}", user.account, user.name);
        }
        AdminCommand::User(UserCommand::Delete { name, account: a }) => {
            access.delete_identity(&account(a), &format!("user/{name}")).await?;
        }
        AdminCommand::User(UserCommand::List { account: a }) => {
            for user in access.meta().list_users(&account(a)).await? {
                println!("{}\t{}", user.name, user.user_id);
            }
        }
        AdminCommand::Role(RoleCommand::Create { name, trust_policy, max_session_secs, account: a }) => {
            let trust = trust_policy.map(|t| document(&t)).transpose()?;
            let role = access.create_role(&account(a), &name, trust.as_deref(), max_session_secs).await?;
            println!("arn:aws:iam::{}:role/{}", role.account, role.name);
        }
        AdminCommand::Role(RoleCommand::Delete { name, account: a }) => {
            access.delete_identity(&account(a), &format!("role/{name}")).await?;
        }
        AdminCommand::Role(RoleCommand::List { account: a }) => {
            for role in access.meta().list_roles(&account(a)).await? {
                println!("{}\t{}", role.name, role.role_id);
            }
        }
        AdminCommand::Policy(PolicyCommand::Put { identity, name, document: doc, account: a }) => {
            access.put_identity_policy(&account(a), &identity.name(), &name, &document(&doc)?).await?;
        }
        AdminCommand::Policy(PolicyCommand::Delete { identity, name, account: a }) => {
            access.delete_identity_policy(&account(a), &identity.name(), &name).await?;
        }
        AdminCommand::Policy(PolicyCommand::List { identity, account: a }) => {
            for (name, doc) in access.identity_policy_documents(&account(a), &identity.name()).await? {
                println!("{name}\n{doc}");
            }
        }
        AdminCommand::AccessKey(AccessKeyCommand::Create { owner, account: a }) => {
            let key = access.create_access_key(&account(a), &owner.name()).await?;
            println!("[default]\naws_access_key_id = {}\naws_secret_access_key = {}", key.id, key.secret);
        }
        AdminCommand::AccessKey(AccessKeyCommand::List { owner, account: a }) => {
            for key in access.meta().list_access_keys(&account(a), &owner.name()).await? {
                println!("{}\t{}", key.id, if key.active { "Active" } else { "Inactive" });
            }
        }
        AdminCommand::AccessKey(AccessKeyCommand::Disable { id }) => access.set_access_key_active(&id, false).await?,
        AdminCommand::AccessKey(AccessKeyCommand::Enable { id }) => access.set_access_key_active(&id, true).await?,
        AdminCommand::AccessKey(AccessKeyCommand::Delete { id }) => access.delete_access_key(&id).await?,
    }
    Ok(())
}

impl Identity {
    fn name(&self) -> String {
        // clap makes exactly one of the two present.
        match &self.user {
            Some(user) => format!("user/{user}"),
            None => format!("role/{}", self.role.as_deref().unwrap_or_default()),
        }
    }
}

impl KeyOwner {
    fn name(&self) -> String {
        match &self.user {
            Some(user) => format!("user/{user}"),
            None => ROOT.to_owned(),
        }
    }
}

/// A policy given as JSON text or as `file://PATH`, as the AWS CLI takes them.
fn document(arg: &str) -> anyhow::Result<String> {
    match arg.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}")),
        None => Ok(arg.to_owned()),
    }
}
