//! The master key, and what the very first start creates: the default account, an
//! `admin` user allowed everything, and its access key in `<data-dir>/admin-credentials`
//! (AWS shared-credentials format, readable only by its owner, never logged).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use wharf_iam::secret::MasterKey;
use wharf_registry::access::{ADMINISTRATOR_POLICY, Access};

use crate::Config;

pub const ADMIN_USER: &str = "admin";
pub const CREDENTIALS_FILE: &str = "admin-credentials";

/// Reads the master key, creating it when the file does not exist.
pub fn load_master_key(path: &Path) -> anyhow::Result<MasterKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::from_hex(&text).with_context(|| format!("bad master key in {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            // create_new: two processes starting at once must not both write a key.
            match write_private(path, key.to_hex().as_bytes()) {
                Ok(()) => Ok(key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_master_key(path),
                Err(e) => Err(e).with_context(|| format!("cannot create master key {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("cannot read master key {}", path.display())),
    }
}

/// Creates the default account; when this start created it on a data dir that has no
/// administrator file yet, also the administrator. (A default account added to a data dir
/// later gets no automatic key: `wharf admin access-key create --root --account …`.)
pub async fn first_start(access: &Access, config: &Config) -> anyhow::Result<()> {
    let path = config.data_dir.join(CREDENTIALS_FILE);
    if !access.create_account(&config.account_id).await? || path.exists() {
        return Ok(());
    }
    let account = &config.account_id;
    access.create_user(account, ADMIN_USER).await?;
    let identity = format!("user/{ADMIN_USER}");
    access.put_identity_policy(account, &identity, "AdministratorAccess", ADMINISTRATOR_POLICY).await?;
    let key = access.create_access_key(account, &identity).await?;
    let text = format!(
        "# wharf administrator ({account}): user '{ADMIN_USER}', allowed everything.\n\
         # Use it with AWS_SHARED_CREDENTIALS_FILE={}, or copy it into `aws configure`.\n\
         [default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        path.display(),
        key.id,
        key.secret
    );
    write_private(&path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(account = %account, user = ADMIN_USER, file = %path.display(),
        "first start: created the administrator; its access key is in the file");
    Ok(())
}

/// Writes a new file readable and writable by its owner only.
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(content)?;
    file.sync_all()
}
