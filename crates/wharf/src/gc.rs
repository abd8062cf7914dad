//! `wharf gc`: one garbage collection now, beside a running server or without one, with a
//! progress bar and a summary.

use indicatif::{ProgressBar, ProgressStyle};
use wharf_registry::{GcOptions, GcProgress, GcReport, Registry};

#[derive(clap::Args)]
pub struct GcArgs {
    /// Count what would be reclaimed, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: GcArgs, registry: &Registry, options: &GcOptions) -> anyhow::Result<()> {
    let options = GcOptions { dry_run: args.dry_run, ..options.clone() };
    let bar = Bar(ProgressBar::hidden());
    if !args.json {
        // indicatif draws only on a terminal; anywhere else the bar stays silent.
        bar.0.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    let report = registry.collect_garbage(&options, &bar).await?;
    bar.0.finish_and_clear();
    let Some(report) = report else {
        anyhow::bail!("another garbage collection is running (on this or another node); try again later");
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report, &options));
    }
    Ok(())
}

struct Bar(ProgressBar);

impl GcProgress for Bar {
    fn phase(&self, name: &'static str, total: Option<u64>) {
        let template = match total {
            Some(_) => "{msg:30} [{bar:40}] {pos}/{len} ({eta})",
            None => "{spinner} {msg:30} {pos}",
        };
        self.0.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
        self.0.set_message(name);
        self.0.set_position(0);
        match total {
            Some(total) => self.0.set_length(total),
            None => self.0.unset_length(),
        }
    }

    fn advance(&self, items: u64) {
        self.0.inc(items);
    }
}

fn summary(r: &GcReport, options: &GcOptions) -> String {
    let verb = if r.dry_run { "would delete" } else { "deleted" };
    let mut out = format!(
        "blobs:    {verb} {} ({})\norphaned: {verb} {} stored files without a blob record ({})\nuploads:  {verb} {} \
         abandoned upload sessions\n",
        r.blobs_deleted,
        bytes(r.bytes_deleted),
        r.orphan_files_deleted,
        bytes(r.orphan_bytes_deleted),
        r.uploads_deleted,
    );
    if !r.dry_run {
        out += &format!(
            "marked:   {} unreferenced blobs, deleted by a collection {} s from now or later if still unused\n",
            r.blobs_marked,
            options.grace.as_secs()
        );
    }
    if r.quarantine_resolved > 0 {
        out += &format!("resolved: {} blobs an interrupted collection had set aside\n", r.quarantine_resolved);
    }
    out
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
