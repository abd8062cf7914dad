-- ECR account settings (GetAccountSetting/PutAccountSetting), per account and region.
CREATE TABLE account_settings (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
