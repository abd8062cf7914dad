//! A read-through cache for the hot read paths (repository, manifest and blob-link
//! lookups), so that a manifest GET or blob HEAD does not touch the database.
//!
//! Correctness under concurrent writes: a reader that loaded a value may insert it after a
//! writer already invalidated the key, which would pin a stale value. Every invalidation
//! bumps an epoch first; a reader that sees the epoch moved while it loaded drops what it
//! inserted. Entries also expire after a TTL, which bounds staleness after writes made
//! by other processes.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// How much memory a cached value stands for, roughly.
pub trait Weight {
    fn weight(&self) -> u64;
}

#[derive(Clone)]
struct ByWeight;

impl<K, V: Weight> Weighter<K, (V, Instant)> for ByWeight {
    fn weight(&self, _key: &K, value: &(V, Instant)) -> u64 {
        value.0.weight().max(1)
    }
}

pub struct ReadCache<K, V> {
    cache: Cache<K, (V, Instant), ByWeight>,
    ttl: Duration,
    epoch: AtomicU64,
}

impl<K: Eq + Hash + Clone, V: Clone + Weight> ReadCache<K, V> {
    pub fn new(bytes: u64, ttl: Duration) -> Self {
        // quick_cache sizes its tables from an item estimate; 512 bytes is a typical entry.
        let items = (bytes / 512).max(16) as usize;
        ReadCache { cache: Cache::with_weighter(items, bytes.max(1), ByWeight), ttl, epoch: AtomicU64::new(0) }
    }

    /// The cached value, or `load`'s. Absent values are not cached.
    pub async fn get_or_load<E, F>(&self, key: &K, load: F) -> Result<Option<V>, E>
    where
        F: Future<Output = Result<Option<V>, E>>,
    {
        if let Some((value, at)) = self.cache.get(key)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(value));
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let value = load.await?;
        if let Some(v) = &value
            && !self.ttl.is_zero()
        {
            self.cache.insert(key.clone(), (v.clone(), Instant::now()));
            if self.epoch.load(Ordering::Acquire) != epoch {
                self.cache.remove(key);
            }
        }
        Ok(value)
    }

    /// Caches a value the caller has just written itself.
    pub fn insert(&self, key: K, value: V) {
        if !self.ttl.is_zero() {
            self.cache.insert(key, (value, Instant::now()));
        }
    }

    pub fn invalidate(&self, key: &K) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.cache.remove(key);
    }
}

impl<T: Weight + ?Sized> Weight for std::sync::Arc<T> {
    fn weight(&self) -> u64 {
        (**self).weight()
    }
}

impl Weight for i64 {
    fn weight(&self) -> u64 {
        64
    }
}

impl Weight for wharf_meta::Repository {
    fn weight(&self) -> u64 {
        (128 + self.key.name.len()) as u64
    }
}

impl Weight for wharf_meta::ManifestRecord {
    fn weight(&self) -> u64 {
        (256 + self.content.len()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weight for u32 {
        fn weight(&self) -> u64 {
            4
        }
    }

    #[tokio::test]
    async fn read_through_and_invalidate() {
        let c: ReadCache<&str, u32> = ReadCache::new(1 << 20, Duration::from_secs(60));
        let v = c.get_or_load(&"a", async { Ok::<_, ()>(Some(1)) }).await.unwrap();
        assert_eq!(v, Some(1));
        // Served from the cache: the loader is not consulted.
        let v = c.get_or_load(&"a", async { Ok::<_, ()>(Some(2)) }).await.unwrap();
        assert_eq!(v, Some(1));
        c.invalidate(&"a");
        let v = c.get_or_load(&"a", async { Ok::<_, ()>(Some(3)) }).await.unwrap();
        assert_eq!(v, Some(3));
    }

    #[tokio::test]
    async fn a_load_racing_an_invalidation_is_not_kept() {
        let c: ReadCache<&str, u32> = ReadCache::new(1 << 20, Duration::from_secs(60));
        let v = c
            .get_or_load(&"a", async {
                c.invalidate(&"a"); // a writer commits while the reader is loading
                Ok::<_, ()>(Some(1))
            })
            .await
            .unwrap();
        assert_eq!(v, Some(1));
        let v = c.get_or_load(&"a", async { Ok::<_, ()>(Some(2)) }).await.unwrap();
        assert_eq!(v, Some(2));
    }

    #[tokio::test]
    async fn absent_values_and_expired_entries_are_reloaded() {
        let c: ReadCache<&str, u32> = ReadCache::new(1 << 20, Duration::from_millis(20));
        assert_eq!(c.get_or_load(&"a", async { Ok::<_, ()>(None) }).await.unwrap(), None);
        assert_eq!(c.get_or_load(&"a", async { Ok::<_, ()>(Some(1)) }).await.unwrap(), Some(1));
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(c.get_or_load(&"a", async { Ok::<_, ()>(Some(2)) }).await.unwrap(), Some(2));
    }
}
