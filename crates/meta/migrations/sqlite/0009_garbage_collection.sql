-- Online garbage collection. A blob no manifest references is marked; it is deleted once it
-- has stayed marked for the grace period, and any use (an upload, a mount, a lookup, a
-- manifest naming it) clears the mark first. See crates/registry/src/gc.rs.
ALTER TABLE blobs ADD COLUMN gc_marked_at INTEGER;
CREATE INDEX blobs_gc_marked ON blobs (gc_marked_at) WHERE gc_marked_at IS NOT NULL;
-- "Does a manifest in any repository reference this blob?"
CREATE INDEX manifest_blobs_digest ON manifest_blobs (blob_digest);

-- Exclusive background work (a garbage collection, a lifecycle run of one repository):
-- one holder at a time across every node, until it lets go or the lease expires.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
