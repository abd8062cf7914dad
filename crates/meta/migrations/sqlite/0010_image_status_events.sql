-- ECR's archive storage class: an image is ACTIVE, ARCHIVED (not pullable) or ACTIVATING
-- (being restored, not pullable yet).
ALTER TABLE manifests ADD COLUMN image_status TEXT NOT NULL DEFAULT 'ACTIVE';
ALTER TABLE manifests ADD COLUMN last_archived_at INTEGER;
ALTER TABLE manifests ADD COLUMN last_activated_at INTEGER;
CREATE INDEX manifests_activating ON manifests (image_status) WHERE image_status = 'ACTIVATING';

-- What the registry did on its own (lifecycle expirations and transitions, ...), as
-- EventBridge-style events: kept for `wharf events` and audit.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    detail_type TEXT NOT NULL,
    repository_name TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX events_repository ON events (account_id, region, repository_name, id);
