-- A preview's results as rows, in (rule priority, digest) order: a GetLifecyclePolicyPreview
-- page reads its rows instead of parsing every result (16 MB of JSON at 100,000 images).
ALTER TABLE lifecycle_previews DROP COLUMN results;
ALTER TABLE lifecycle_previews ADD COLUMN expiring INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lifecycle_previews ADD COLUMN transitioning INTEGER NOT NULL DEFAULT 0;
CREATE TABLE lifecycle_preview_results (
    repository_id INTEGER NOT NULL REFERENCES lifecycle_previews (repository_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    digest TEXT NOT NULL,
    -- JSON list of the image's tags.
    tags TEXT NOT NULL,
    tagged INTEGER NOT NULL,
    pushed_at INTEGER NOT NULL,
    transition INTEGER NOT NULL,
    rule_priority INTEGER NOT NULL,
    PRIMARY KEY (repository_id, seq)
);
