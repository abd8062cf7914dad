-- Referrers are listed by (repository, subject) in digest order. With the digest in the
-- index the order comes from it, so SQLite's planner no longer prefers walking the primary
-- key (every manifest of the repository) to honour the ORDER BY.
DROP INDEX manifests_subject;
CREATE INDEX manifests_subject ON manifests (repository_id, subject_digest, digest)
    WHERE subject_digest IS NOT NULL;
