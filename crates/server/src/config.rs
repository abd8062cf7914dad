//! Settings: flags, then `WHARF_*` environment variables, then the TOML file, then
//! defaults. Every setting is one field of `Settings`, so `wharf serve --help`, the
//! environment and the file always offer the same options.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// All settings, each optional so that the layers can be merged.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// TOML file with any of these settings (keys are the long option names with `_`).
    #[arg(long, env = "WHARF_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address and port to listen on.
    #[arg(long, env = "WHARF_LISTEN", global = true, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Folder for everything wharf stores on embedded defaults (SQLite file, blobs, uploads).
    #[arg(long, env = "WHARF_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Metadata database: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    /// Default: `<data-dir>/wharf.db`.
    #[arg(long, env = "WHARF_DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// The default account's 12-digit id: the registry that any host name other than
    /// `<account>.dkr.ecr.<region>.<domain>` addresses.
    #[arg(long, env = "WHARF_ACCOUNT_ID", global = true, value_name = "ID")]
    pub account_id: Option<String>,

    /// Regions this deployment serves, comma separated; the first is the default.
    #[arg(long, env = "WHARF_REGIONS", global = true, value_delimiter = ',', value_name = "LIST")]
    pub regions: Option<Vec<String>>,

    /// DNS domain of the registry hosts `<account>.dkr.ecr.<region>.<domain>`.
    #[arg(long, env = "WHARF_DOMAIN", global = true)]
    pub domain: Option<String>,

    /// PEM certificate chain; with --tls-key, serve HTTPS (HTTP/1.1 and HTTP/2).
    #[arg(long, env = "WHARF_TLS_CERT", global = true, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "WHARF_TLS_KEY", global = true, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Log format: `text` or `json`. Levels come from RUST_LOG (default `info`).
    #[arg(long, env = "WHARF_LOG_FORMAT", global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Largest manifest accepted, in bytes.
    #[arg(long, env = "WHARF_MAX_MANIFEST_BYTES", global = true, value_name = "BYTES")]
    pub max_manifest_bytes: Option<usize>,

    /// Largest blob accepted, in bytes.
    #[arg(long, env = "WHARF_MAX_BLOB_BYTES", global = true, value_name = "BYTES")]
    pub max_blob_bytes: Option<u64>,

    /// Largest request head (request line and headers), in bytes.
    #[arg(long, env = "WHARF_MAX_HEADER_BYTES", global = true, value_name = "BYTES")]
    pub max_header_bytes: Option<usize>,

    /// Largest page of tags or repositories one request returns.
    #[arg(long, env = "WHARF_MAX_PAGE_SIZE", global = true, value_name = "N")]
    pub max_page_size: Option<i64>,

    /// How long a cached lookup may be served, in milliseconds (0 disables caching).
    #[arg(long, env = "WHARF_CACHE_TTL_MS", global = true, value_name = "MS")]
    pub cache_ttl_ms: Option<u64>,

    /// Memory for cached manifests and lookups, in bytes.
    #[arg(long, env = "WHARF_CACHE_BYTES", global = true, value_name = "BYTES")]
    pub cache_bytes: Option<u64>,

    /// How often recorded pull times are written, in seconds.
    #[arg(long, env = "WHARF_PULL_FLUSH_SECS", global = true, value_name = "SECS")]
    pub pull_flush_secs: Option<u64>,

    /// On SIGTERM, how long in-flight requests may take to finish, in seconds.
    #[arg(long, env = "WHARF_SHUTDOWN_GRACE_SECS", global = true, value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,

    /// Largest number of database connections.
    #[arg(long, env = "WHARF_DATABASE_MAX_CONNECTIONS", global = true, value_name = "N")]
    pub database_max_connections: Option<u32>,

    /// File holding the master key (64 hex digits) that seals stored secrets and signs
    /// tokens; created (readable by its owner only) if missing. Every node of a scale-out
    /// deployment needs the same key. Default: `<data-dir>/master.key`.
    #[arg(long, env = "WHARF_MASTER_KEY_FILE", global = true, value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,

    /// How long a registry token (`get-login-password`, docker login) is valid, in seconds
    /// (ECR: 43200, 12 hours).
    #[arg(long, env = "WHARF_TOKEN_LIFETIME_SECS", global = true, value_name = "SECS")]
    pub token_lifetime_secs: Option<u64>,

    /// Largest ECR/STS API request body, in bytes.
    #[arg(long, env = "WHARF_MAX_API_BODY_BYTES", global = true, value_name = "BYTES")]
    pub max_api_body_bytes: Option<usize>,

    /// How often the server collects garbage (unreferenced blobs, abandoned uploads), in
    /// seconds; 0 turns the background collection off (`wharf gc` still works).
    #[arg(long, env = "WHARF_GC_INTERVAL_SECS", global = true, value_name = "SECS")]
    pub gc_interval_secs: Option<u64>,

    /// How long a blob must stay unreferenced and unused before garbage collection marks
    /// it, and marked before it is deleted, in seconds. A client has at least this long
    /// between seeing a blob and pushing the manifest that references it.
    #[arg(long, env = "WHARF_GC_GRACE_SECS", global = true, value_name = "SECS")]
    pub gc_grace_secs: Option<u64>,

    /// How often each repository's lifecycle policy is applied, in seconds (ECR: within
    /// 24 hours). Restores of archived images complete on the same background pass, which
    /// runs at least every 5 seconds.
    #[arg(long, env = "WHARF_LIFECYCLE_INTERVAL_SECS", global = true, value_name = "SECS")]
    pub lifecycle_interval_secs: Option<u64>,

    /// Upload sessions nobody has written to for this long are deleted, in seconds.
    #[arg(long, env = "WHARF_UPLOAD_MAX_AGE_SECS", global = true, value_name = "SECS")]
    pub upload_max_age_secs: Option<u64>,

    /// Image scans this node runs at a time (scans are queued in the metadata store and any
    /// node takes them); 0: this node runs none.
    #[arg(long, env = "WHARF_SCAN_WORKERS", global = true, value_name = "N")]
    pub scan_workers: Option<usize>,

    /// The most bytes one layer may decompress to when a scan reads it (decompression
    /// bombs fail the scan instead of the server).
    #[arg(long, env = "WHARF_SCAN_MAX_LAYER_BYTES", global = true, value_name = "BYTES")]
    pub scan_max_layer_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("{0}")]
    Invalid(String),
}

