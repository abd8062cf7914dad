//! `wharf vulndb import`: osv.dev's per-ecosystem exports (`<ECOSYSTEM>/all.zip`, one OSV
//! record per entry) and CISA's known-exploited catalogue (`kev.json`), taken as they are
//! published, into a new database generation that replaces the current one only once all of
//! it is stored. A malformed file fails the import and leaves the current database in use.
//!
//! Memory stays small whatever the size of the exports: the zip entries are read one at a
//! time on a blocking thread and handed to the writer in bounded batches.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use wharf_meta::{VulnDbImport, VulnRecord};
use wharf_vuln::Record;

use crate::{Registry, RegistryError, Result, now_ms};

/// Records per write transaction.
const BATCH: usize = 500;
/// Batches read ahead of the writer.
const READ_AHEAD: usize = 4;
/// The largest OSV record read (the biggest real ones are a few hundred KiB).
const MAX_RECORD_BYTES: u64 = 16 << 20;
/// The largest KEV catalogue read (the real one is about 1.3 MB).
const MAX_KEV_BYTES: u64 = 64 << 20;

/// What a database generation holds, as `wharf vulndb import` and `status` print it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnDbSummary {
    pub records: u64,
    pub kev: u64,
    /// The newest `modified` time of its records, RFC 3339 (ECR's `vulnerabilitySourceUpdatedAt`).
    pub source_updated_at: Option<String>,
    /// Records per ecosystem named in them (a record naming two ecosystems counts in both).
    pub ecosystems: BTreeMap<String, u64>,
    /// The files imported.
    pub files: Vec<String>,
    /// When the import completed, RFC 3339.
    #[serde(default)]
    pub imported_at: Option<String>,
}

/// What the reading thread sends the writer.
enum Batch {
    Records(Vec<VulnRecord>),
    Kev(Vec<String>),
}

impl Registry {
    /// Imports exports and catalogues from `paths` (files, or folders searched for `*.zip`
    /// and `kev.json`) as the new vulnerability database.
    pub async fn import_vulndb(&self, paths: &[PathBuf]) -> Result<VulnDbSummary> {
        let files = input_files(paths)?;
        let id = self.meta.begin_vulndb_import(now_ms()).await?;
        match self.write_generation(id, files).await {
            Ok(summary) => Ok(summary),
            Err(e) => {
                if let Err(cleanup) = self.meta.abandon_vulndb_import(id).await {
                    tracing::warn!(error = %cleanup, "could not remove the failed import's rows");
                }
                Err(e)
            }
        }
    }

    async fn write_generation(&self, id: i64, files: Vec<PathBuf>) -> Result<VulnDbSummary> {
        let (tx, mut rx) = mpsc::channel(READ_AHEAD);
        let reader = tokio::task::spawn_blocking(move || read_files(&files, &tx));
        let (mut records, mut kev) = (0u64, 0u64);
        while let Some(batch) = rx.recv().await {
            match batch {
                Batch::Records(batch) => {
                    records += batch.len() as u64;
                    self.meta.add_vulndb_records(id, &batch).await?;
                }
                Batch::Kev(cves) => {
                    kev += cves.len() as u64;
                    self.meta.add_vulndb_kev(id, &cves).await?;
                }
            }
        }
        let mut summary = reader.await.map_err(|e| RegistryError::VulnDb(format!("import thread failed: {e}")))??;
        summary.records = records;
        summary.kev = kev;
        let completed_at = now_ms();
        summary.imported_at = Some(rfc3339(completed_at));
        let import = VulnDbImport {
            id,
            completed_at,
            source: serde_json::to_string(&summary).expect("summary serialises"),
            source_updated_at: summary.source_updated_at.as_deref().and_then(parse_time),
            records: records as i64,
            kev: kev as i64,
        };
        self.meta.publish_vulndb_import(&import).await?;
        Ok(summary)
    }

    /// The database in use, if one was imported.
    pub async fn vulndb_status(&self) -> Result<Option<VulnDbSummary>> {
        let Some(current) = self.meta.current_vulndb().await? else { return Ok(None) };
        serde_json::from_str(&current.source)
            .map(Some)
            .map_err(|e| RegistryError::Meta(wharf_meta::MetaError::Corrupt(e.to_string())))
    }
}

