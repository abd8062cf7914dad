-- ECR repository creation templates, per account and region. `document` is the template
-- as the domain serialises it (JSON); `prefix` is `ROOT` or a namespace.
CREATE TABLE creation_templates (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    region TEXT NOT NULL,
    prefix TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (account_id, region, prefix)
);
