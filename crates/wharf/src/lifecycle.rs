//! `wharf lifecycle run` (apply lifecycle policies now) and `wharf events` (what the
//! registry did on its own).

use wharf_meta::RepositoryKey;
use wharf_registry::{LifecycleAction, Registry};
use wharf_server::Config;

#[derive(clap::Subcommand)]
pub enum LifecycleCommand {
    /// Apply lifecycle policies now: of the named repositories, or of every repository
    /// that has one. Prints each image expired or archived.
    Run {
        /// Repositories (default: every repository with a policy).
        names: Vec<String>,
        /// Region of the repositories (default: the first configured region).
        #[arg(long)]
        region: Option<String>,
        /// Print the actions as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct EventsArgs {
    /// Only events of this repository.
    #[arg(long)]
    repository: Option<String>,
    #[arg(long)]
    region: Option<String>,
    /// Print JSON lines (with each event's detail) instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(command: LifecycleCommand, registry: &Registry, config: &Config) -> anyhow::Result<()> {
    let LifecycleCommand::Run { names, region: wanted, json } = command;
    let region = crate::served_region(config, wanted)?;
    let actions: Vec<LifecycleAction> = if names.is_empty() {
        // Every policy is due when the interval is zero.
        registry.run_due_lifecycle_policies(std::time::Duration::ZERO).await?
    } else {
        let mut all = Vec::new();
        for name in names {
            let key = RepositoryKey { account: config.account_id.clone(), region: region.clone(), name };
            all.extend(registry.run_lifecycle_policy(&key).await?);
        }
        all
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&actions)?);
        return Ok(());
    }
    for a in &actions {
        let tags = if a.image_tags.is_empty() { "<untagged>".to_owned() } else { a.image_tags.join(",") };
        println!(
            "{:10} {:30} {} {} (rule {}, {:?})",
            a.action_type, a.repository_name, a.image_digest, tags, a.rule_priority, a.cause
        );
    }
    println!("{} images acted on", actions.len());
    Ok(())
}

pub async fn events(args: EventsArgs, registry: &Registry, config: &Config) -> anyhow::Result<()> {
    let region = crate::served_region(config, args.region)?;
    let mut after = 0;
    loop {
        let page = registry.meta().events(&config.account_id, &region, args.repository.as_deref(), after, 1000).await?;
        for e in &page {
            if args.json {
                let detail: serde_json::Value = serde_json::from_str(&e.detail)?;
                let line = serde_json::json!({
                    "id": e.id, "time": e.at, "detail-type": e.detail_type,
                    "repository-name": e.repository.name, "region": e.repository.region, "detail": detail,
                });
                println!("{line}");
            } else {
                println!("{} {} {} {}", e.id, e.detail_type, e.repository.name, e.detail);
            }
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = last.id,
            _ => return Ok(()),
        }
    }
}
