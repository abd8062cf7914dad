-- Identities and policies. An identity inside an account is named as IAM names it in
-- ARNs: 'root', 'user/<name>' or 'role/<name>'.

CREATE TABLE iam_users (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    -- AWS's unique id (AIDA…), what aws:userid reports.
    user_id TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE iam_roles (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    role_id TEXT NOT NULL UNIQUE,
    -- Who may assume the role (a resource policy on the role).
    trust_policy TEXT NOT NULL,
    max_session_secs INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- Inline identity policies of users and roles.
CREATE TABLE iam_policies (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    identity TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (account_id, identity, name)
);

-- Long-term access keys (AKIA…) of the root or a user. The secret is sealed under the
-- server's master key, bound to the key id.
CREATE TABLE access_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    identity TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX access_keys_identity ON access_keys (account_id, identity);

CREATE TABLE repository_policies (
    repository_id INTEGER PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    document TEXT NOT NULL
);

-- One registry (account-level resource) policy per account and region.
CREATE TABLE registry_policies (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    region TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (account_id, region)
);
