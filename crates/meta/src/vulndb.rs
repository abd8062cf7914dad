//! The offline vulnerability database, in generations: an import writes a new generation
//! beside the current one and publishes it in one statement, so a scan (which reads one
//! generation from start to end) sees the old database or the new one, never half of one.

use std::collections::{BTreeMap, HashSet};

use sqlx::Row;

use crate::{MetaStore, Result, placeholders};

/// A published generation of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnDbImport {
    pub id: i64,
    pub completed_at: i64,
    /// JSON written by the importer: the files and the records per ecosystem.
    pub source: String,
    /// The newest `modified` time among its records (ECR's `vulnerabilitySourceUpdatedAt`).
    pub source_updated_at: Option<i64>,
    pub records: i64,
    pub kev: i64,
}

/// One advisory to store: its id, its JSON, and the (ecosystem, package key) pairs it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnRecord {
    pub id: String,
    pub body: String,
    pub packages: Vec<(String, String)>,
}

/// Advisories that name some of the packages a scan asked about.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VulnLookup {
    /// (ecosystem, package key, record id) for every pair asked about that a record names.
    pub names: Vec<(String, String, String)>,
    /// (record id, JSON) of each record named above, once.
    pub records: Vec<(String, String)>,
}

/// An import not published within this time was abandoned (its process died): its rows go.
const ABANDONED_IMPORT_MS: i64 = 6 * 60 * 60 * 1000;

/// Rows per multi-row INSERT: at most 3 bound parameters each, far below either database's
/// limit on parameters per statement.
const ROWS_PER_STATEMENT: usize = 500;

/// Names (or CVEs) per lookup query, far below either database's limit on parameters.
const LOOKUP_BATCH: usize = 200;

impl MetaStore {
    /// Starts a new generation; nothing reads it until [`MetaStore::publish_vulndb_import`].
    pub async fn begin_vulndb_import(&self, now: i64) -> Result<i64> {
        sqlx::query("DELETE FROM vulndb_imports WHERE completed_at IS NULL AND started_at < $1")
            .bind(now - ABANDONED_IMPORT_MS)
            .execute(&self.write)
            .await?;
        let id = sqlx::query_scalar("INSERT INTO vulndb_imports (started_at, source) VALUES ($1, '{}') RETURNING id")
            .bind(now)
            .fetch_one(&self.write)
            .await?;
        Ok(id)
    }

