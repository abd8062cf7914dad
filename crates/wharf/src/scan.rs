//! `wharf vulndb import|status` (the offline vulnerability database) and `wharf scan` (scan
//! an image now and print its findings).

use std::path::PathBuf;

use anyhow::Context;
use wharf_meta::RepositoryKey;
use wharf_oci::Reference;
use wharf_registry::Registry;
use wharf_registry::scanning::report::{self, ImageContext};
use wharf_registry::scanning::vulndb::VulnDbSummary;
use wharf_registry::scanning::{self, FindingStatus};
use wharf_server::Config;

#[derive(clap::Subcommand)]
pub enum VulnDbCommand {
    /// Replace the vulnerability database with osv.dev exports (`<ECOSYSTEM>/all.zip`) and
    /// CISA's `kev.json`: files, or folders searched for them. Scans see the old database
    /// until the new one is complete; a malformed file leaves the old one in use.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what the current vulnerability database holds.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct ScanArgs {
    /// The image: `REPOSITORY:TAG`, `REPOSITORY@DIGEST`, or `REPOSITORY` for `:latest`.
    image: String,
    /// Region of the repository (default: the first configured region).
    #[arg(long)]
    region: Option<String>,
    /// Print DescribeImageScanFindings' answer (all findings) as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn vulndb(command: VulnDbCommand, registry: &Registry) -> anyhow::Result<()> {
    let (summary, json) = match command {
        VulnDbCommand::Import { paths, json } => (registry.import_vulndb(&paths).await?, json),
        VulnDbCommand::Status { json } => (registry.vulndb_status().await?.unwrap_or_default(), json),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn print_summary(summary: &VulnDbSummary) {
    if summary.records == 0 && summary.files.is_empty() {
        println!("no vulnerability database has been imported");
        return;
    }
    println!("{} advisories, {} known-exploited CVEs", summary.records, summary.kev);
    println!("source updated at: {}", summary.source_updated_at.as_deref().unwrap_or("unknown"));
    println!("imported at:       {}", summary.imported_at.as_deref().unwrap_or("unknown"));
    for (ecosystem, count) in &summary.ecosystems {
        println!("  {ecosystem:24} {count}");
    }
}

pub async fn scan(args: ScanArgs, registry: &Registry, config: &Config) -> anyhow::Result<()> {
    let region = crate::served_region(config, args.region)?;
    let (name, reference) = parse_image(&args.image)?;
    let key = RepositoryKey { account: config.account_id.clone(), region, name };
    let digest = registry.scan_now(&key, &reference, &config.scan).await?;
    let scan = registry.image_scan(&key, &digest).await?;
    let image = registry.images_by_digest(&key, &[digest.to_string()]).await?.pop().context("the image was deleted")?;
    if args.json {
        let context =
            ImageContext { repository: &key, digest: &image.digest, tags: &image.tags, pushed_at: image.pushed_at };
        println!(
            "{}",
            serde_json::to_string_pretty(&report::describe_findings(&scan, &context, 0..scan.findings.len()))?
        );
    } else {
        print_findings(&scan);
    }
    anyhow::ensure!(
        scan.status == scanning::COMPLETE,
        "scan {}: {}",
        scan.status,
        scan.description.as_deref().unwrap_or("no reason given")
    );
    Ok(())
}

fn print_findings(scan: &report::ImageScan) {
    let active: Vec<_> = scan.findings.iter().filter(|f| f.status == FindingStatus::Active).collect();
    if !active.is_empty() {
        println!("{:13} {:24} {:30} {:24} {:24} PATH", "SEVERITY", "ID", "PACKAGE", "VERSION", "FIXED IN");
    }
    for f in &active {
        let finding = &f.finding;
        println!(
            "{:13} {:24} {:30} {:24} {:24} {}",
            finding.severity.as_str(),
            finding.id,
            finding.package_name,
            finding.package_version,
            finding.fixed_in.as_deref().unwrap_or("-"),
            f.file_path
        );
    }
    let counts: Vec<String> = scan.severity_counts.iter().rev().map(|(s, n)| format!("{s} {n}")).collect();
    println!("{} findings{}{}", active.len(), if counts.is_empty() { "" } else { ": " }, counts.join(", "));
}

/// `REPO:TAG`, `REPO@DIGEST` or `REPO`; repository names never contain `:` or `@`.
fn parse_image(image: &str) -> anyhow::Result<(String, Reference)> {
    let (name, reference) = image.split_once('@').or_else(|| image.split_once(':')).unwrap_or((image, "latest"));
    let reference = Reference::parse(reference).with_context(|| format!("invalid image reference '{image}'"))?;
    Ok((name.to_owned(), reference))
}