/// Resolved settings, with every default applied and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub account_id: String,
    pub regions: Vec<String>,
    pub domain: String,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub log_format: LogFormat,
    pub max_manifest_bytes: usize,
    pub max_blob_bytes: u64,
    pub max_header_bytes: usize,
    pub max_page_size: i64,
    pub cache_ttl: Duration,
    pub cache_bytes: u64,
    pub pull_flush_interval: Duration,
    pub shutdown_grace: Duration,
    pub database_max_connections: u32,
    pub master_key_file: PathBuf,
    pub token_lifetime: Duration,
    pub max_api_body_bytes: usize,
    /// `None`: no background collection.
    pub gc_interval: Option<Duration>,
    pub gc: wharf_registry::GcOptions,
    pub lifecycle_interval: Duration,
    pub scan_workers: usize,
    pub scan: wharf_registry::scanning::ScanLimits,
}

impl Settings {
    /// Merges the file named by `--config` under these settings and resolves defaults.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => Settings::default(),
        };
        self.or(file).finish()
    }

    /// Each field from `self` when set, else from `lower`.
    fn or(self, lower: Settings) -> Settings {
        macro_rules! pick {
            ($($f:ident),*) => { Settings { $($f: self.$f.or(lower.$f)),* } };
        }
        pick!(
            config,
            listen,
            data_dir,
            database_url,
            account_id,
            regions,
            domain,
            tls_cert,
            tls_key,
            log_format,
            max_manifest_bytes,
            max_blob_bytes,
            max_header_bytes,
            max_page_size,
            cache_ttl_ms,
            cache_bytes,
            pull_flush_secs,
            shutdown_grace_secs,
            database_max_connections,
            master_key_file,
            token_lifetime_secs,
            max_api_body_bytes,
            gc_interval_secs,
            gc_grace_secs,
            upload_max_age_secs,
            lifecycle_interval_secs,
            scan_workers,
            scan_max_layer_bytes
        )
    }

    fn finish(self) -> Result<Config, ConfigError> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("wharf-data"));
        let database_url = self.database_url.unwrap_or_else(|| sqlite_url(&data_dir.join("wharf.db")));
        let account_id = self.account_id.unwrap_or_else(|| "000000000000".into());
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid(format!("account_id '{account_id}' must be 12 digits")));
        }
        let regions = self.regions.unwrap_or_else(|| vec!["us-east-1".into()]);
        if regions.is_empty() || regions.iter().any(|r| !valid_region(r)) {
            return Err(ConfigError::Invalid(format!("regions {regions:?} must be names like us-east-1")));
        }
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err(ConfigError::Invalid("tls_cert and tls_key go together".into())),
        };
        let max_header_bytes = self.max_header_bytes.unwrap_or(64 * 1024);
        if max_header_bytes < 8192 {
            return Err(ConfigError::Invalid("max_header_bytes must be at least 8192".into()));
        }
        let max_page_size = self.max_page_size.unwrap_or(1000);
        if max_page_size < 1 {
            return Err(ConfigError::Invalid("max_page_size must be at least 1".into()));
        }
        let token_lifetime_secs = self.token_lifetime_secs.unwrap_or(12 * 3600);
        if !(1..=12 * 3600).contains(&token_lifetime_secs) {
            return Err(ConfigError::Invalid("token_lifetime_secs must be 1..43200".into()));
        }
        let upload_max_age_secs = self.upload_max_age_secs.unwrap_or(24 * 3600);
        if upload_max_age_secs < 60 {
            // A session is only idle between requests; a minute is far beyond any gap
            // inside one request, so a live upload is never taken for abandoned.
            return Err(ConfigError::Invalid("upload_max_age_secs must be at least 60".into()));
        }
        let mut scan = wharf_registry::scanning::ScanLimits::default();
        if let Some(bytes) = self.scan_max_layer_bytes {
            scan.inventory.max_layer_bytes = bytes;
        }
        Ok(Config {
            scan_workers: self.scan_workers.unwrap_or(1),
            scan,
            lifecycle_interval: Duration::from_secs(self.lifecycle_interval_secs.unwrap_or(24 * 3600).max(1)),
            gc_interval: Some(self.gc_interval_secs.unwrap_or(600)).filter(|&s| s > 0).map(Duration::from_secs),
            gc: wharf_registry::GcOptions {
                grace: Duration::from_secs(self.gc_grace_secs.unwrap_or(3600)),
                upload_max_age: Duration::from_secs(upload_max_age_secs),
                dry_run: false,
            },
            master_key_file: self.master_key_file.unwrap_or_else(|| data_dir.join("master.key")),
            token_lifetime: Duration::from_secs(token_lifetime_secs),
            max_api_body_bytes: self.max_api_body_bytes.unwrap_or(32 * 1024 * 1024),
            listen: self.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5000))),
            data_dir,
            database_url,
            account_id,
            regions,
            domain: self.domain.unwrap_or_else(|| "localhost".into()),
            tls,
            log_format: self.log_format.unwrap_or(LogFormat::Text),
            max_manifest_bytes: self.max_manifest_bytes.unwrap_or(4 * 1024 * 1024),
            max_blob_bytes: self.max_blob_bytes.unwrap_or(52_000 * 1024 * 1024),
            max_header_bytes,
            max_page_size,
            cache_ttl: Duration::from_millis(self.cache_ttl_ms.unwrap_or(1000)),
            cache_bytes: self.cache_bytes.unwrap_or(32 * 1024 * 1024),
            pull_flush_interval: Duration::from_secs(self.pull_flush_secs.unwrap_or(5).max(1)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs.unwrap_or(30)),
            database_max_connections: self.database_max_connections.unwrap_or(8).max(1),
        })
    }
}

fn read_file(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn valid_region(r: &str) -> bool {
    (2..=25).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Settings::default().resolve().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(c.database_url, "sqlite://wharf-data/wharf.db?mode=rwc");
        assert_eq!(c.regions, ["us-east-1"]);
        assert_eq!(c.account_id, "000000000000");
        assert!(c.tls.is_none());
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wharf.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:7000\"\naccount_id = \"111111111111\"\nregions = [\"eu-west-1\", \"us-east-1\"]\n",
        )
        .unwrap();
        let flags = Settings { config: Some(path), account_id: Some("222222222222".into()), ..Default::default() };
        let c = flags.resolve().unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.account_id, "222222222222");
        assert_eq!(c.regions, ["eu-west-1", "us-east-1"]);
    }

    #[test]
    fn refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        assert!(matches!(
            Settings { config: Some(path), ..Default::default() }.resolve(),
            Err(ConfigError::Parse { .. })
        ));
        let bad_account = Settings { account_id: Some("12".into()), ..Default::default() };
        assert!(bad_account.resolve().is_err());
        let half_tls = Settings { tls_cert: Some("c.pem".into()), ..Default::default() };
        assert!(half_tls.resolve().is_err());
    }
}