/// The files to import, in a stable order; folders are searched recursively.
fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| RegistryError::VulnDb(format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            collect(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        return Err(RegistryError::VulnDb("no *.zip export or kev.json found in the paths given".into()));
    }
    Ok(files)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let io = |e: std::io::Error| RegistryError::VulnDb(format!("{}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if is_export(&path) || is_kev_catalogue(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_export(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// The names CISA publishes its catalogue under; other JSON files in a folder are not read.
fn is_kev_catalogue(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "kev.json" || n == "known_exploited_vulnerabilities.json")
}

/// Reads every file, sending batches to the writer; what was read. Runs on a blocking thread.
fn read_files(files: &[PathBuf], tx: &mpsc::Sender<Batch>) -> Result<VulnDbSummary> {
    let mut summary = VulnDbSummary::default();
    let mut newest: Option<i64> = None;
    for path in files {
        let malformed = |what: String| RegistryError::VulnDb(format!("{}: {what}", path.display()));
        if is_export(path) {
            read_export(path, tx, &mut summary, &mut newest).map_err(|e| match e {
                ReadError::Malformed(what) => malformed(what),
                ReadError::WriterGone => RegistryError::VulnDb("the import was stopped".into()),
            })?;
        } else {
            let cves = read_kev(path).map_err(malformed)?;
            if tx.blocking_send(Batch::Kev(cves)).is_err() {
                return Err(RegistryError::VulnDb("the import was stopped".into()));
            }
        }
        summary.files.push(path.display().to_string());
    }
    summary.source_updated_at = newest.map(rfc3339);
    Ok(summary)
}

enum ReadError {
    Malformed(String),
    /// The writer stopped (it failed and will report why).
    WriterGone,
}

fn read_export(
    path: &Path,
    tx: &mpsc::Sender<Batch>,
    summary: &mut VulnDbSummary,
    newest: &mut Option<i64>,
) -> std::result::Result<(), ReadError> {
    let file = File::open(path).map_err(|e| ReadError::Malformed(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| ReadError::Malformed(format!("not a zip archive: {e}")))?;
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| ReadError::Malformed(format!("entry {i}: {e}")))?;
        if entry.is_dir() || !entry.name().ends_with(".json") {
            continue;
        }
        let name = entry.name().to_owned();
        let malformed = |what: String| ReadError::Malformed(format!("{name}: {what}"));
        if entry.size() > MAX_RECORD_BYTES {
            return Err(malformed(format!("record is larger than {MAX_RECORD_BYTES} bytes")));
        }
        let mut text = String::with_capacity(entry.size() as usize);
        (&mut entry).take(MAX_RECORD_BYTES).read_to_string(&mut text).map_err(|e| malformed(e.to_string()))?;
        let record = Record::from_json(&text).map_err(|e| malformed(format!("not an OSV record: {e}")))?;
        if let Some(modified) = record.modified.as_deref().and_then(parse_time) {
            *newest = Some(newest.map_or(modified, |n| n.max(modified)));
        }
        batch.push(stored_record(&record, summary));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            tx.blocking_send(Batch::Records(full)).map_err(|_| ReadError::WriterGone)?;
        }
    }
    if !batch.is_empty() {
        tx.blocking_send(Batch::Records(batch)).map_err(|_| ReadError::WriterGone)?;
    }
    Ok(())
}

/// A record as stored: re-encoded with only the fields matching reads, and indexed under
/// every (ecosystem, package) it names.
fn stored_record(record: &Record, summary: &mut VulnDbSummary) -> VulnRecord {
    let mut packages: Vec<(String, String)> = record
        .affected
        .iter()
        .filter_map(|affected| affected.package.as_ref())
        .map(|p| (p.ecosystem.clone(), wharf_vuln::package_key(&p.ecosystem, &p.name)))
        .collect();
    packages.sort();
    packages.dedup();
    let mut ecosystems: Vec<&str> = packages.iter().map(|(e, _)| e.as_str()).collect();
    ecosystems.dedup();
    for ecosystem in ecosystems {
        *summary.ecosystems.entry(ecosystem.to_owned()).or_default() += 1;
    }
    VulnRecord { id: record.id.clone(), body: serde_json::to_string(record).expect("records serialise"), packages }
}

/// CISA's Known Exploited Vulnerabilities catalogue: the CVE ids it lists.
fn read_kev(path: &Path) -> std::result::Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct Catalogue {
        vulnerabilities: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        #[serde(rename = "cveID")]
        cve_id: String,
    }
    let file = File::open(path).map_err(|e| e.to_string())?;
    if file.metadata().map_err(|e| e.to_string())?.len() > MAX_KEV_BYTES {
        return Err(format!("larger than {MAX_KEV_BYTES} bytes"));
    }
    let catalogue: Catalogue = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| format!("not a CISA KEV catalogue (no 'vulnerabilities' list of 'cveID's): {e}"))?;
    Ok(catalogue.vulnerabilities.into_iter().map(|v| v.cve_id).collect())
}

fn parse_time(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Epoch milliseconds as RFC 3339.
fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
