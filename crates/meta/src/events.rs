//! Events: what the registry did on its own (lifecycle expirations and transitions, scans
//! that ended), kept for `wharf events` and audit, in the shape of ECR's EventBridge events.

use crate::{MetaStore, RepositoryKey, Result};

/// One recorded event. `detail` is the event's JSON detail, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub repository: RepositoryKey,
    pub detail_type: String,
    pub detail: String,
}

impl MetaStore {
    /// Records events, in one transaction.
    pub async fn record_events(&self, events: &[(i64, &RepositoryKey, &str, String)]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for (at, key, detail_type, detail) in events {
            sqlx::query(
                "INSERT INTO events (at, account_id, region, detail_type, repository_name, detail)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(at)
            .bind(&key.account)
            .bind(&key.region)
            .bind(detail_type)
            .bind(&key.name)
            .bind(detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Events of an account and region (of one repository if named) in order after id
    /// `after`, at most `limit`.
    pub async fn events(
        &self,
        account: &str,
        region: &str,
        repository: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Event>> {
        let rows: Vec<(i64, i64, String, String, String, String)> = sqlx::query_as(
            "SELECT id, at, region, repository_name, detail_type, detail FROM events
             WHERE account_id = $1 AND region = $2 AND ($3 = '' OR repository_name = $3) AND id > $4
             ORDER BY id LIMIT $5",
        )
        .bind(account)
        .bind(region)
        .bind(repository.unwrap_or(""))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, at, region, name, detail_type, detail)| Event {
                id,
                at,
                repository: RepositoryKey { account: account.to_owned(), region, name },
                detail_type,
                detail,
            })
            .collect())
    }
}
