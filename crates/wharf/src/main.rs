//! `wharf`: the registry server and its administration commands.

mod admin;
mod gc;
mod lifecycle;
mod login;
mod scan;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use wharf_meta::RepositoryKey;
use wharf_registry::RegistryError;
use wharf_server::{Config, LogFormat, Settings};

/// glibc's allocator hands the memory of freed buffers back to the kernel (trimming and
/// unmapping), so the megabytes of request-body buffers a push allocates and frees per
/// second came back as page faults on fresh pages: measured, 0.2 s of CPU per GB uploaded.
/// mimalloc keeps and reuses them. It is built without transparent huge pages (`no_thp`):
/// with them its arenas held whole 2 MiB pages per thread, and peak RSS over the benchmark
/// went from 46 to 83 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "wharf", version, about = "A self-hosted container registry that does what Amazon ECR does")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the registry server.
    Serve,
    /// Manage repositories directly in the metadata store (works beside a running server).
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Manage accounts, users, roles, policies and access keys in the metadata store.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Print a registry password for `docker login --username AWS --password-stdin`, as
    /// `aws ecr get-login-password` does.
    GetLoginPassword(login::LoginArgs),
    /// Collect garbage now: blobs no manifest references (after the grace period, see
    /// --gc-grace-secs) and abandoned upload sessions. Safe beside running servers.
    Gc(gc::GcArgs),
    /// Lifecycle policies: apply them now.
    #[command(subcommand)]
    Lifecycle(lifecycle::LifecycleCommand),
    /// What the registry did on its own (lifecycle expirations and transitions, scans).
    Events(lifecycle::EventsArgs),
    /// The offline vulnerability database that scans match against.
    #[command(subcommand)]
    Vulndb(scan::VulnDbCommand),
    /// Scan an image now (with the registry's scan type) and print its findings. The result
    /// is stored as the image's scan.
    Scan(scan::ScanArgs),
}

#[derive(Subcommand)]
enum RepoCommand {
    /// Create a repository; prints its URI.
    Create {
        name: String,
        /// Region of the repository (default: the first configured region).
        #[arg(long)]
        region: Option<String>,
    },
    /// List repositories, one name per line.
    List {
        #[arg(long)]
        region: Option<String>,
    },
    /// Delete a repository.
    Delete {
        name: String,
        #[arg(long)]
        region: Option<String>,
        /// Delete it even if it still holds images.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = cli.settings.resolve().map_err(anyhow::Error::from).and_then(|config| {
        init_logging(config.log_format);
        let runtime =
            tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
        runtime.block_on(run(cli.command, config))
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wharf: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => wharf_server::serve(config).await,
        Command::Repo(repo) => repo_command(repo, &config).await,
        Command::Admin(command) => {
            let services = wharf_server::open(&config).await?;
            let result = admin::run(command, &services.access, &config.account_id).await;
            services.access.meta().close().await;
            result
        }
        Command::Gc(_) | Command::Lifecycle(_) | Command::Events(_) | Command::Vulndb(_) | Command::Scan(_) => {
            let registry = wharf_server::open(&config).await?.registry;
            let result = match command {
                Command::Gc(args) => gc::run(args, &registry, &config.gc).await,
                Command::Lifecycle(command) => lifecycle::run(command, &registry, &config).await,
                Command::Events(args) => lifecycle::events(args, &registry, &config).await,
                Command::Vulndb(command) => scan::vulndb(command, &registry).await,
                Command::Scan(args) => scan::scan(args, &registry, &config).await,
                _ => unreachable!("matched above"),
            };
            registry.meta().close().await;
            result
        }
        Command::GetLoginPassword(args) => login::run(args, config.listen, &config.regions[0]).await,
    }
}

/// The region a command names, or the first configured one.
fn served_region(config: &Config, region: Option<String>) -> anyhow::Result<String> {
    let region = region.unwrap_or_else(|| config.regions[0].clone());
    anyhow::ensure!(config.regions.contains(&region), "region '{region}' is not served by this registry");
    Ok(region)
}

async fn repo_command(command: RepoCommand, config: &Config) -> anyhow::Result<()> {
    let registry = wharf_server::open(config).await?.registry;
    let region_or_default = |region: Option<String>| -> anyhow::Result<String> {
        let region = region.unwrap_or_else(|| config.regions[0].clone());
        anyhow::ensure!(config.regions.contains(&region), "region '{region}' is not served by this registry");
        Ok(region)
    };
    let key = |name: String, region: String| RepositoryKey { account: config.account_id.clone(), region, name };
    let result = match command {
        RepoCommand::Create { name, region } => {
            let region = region_or_default(region)?;
            let repo = registry.create_repository(&key(name, region), &Default::default(), &[]).await?;
            println!("{}.dkr.ecr.{}.{}/{}", repo.key.account, repo.key.region, config.domain, repo.key.name);
            Ok(())
        }
        RepoCommand::List { region } => {
            let region = region_or_default(region)?;
            let mut last: Option<String> = None;
            loop {
                let page = registry.describe_repositories(&config.account_id, &region, last.as_deref(), 1000).await?;
                for repo in &page {
                    println!("{}", repo.key.name);
                }
                match page.last() {
                    Some(repo) if page.len() == 1000 => last = Some(repo.key.name.clone()),
                    _ => break Ok(()),
                }
            }
        }
        RepoCommand::Delete { name, region, force } => {
            let region = region_or_default(region)?;
            registry.delete_repository(&key(name, region), force).await.map_err(|e| match e {
                RegistryError::RepositoryNotEmpty { .. } => anyhow::anyhow!("{e} (use --force)"),
                e => e.into(),
            })
        }
    };
    registry.meta().close().await;
    result
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
