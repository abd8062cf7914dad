//! Presigned download URLs: `GetDownloadUrlForLayer` hands out a token once the caller is
//! authorised; the download itself then needs nothing but the token, like ECR's presigned
//! S3 URLs. A token stays valid for its whole lifetime, whatever happens to the identity
//! that asked for it.

use wharf_iam::presign::{DownloadClaims, PresignError};
use wharf_meta::RepositoryKey;
use wharf_oci::Digest;

use super::{Access, now_secs};

/// Short, because a client asks for the URL right before it downloads.
const DOWNLOAD_URL_LIFETIME_SECS: i64 = 15 * 60;

impl Access {
    /// A token that lets whoever holds it read blob `digest` of `key`'s repository for
    /// `DOWNLOAD_URL_LIFETIME_SECS`. Authorise the caller first.
    pub fn presign_download(&self, key: &RepositoryKey, digest: &Digest) -> String {
        self.presigner.sign(&DownloadClaims {
            account: key.account.clone(),
            region: key.region.clone(),
            repository: key.name.clone(),
            digest: digest.to_string(),
            expires_at: now_secs() + DOWNLOAD_URL_LIFETIME_SECS,
        })
    }

    /// The repository and blob a download token names, while it is valid.
    pub fn check_download(&self, token: &str) -> Result<(RepositoryKey, Digest), PresignError> {
        let claims = self.presigner.verify(token, now_secs())?;
        // The claims are our own, signed: a digest that does not parse is a bug, not a client's.
        let digest = claims.digest.parse().map_err(|_| PresignError::Invalid)?;
        Ok((RepositoryKey { account: claims.account, region: claims.region, name: claims.repository }, digest))
    }
}
