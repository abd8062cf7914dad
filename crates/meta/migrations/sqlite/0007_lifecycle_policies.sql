-- A repository's lifecycle policy (the text as set) and when it was last evaluated.
ALTER TABLE repositories ADD COLUMN lifecycle_policy TEXT;
ALTER TABLE repositories ADD COLUMN lifecycle_evaluated_at INTEGER;
