//! `MetaStore`: everything wharf knows about accounts, repositories, manifests, tags, blob
//! links, upload sessions, and identities with their policies. One implementation runs on
//! SQLite (embedded default) and on PostgreSQL (scale-out): the SQL is written once in the subset both understand (`$n`
//! placeholders, `ON CONFLICT`, `RETURNING`), and only the schema files and the way a
//! write transaction starts differ per dialect.

mod blobs;
mod events;
mod gc;
mod identity;
mod lifecycle;
mod manifests;
mod model;
mod repositories;
mod scans;
mod templates;
mod uploads;
mod vulndb;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use events::Event;
pub use gc::GcBlob;
pub use identity::{AccessKey, ROOT, Role, User};
pub use lifecycle::{PreviewQuery, PreviewRow, StoredPreview};
pub use model::*;
pub use repositories::{InitialPolicies, StoredLifecyclePolicy};
pub use scans::{ScanJob, ScanOutcome, ScanSummary, StaleScan, StoredScan};
pub use vulndb::{VulnDbImport, VulnLookup, VulnRecord};

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL: it must start with sqlite: or postgres://")]
    UnsupportedUrl,
    /// A stored value this version cannot read.
    #[error("unreadable stored value: {0}")]
    Corrupt(String),
}

impl MetaError {
    /// Whether a write named a row that no longer exists (a foreign key check failed),
    /// such as a repository deleted in the meantime.
    pub fn is_missing_reference(&self) -> bool {
        matches!(self, MetaError::Db(sqlx::Error::Database(e)) if e.is_foreign_key_violation())
    }
}

pub type Result<T, E = MetaError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Connection limits; the defaults suit the embedded shape.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig { max_connections: 8, acquire_timeout: Duration::from_secs(30) }
    }
}

#[derive(Clone)]
pub struct MetaStore {
    read: AnyPool,
    /// SQLite allows one writer at a time; a one-connection pool queues writers in
    /// process instead of failing them with SQLITE_BUSY. On PostgreSQL it is `read`.
    write: AnyPool,
    dialect: Dialect,
}

impl MetaStore {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str, pool: &PoolConfig) -> Result<MetaStore> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(MetaError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(url)?;
        let store = match dialect {
            Dialect::Sqlite => {
                let write = sqlite_pool(1, pool).connect_with(options.clone()).await?;
                // WAL lets readers run beside the writer; it is a property of the file, so
                // set it once before the read pool opens.
                write.execute("PRAGMA journal_mode = WAL").await?;
                let read = sqlite_pool(pool.max_connections, pool).connect_with(options).await?;
                MetaStore { read, write, dialect }
            }
            Dialect::Postgres => {
                let p = AnyPoolOptions::new()
                    .max_connections(pool.max_connections)
                    .acquire_timeout(pool.acquire_timeout)
                    .connect_with(options)
                    .await?;
                MetaStore { read: p.clone(), write: p, dialect }
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let migrator = match self.dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Dialect::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator.run(&self.write).await?;
        Ok(())
    }

    /// Starts a write transaction. SQLite takes the write lock up front (`IMMEDIATE`) so
    /// a transaction never has to upgrade a read lock, which could fail mid-way.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.write.begin().await?,
        })
    }

    /// A row-locking clause (`" FOR UPDATE"`, `" FOR KEY SHARE"`) for a `SELECT` in a write
    /// transaction on PostgreSQL. SQLite needs none: it runs one writer at a time.
    fn lock(&self, clause: &'static str) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => clause,
        }
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

fn sqlite_pool(max: u32, cfg: &PoolConfig) -> AnyPoolOptions {
    // No ping before each use: a local file does not go away, and the ping would add a
    // round trip to every query.
    let options = AnyPoolOptions::new().max_connections(max).acquire_timeout(cfg.acquire_timeout);
    options.test_before_acquire(false).after_connect(|conn, _| {
        Box::pin(async move {
            // NORMAL in WAL mode: a commit survives a killed process (the WAL is in the
            // OS page cache); only power loss can drop the last commits.
            conn.execute("PRAGMA synchronous = NORMAL").await?;
            Ok(())
        })
    })
}

/// `$first, $first+1, …` for a dynamic `IN (…)` list.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders() {
        assert_eq!(super::placeholders(3, 3), "$3, $4, $5");
        assert_eq!(super::placeholders(1, 0), "");
    }
}
