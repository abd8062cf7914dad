//! Errors on `/v2`, in the distribution spec's JSON shape:
//! `{"errors":[{"code":"…","message":"…"}]}`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use wharf_oci::ErrorCode;
use wharf_registry::RegistryError;

#[derive(Debug)]
pub struct OciError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// `Range` on 416 answers to an out-of-order chunk: where the session ends.
    range: Option<String>,
    /// `WWW-Authenticate` on 401 answers.
    challenge: Option<HeaderValue>,
}

impl OciError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> OciError {
        let status = StatusCode::from_u16(code.status()).expect("spec status codes are valid");
        OciError { status, code: code.as_str(), message: message.into(), range: None, challenge: None }
    }

    /// The server's fault; the details go to the log, not to the client.
    pub fn internal() -> OciError {
        OciError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "UNKNOWN",
            message: "internal server error".into(),
            range: None,
            challenge: None,
        }
    }

    /// For paths that name no endpoint.
    pub fn not_found(self) -> OciError {
        self.with_status(StatusCode::NOT_FOUND)
    }

    pub fn with_status(mut self, status: StatusCode) -> OciError {
        self.status = status;
        self
    }

    pub fn with_challenge(mut self, challenge: HeaderValue) -> OciError {
        self.challenge = Some(challenge);
        self
    }
}

impl From<RegistryError> for OciError {
    fn from(e: RegistryError) -> OciError {
        let message = e.to_string();
        let code = match &e {
            RegistryError::RepositoryNotFound { .. } => ErrorCode::NameUnknown,
            RegistryError::InvalidName(_) => ErrorCode::NameInvalid,
            RegistryError::InvalidTag(_) | RegistryError::TagImmutable { .. } => ErrorCode::TagInvalid,
            RegistryError::InvalidDigest(_) | RegistryError::DigestMismatch { .. } => ErrorCode::DigestInvalid,
            RegistryError::BlobNotFound => ErrorCode::BlobUnknown,
            RegistryError::UploadNotFound => ErrorCode::BlobUploadUnknown,
            RegistryError::UploadOutOfOrder { current } => {
                let mut err =
                    OciError::new(ErrorCode::BlobUploadInvalid, message).with_status(StatusCode::RANGE_NOT_SATISFIABLE);
                err.range = Some(upload_range(*current));
                return err;
            }
            // Only ECR's layer API refuses empty uploads and re-uploads of present blobs.
            RegistryError::UploadInvalid(_) | RegistryError::EmptyUpload | RegistryError::BlobExists { .. } => {
                ErrorCode::BlobUploadInvalid
            }
            RegistryError::TooLarge(_) => {
                return OciError::new(ErrorCode::SizeInvalid, message).with_status(StatusCode::PAYLOAD_TOO_LARGE);
            }
            RegistryError::ManifestNotFound | RegistryError::ManifestNotAcceptable(_) => ErrorCode::ManifestUnknown,
            RegistryError::ManifestInvalid(_) => ErrorCode::ManifestInvalid,
            RegistryError::ManifestBlobUnknown(_) | RegistryError::ManifestChildUnknown(_) => {
                ErrorCode::ManifestBlobUnknown
            }
            RegistryError::InUse(_) => ErrorCode::Unsupported,
            RegistryError::RepositoryExists { .. }
            | RegistryError::RepositoryNotEmpty { .. }
            | RegistryError::AccessDenied(_) => ErrorCode::Denied,
            RegistryError::InvalidParameter(_)
            | RegistryError::InvalidTagParameter(_)
            | RegistryError::TooManyTags
            | RegistryError::Validation(_)
            | RegistryError::StorageClassUpdateNotSupported(_)
            | RegistryError::TemplateExists(_)
            | RegistryError::TemplateNotFound(_) => ErrorCode::Unsupported,
            RegistryError::RepositoryPolicyNotFound { .. }
            | RegistryError::RegistryPolicyNotFound { .. }
            | RegistryError::LifecyclePolicyNotFound { .. }
            | RegistryError::PreviewInProgress { .. }
            | RegistryError::PreviewNotFound { .. }
            | RegistryError::NoSuchEntity(_)
            | RegistryError::EntityExists(_)
            | RegistryError::ScanNotFound { .. }
            | RegistryError::ScanLimitExceeded
            | RegistryError::UnsupportedImageType(_)
            | RegistryError::ImageArchived(_)
            | RegistryError::VulnDb(_)
            | RegistryError::GcLeaseLost
            | RegistryError::Meta(_)
            | RegistryError::Storage(_) => {
                tracing::error!(error = %e, "request failed");
                return OciError::internal();
            }
        };
        OciError::new(code, message)
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "errors": [{ "code": self.code, "message": self.message }] });
        let mut response =
            (self.status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
        if let Some(range) = self.range.and_then(|r| HeaderValue::from_str(&r).ok()) {
            response.headers_mut().insert(header::RANGE, range);
        }
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// The `Range` header value of a session holding `len` bytes: `0-<last byte>`, and
/// `0-0` for an empty one (what Docker's registry sends and clients expect).
pub fn upload_range(len: u64) -> String {
    format!("0-{}", len.saturating_sub(1))
}
