-- Same schema as ../sqlite/0001_data_plane.sql in PostgreSQL types; names sort bytewise (COLLATE "C")
-- so catalog and tag pagination order match SQLite.
-- Times are epoch milliseconds. Repository ids are never reused (identity), so
-- caches keyed by id can never see another repository's rows.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE repositories (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    region TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, region, name)
);

-- One row per stored blob, however many repositories use it.
CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A blob is readable in a repository only through a link (pushed or mounted there).
CREATE TABLE repository_blobs (
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest TEXT NOT NULL REFERENCES blobs (digest),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs (digest);

CREATE TABLE manifests (
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    artifact_type TEXT,
    size BIGINT NOT NULL,
    subject_digest TEXT,
    config_digest TEXT,
    content BYTEA NOT NULL,
    pushed_at BIGINT NOT NULL,
    last_pulled_at BIGINT,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_subject ON manifests (repository_id, subject_digest)
    WHERE subject_digest IS NOT NULL;

CREATE TABLE tags (
    repository_id BIGINT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    digest TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository_id, name),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX tags_digest ON tags (repository_id, digest);

-- manifest -> config and layer blobs. The link it points at cannot be removed while the
-- reference exists: metadata never points at a blob the repository cannot read.
CREATE TABLE manifest_blobs (
    repository_id BIGINT NOT NULL,
    manifest_digest TEXT NOT NULL,
    blob_digest TEXT NOT NULL,
    PRIMARY KEY (repository_id, manifest_digest, blob_digest),
    FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE,
    FOREIGN KEY (repository_id, blob_digest) REFERENCES repository_blobs (repository_id, digest)
);
CREATE INDEX manifest_blobs_blob ON manifest_blobs (repository_id, blob_digest);

-- index -> child manifests; a child cannot be deleted while an index lists it.
CREATE TABLE manifest_children (
    repository_id BIGINT NOT NULL,
    parent_digest TEXT NOT NULL,
    child_digest TEXT NOT NULL,
    PRIMARY KEY (repository_id, parent_digest, child_digest),
    FOREIGN KEY (repository_id, parent_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE,
    FOREIGN KEY (repository_id, child_digest) REFERENCES manifests (repository_id, digest)
);
CREATE INDEX manifest_children_child ON manifest_children (repository_id, child_digest);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
