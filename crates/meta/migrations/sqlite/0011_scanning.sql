-- The offline vulnerability database. Each `wharf vulndb import` writes a new generation
-- beside the current one and publishes it by setting `completed_at` in one statement, so a
-- scan, which reads one generation throughout, sees the old or the new database, never half.
CREATE TABLE vulndb_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at INTEGER NOT NULL,
    completed_at INTEGER,
    -- JSON: the files imported and the records per ecosystem.
    source TEXT NOT NULL,
    source_updated_at INTEGER,
    records INTEGER NOT NULL DEFAULT 0,
    kev INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX vulndb_imports_completed ON vulndb_imports (completed_at) WHERE completed_at IS NOT NULL;

-- OSV records as imported (JSON), and which (ecosystem, package) each one names: the lookup a
-- scan makes per installed package.
CREATE TABLE vulndb_records (
    import_id INTEGER NOT NULL REFERENCES vulndb_imports (id) ON DELETE CASCADE,
    record_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (import_id, record_id)
);
CREATE TABLE vulndb_packages (
    import_id INTEGER NOT NULL REFERENCES vulndb_imports (id) ON DELETE CASCADE,
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (import_id, ecosystem, name, record_id)
);
-- CVEs known to be exploited (CISA KEV): ECR's exploitAvailable.
CREATE TABLE vulndb_kev (
    import_id INTEGER NOT NULL REFERENCES vulndb_imports (id) ON DELETE CASCADE,
    cve TEXT NOT NULL,
    PRIMARY KEY (import_id, cve)
);

-- Registry scanning configuration (PutRegistryScanningConfiguration), per account and region.
CREATE TABLE registry_scanning (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    scan_type TEXT NOT NULL,
    rules TEXT NOT NULL,
    PRIMARY KEY (account_id, region)
);

-- What an image contains, read once from its layers: rescans match it again without
-- reading the layers.
CREATE TABLE image_inventories (
    repository_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    inventory TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository_id, digest),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);

-- One scan per image and scan type. A row IN_PROGRESS is a durable job: a worker on any node
-- claims it by setting `lease_until`, and another may take it over once the lease expires.
CREATE TABLE image_scans (
    repository_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    scan_type TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT,
    requested_at INTEGER NOT NULL,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    completed_at INTEGER,
    vulndb_import_id INTEGER,
    source_updated_at INTEGER,
    -- JSON: the findings, and their count per severity (what DescribeImages shows).
    findings TEXT NOT NULL DEFAULT '[]',
    severity_counts TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (repository_id, digest, scan_type),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX image_scans_pending ON image_scans (lease_until) WHERE status = 'IN_PROGRESS';
CREATE INDEX image_scans_matched ON image_scans (vulndb_import_id) WHERE status = 'COMPLETE';