    /// Adds records to an unpublished generation, in one transaction. A record id already
    /// in the generation (the same advisory in two exports) keeps its first copy.
    pub async fn add_vulndb_records(&self, import_id: i64, records: &[VulnRecord]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Multi-row statements: a round trip per row would make an import over the network
        // (PostgreSQL) take minutes.
        let mut added: HashSet<String> = HashSet::new();
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i)).collect();
            let sql = format!(
                "INSERT INTO vulndb_records (import_id, record_id, body) VALUES {}
                 ON CONFLICT (import_id, record_id) DO NOTHING RETURNING record_id",
                values.join(", ")
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql).bind(import_id);
            for record in chunk {
                query = query.bind(&record.id).bind(&record.body);
            }
            added.extend(query.fetch_all(&mut *tx).await?);
        }
        // A record's packages go in with its first copy only.
        let mut packages: Vec<(&str, &str, &str)> = Vec::new();
        for record in records {
            if added.remove(&record.id) {
                packages.extend(record.packages.iter().map(|(e, n)| (e.as_str(), n.as_str(), record.id.as_str())));
            }
        }
        for chunk in packages.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("($1, ${}, ${}, ${})", 2 + 3 * i, 3 + 3 * i, 4 + 3 * i)).collect();
            let sql = format!(
                "INSERT INTO vulndb_packages (import_id, ecosystem, name, record_id) VALUES {} ON CONFLICT DO NOTHING",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(import_id);
            for (ecosystem, name, id) in chunk {
                query = query.bind(*ecosystem).bind(*name).bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds known-exploited CVEs to an unpublished generation.
    pub async fn add_vulndb_kev(&self, import_id: i64, cves: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for chunk in cves.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<String> = (0..chunk.len()).map(|i| format!("($1, ${})", 2 + i)).collect();
            let sql =
                format!("INSERT INTO vulndb_kev (import_id, cve) VALUES {} ON CONFLICT DO NOTHING", values.join(", "));
            let mut query = sqlx::query(&sql).bind(import_id);
            for cve in chunk {
                query = query.bind(cve);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Publishes a generation: from this statement on, scans use it. The generation it
    /// replaces is kept (a scan may still be reading it); older ones are deleted.
    pub async fn publish_vulndb_import(&self, import: &VulnDbImport) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let previous: Option<i64> =
            sqlx::query_scalar("SELECT MAX(id) FROM vulndb_imports WHERE completed_at IS NOT NULL")
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "UPDATE vulndb_imports SET completed_at = $2, source = $3, source_updated_at = $4, records = $5, kev = $6
             WHERE id = $1",
        )
        .bind(import.id)
        .bind(import.completed_at)
        .bind(&import.source)
        .bind(import.source_updated_at)
        .bind(import.records)
        .bind(import.kev)
        .execute(&mut *tx)
        .await?;
        if let Some(previous) = previous {
            sqlx::query("DELETE FROM vulndb_imports WHERE completed_at IS NOT NULL AND id < $1")
                .bind(previous.min(import.id))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drops an unpublished generation (a failed import).
    pub async fn abandon_vulndb_import(&self, import_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM vulndb_imports WHERE id = $1 AND completed_at IS NULL")
            .bind(import_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The generation scans use now, if any was imported.
    pub async fn current_vulndb(&self) -> Result<Option<VulnDbImport>> {
        let row = sqlx::query(
            "SELECT id, completed_at, source, source_updated_at, records, kev FROM vulndb_imports
             WHERE completed_at IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(VulnDbImport {
                id: r.try_get("id")?,
                completed_at: r.try_get("completed_at")?,
                source: r.try_get("source")?,
                source_updated_at: r.try_get("source_updated_at")?,
                records: r.try_get("records")?,
                kev: r.try_get("kev")?,
            })
        })
        .transpose()
    }

    /// The records of a generation that name any of `packages` ((ecosystem, package key)).
    pub async fn vulndb_lookup(&self, import_id: i64, packages: &[(String, String)]) -> Result<VulnLookup> {
        // One query per ecosystem with `name IN (…)`: both databases walk the primary key for
        // that, where an `OR` of (ecosystem, name) pairs makes SQLite scan the generation.
        let mut by_ecosystem: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (ecosystem, name) in packages {
            by_ecosystem.entry(ecosystem).or_default().push(name);
        }
        let mut lookup = VulnLookup::default();
        let mut seen: HashSet<String> = HashSet::new();
        for (ecosystem, names) in by_ecosystem {
            for batch in names.chunks(LOOKUP_BATCH) {
                let sql = format!(
                    "SELECT p.name, p.record_id, r.body FROM vulndb_packages p
                     JOIN vulndb_records r ON r.import_id = p.import_id AND r.record_id = p.record_id
                     WHERE p.import_id = $1 AND p.ecosystem = $2 AND p.name IN ({})",
                    placeholders(3, batch.len())
                );
                let mut query = sqlx::query(&sql).bind(import_id).bind(ecosystem);
                for name in batch {
                    query = query.bind(*name);
                }
                for row in query.fetch_all(&self.read).await? {
                    let record_id: String = row.try_get("record_id")?;
                    lookup.names.push((ecosystem.to_owned(), row.try_get("name")?, record_id.clone()));
                    if seen.insert(record_id.clone()) {
                        lookup.records.push((record_id, row.try_get("body")?));
                    }
                }
            }
        }
        Ok(lookup)
    }

    /// Which of `cves` a generation lists as known exploited.
    pub async fn vulndb_exploited(&self, import_id: i64, cves: &[String]) -> Result<HashSet<String>> {
        let mut exploited = HashSet::new();
        for batch in cves.chunks(LOOKUP_BATCH) {
            let sql = format!(
                "SELECT cve FROM vulndb_kev WHERE import_id = $1 AND cve IN ({})",
                placeholders(2, batch.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql).bind(import_id);
            for cve in batch {
                query = query.bind(cve);
            }
            exploited.extend(query.fetch_all(&self.read).await?);
        }
        Ok(exploited)
    }
}
