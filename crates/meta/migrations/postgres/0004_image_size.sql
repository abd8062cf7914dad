-- Same as ../sqlite/0004_image_size.sql in PostgreSQL types.
-- ECR's imageSizeInBytes, fixed at push: the layers' (compressed) sizes for an image
-- manifest, the largest child's for an index.
ALTER TABLE manifests ADD COLUMN image_size BIGINT NOT NULL DEFAULT 0;
UPDATE manifests SET image_size = (
    SELECT COALESCE(SUM(b.size), 0) FROM manifest_blobs mb JOIN blobs b ON b.digest = mb.blob_digest
    WHERE mb.repository_id = manifests.repository_id AND mb.manifest_digest = manifests.digest
      AND mb.blob_digest <> COALESCE(manifests.config_digest, '')
);
