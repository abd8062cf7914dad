-- A preview's results as rows, in (rule priority, digest) order: a GetLifecyclePolicyPreview
-- page reads its rows instead of parsing every result (16 MB of JSON at 100,000 images).
ALTER TABLE lifecycle_previews DROP COLUMN results;
ALTER TABLE lifecycle_previews ADD COLUMN expiring BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lifecycle_previews ADD COLUMN transitioning BIGINT NOT NULL DEFAULT 0;
CREATE TABLE lifecycle_preview_results (
    repository_id BIGINT NOT NULL REFERENCES lifecycle_previews (repository_id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    digest TEXT NOT NULL,
    -- JSON list of the image's tags.
    tags TEXT NOT NULL,
    tagged BIGINT NOT NULL,
    pushed_at BIGINT NOT NULL,
    transition BIGINT NOT NULL,
    rule_priority BIGINT NOT NULL,
    PRIMARY KEY (repository_id, seq)
);
