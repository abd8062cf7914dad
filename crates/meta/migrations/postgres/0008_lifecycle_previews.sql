-- The last lifecycle policy preview of a repository: one at a time, results as JSON.
CREATE TABLE lifecycle_previews (
    repository_id BIGINT PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    policy_text TEXT NOT NULL,
    status TEXT NOT NULL,
    results TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
