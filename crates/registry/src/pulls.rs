//! Pull times, recorded in memory on the hot path and written in batches: ECR itself only
//! promises `lastRecordedPullTime` to within a day, and a write per GET would cost more
//! than the GET.

use std::collections::HashMap;
use std::sync::Mutex;

use wharf_meta::MetaStore;

use crate::Result;

#[derive(Default)]
pub struct PullRecorder {
    pending: Mutex<HashMap<(i64, String), i64>>,
}

impl PullRecorder {
    pub fn record(&self, repository_id: i64, digest: &str, at: i64) {
        let mut pending = self.pending.lock().expect("pulls lock");
        let latest = pending.entry((repository_id, digest.to_owned())).or_insert(at);
        *latest = (*latest).max(at);
    }

    pub async fn flush(&self, meta: &MetaStore) -> Result<()> {
        let batch: Vec<(i64, String, i64)> = {
            let mut pending = self.pending.lock().expect("pulls lock");
            std::mem::take(&mut *pending).into_iter().map(|((r, d), t)| (r, d, t)).collect()
        };
        if !batch.is_empty() {
            meta.record_pulls(&batch).await?;
        }
        Ok(())
    }
}
