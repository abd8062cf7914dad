//! API errors, rendered as AWS JSON 1.1 (`{"__type","message"}`, ECR) or as AWS Query
//! XML (`<ErrorResponse>`, STS). One `Kind` per meaning; each protocol names it its way.

use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use wharf_registry::RegistryError;
use wharf_registry::access::AuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MissingAuthentication,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
    ExpiredToken,
    AccessDenied,
    UnknownOperation,
    Serialization,
    InvalidParameter,
    RepositoryNotFound,
    RepositoryAlreadyExists,
    RepositoryNotEmpty,
    InvalidTagParameter,
    TooManyTags,
    ImageTagAlreadyExists,
    ImageAlreadyExists,
    ImageDigestDoesNotMatch,
    ImageNotFound,
    LayersNotFound,
    ReferencedImagesNotFound,
    Validation,
    TemplateAlreadyExists,
    TemplateNotFound,
    RepositoryPolicyNotFound,
    RegistryPolicyNotFound,
    LifecyclePolicyNotFound,
    PreviewInProgress,
    PreviewNotFound,
    UploadNotFound,
    InvalidLayerPart,
    InvalidLayer,
    EmptyUpload,
    LayerAlreadyExists,
    LimitExceeded,
    StorageClassUpdateNotSupported,
    ScanNotFound,
    UnsupportedImageType,
    ImageArchived,
    Server,
}

impl Kind {
    /// (status, ECR/JSON name, STS/Query code)
    fn names(self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Kind::MissingAuthentication => (S::FORBIDDEN, "MissingAuthenticationToken", "MissingAuthenticationToken"),
            Kind::IncompleteSignature => (S::BAD_REQUEST, "IncompleteSignature", "IncompleteSignature"),
            Kind::InvalidSignature => (S::BAD_REQUEST, "InvalidSignatureException", "SignatureDoesNotMatch"),
            Kind::UnrecognizedClient => (S::BAD_REQUEST, "UnrecognizedClientException", "InvalidClientTokenId"),
            Kind::ExpiredToken => (S::BAD_REQUEST, "ExpiredTokenException", "ExpiredToken"),
            Kind::AccessDenied => (S::BAD_REQUEST, "AccessDeniedException", "AccessDenied"),
            Kind::UnknownOperation => (S::BAD_REQUEST, "UnknownOperationException", "InvalidAction"),
            Kind::Serialization => (S::BAD_REQUEST, "SerializationException", "MalformedInput"),
            Kind::InvalidParameter => (S::BAD_REQUEST, "InvalidParameterException", "ValidationError"),
            Kind::RepositoryNotFound => (S::BAD_REQUEST, "RepositoryNotFoundException", "ValidationError"),
            Kind::RepositoryAlreadyExists => (S::BAD_REQUEST, "RepositoryAlreadyExistsException", "ValidationError"),
            Kind::RepositoryNotEmpty => (S::BAD_REQUEST, "RepositoryNotEmptyException", "ValidationError"),
            Kind::InvalidTagParameter => (S::BAD_REQUEST, "InvalidTagParameterException", "ValidationError"),
            Kind::TooManyTags => (S::BAD_REQUEST, "TooManyTagsException", "ValidationError"),
            Kind::ImageTagAlreadyExists => (S::BAD_REQUEST, "ImageTagAlreadyExistsException", "ValidationError"),
            Kind::ImageAlreadyExists => (S::BAD_REQUEST, "ImageAlreadyExistsException", "ValidationError"),
            Kind::ImageDigestDoesNotMatch => (S::BAD_REQUEST, "ImageDigestDoesNotMatchException", "ValidationError"),
            Kind::ImageNotFound => (S::BAD_REQUEST, "ImageNotFoundException", "ValidationError"),
            Kind::LayersNotFound => (S::BAD_REQUEST, "LayersNotFoundException", "ValidationError"),
            Kind::ReferencedImagesNotFound => (S::BAD_REQUEST, "ReferencedImagesNotFoundException", "ValidationError"),
            Kind::Validation => (S::BAD_REQUEST, "ValidationException", "ValidationError"),
            Kind::TemplateAlreadyExists => (S::BAD_REQUEST, "TemplateAlreadyExistsException", "ValidationError"),
            Kind::TemplateNotFound => (S::BAD_REQUEST, "TemplateNotFoundException", "ValidationError"),
            Kind::RepositoryPolicyNotFound => (S::BAD_REQUEST, "RepositoryPolicyNotFoundException", "ValidationError"),
            Kind::RegistryPolicyNotFound => (S::BAD_REQUEST, "RegistryPolicyNotFoundException", "ValidationError"),
            Kind::LifecyclePolicyNotFound => (S::BAD_REQUEST, "LifecyclePolicyNotFoundException", "ValidationError"),
            Kind::PreviewInProgress => (S::BAD_REQUEST, "LifecyclePolicyPreviewInProgressException", "ValidationError"),
            Kind::PreviewNotFound => (S::BAD_REQUEST, "LifecyclePolicyPreviewNotFoundException", "ValidationError"),
            Kind::UploadNotFound => (S::BAD_REQUEST, "UploadNotFoundException", "ValidationError"),
            Kind::InvalidLayerPart => (S::BAD_REQUEST, "InvalidLayerPartException", "ValidationError"),
            Kind::InvalidLayer => (S::BAD_REQUEST, "InvalidLayerException", "ValidationError"),
            Kind::EmptyUpload => (S::BAD_REQUEST, "EmptyUploadException", "ValidationError"),
            Kind::LayerAlreadyExists => (S::BAD_REQUEST, "LayerAlreadyExistsException", "ValidationError"),
            Kind::LimitExceeded => (S::BAD_REQUEST, "LimitExceededException", "LimitExceeded"),
            Kind::StorageClassUpdateNotSupported => {
                (S::BAD_REQUEST, "ImageStorageClassUpdateNotSupportedException", "ValidationError")
            }
            Kind::ScanNotFound => (S::BAD_REQUEST, "ScanNotFoundException", "ValidationError"),
            Kind::UnsupportedImageType => (S::BAD_REQUEST, "UnsupportedImageTypeException", "ValidationError"),
            Kind::ImageArchived => (S::BAD_REQUEST, "ImageArchivedException", "ValidationError"),
            Kind::Server => (S::INTERNAL_SERVER_ERROR, "ServerException", "InternalFailure"),
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    kind: Kind,
    message: String,
    /// Members some exceptions carry beside `message` (JSON only), such as
    /// `InvalidLayerPartException`'s `lastValidByteReceived`.
    members: Vec<(&'static str, serde_json::Value)>,
}

impl ApiError {
    pub fn new(kind: Kind, message: impl Into<String>) -> ApiError {
        ApiError { kind, message: message.into(), members: Vec::new() }
    }

    /// ECR's wording for a request member that breaks a constraint.
    pub fn invalid_parameter(member: &str, constraint: &str) -> ApiError {
        ApiError::new(
            Kind::InvalidParameter,
            format!("Invalid parameter at '{member}' failed to satisfy constraint: '{constraint}'"),
        )
    }

    pub fn with_member(mut self, name: &'static str, value: impl Into<serde_json::Value>) -> ApiError {
        self.members.push((name, value.into()));
        self
    }

    /// The server's fault; the details go to the log, not to the client.
    fn internal(e: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "API request failed");
        ApiError::new(Kind::Server, "internal server error")
    }

    pub fn into_response(self, protocol: Protocol, request_id: &str) -> Response {
        let (status, json_name, query_code) = self.kind.names();
        // STS answers 403 to what it considers authorisation failures.
        let status = match (protocol, self.kind) {
            (Protocol::Query, Kind::AccessDenied | Kind::InvalidSignature | Kind::UnrecognizedClient) => {
                StatusCode::FORBIDDEN
            }
            _ => status,
        };
        match protocol {
            Protocol::Json => {
                let mut body: serde_json::Map<_, _> =
                    self.members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                body.insert("__type".into(), json_name.into());
                body.insert("message".into(), self.message.into());
                let body = serde_json::Value::Object(body);
                (
                    status,
                    [
                        (header::CONTENT_TYPE, "application/x-amz-json-1.1"),
                        (header::HeaderName::from_static("x-amzn-errortype"), json_name),
                    ],
                    body.to_string(),
                )
                    .into_response()
            }
            Protocol::Query => {
                let fault = if status.is_server_error() { "Receiver" } else { "Sender" };
                let body = format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>{fault}</Type>\
                     <Code>{query_code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                    super::sts::xml_escape(&self.message)
                );
                (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        let kind = match &e {
            AuthError::Missing => Kind::MissingAuthentication,
            AuthError::Incomplete(_) => Kind::IncompleteSignature,
            AuthError::Signature(_) => Kind::InvalidSignature,
            AuthError::UnknownKey | AuthError::TokenInvalid => Kind::UnrecognizedClient,
            AuthError::CredentialsExpired | AuthError::TokenExpired => Kind::ExpiredToken,
            AuthError::Meta(e) => return ApiError::internal(e),
        };
        ApiError::new(kind, e.to_string())
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        let kind = match &e {
            RegistryError::AccessDenied(_) => Kind::AccessDenied,
            RegistryError::RepositoryNotFound { .. } => Kind::RepositoryNotFound,
            RegistryError::RepositoryExists { .. } => Kind::RepositoryAlreadyExists,
            RegistryError::RepositoryNotEmpty { .. } => Kind::RepositoryNotEmpty,
            RegistryError::InvalidTagParameter(_) => Kind::InvalidTagParameter,
            RegistryError::TooManyTags => Kind::TooManyTags,
            RegistryError::TagImmutable { .. } => Kind::ImageTagAlreadyExists,
            RegistryError::Validation(_) => Kind::Validation,
            RegistryError::TemplateExists(_) => Kind::TemplateAlreadyExists,
            RegistryError::TemplateNotFound(_) => Kind::TemplateNotFound,
            RegistryError::RepositoryPolicyNotFound { .. } => Kind::RepositoryPolicyNotFound,
            RegistryError::RegistryPolicyNotFound { .. } => Kind::RegistryPolicyNotFound,
            RegistryError::LifecyclePolicyNotFound { .. } => Kind::LifecyclePolicyNotFound,
            RegistryError::PreviewInProgress { .. } => Kind::PreviewInProgress,
            RegistryError::PreviewNotFound { .. } => Kind::PreviewNotFound,
            RegistryError::BlobNotFound => Kind::LayersNotFound,
            RegistryError::UploadNotFound => Kind::UploadNotFound,
            RegistryError::UploadOutOfOrder { .. } | RegistryError::UploadInvalid(_) => Kind::InvalidLayerPart,
            RegistryError::DigestMismatch { .. } => Kind::InvalidLayer,
            RegistryError::EmptyUpload => Kind::EmptyUpload,
            RegistryError::BlobExists { .. } => Kind::LayerAlreadyExists,
            RegistryError::TooLarge(_) => Kind::LimitExceeded,
            RegistryError::StorageClassUpdateNotSupported(_) => Kind::StorageClassUpdateNotSupported,
            RegistryError::ScanNotFound { .. } => Kind::ScanNotFound,
            RegistryError::ScanLimitExceeded => Kind::LimitExceeded,
            RegistryError::ImageArchived(_) => Kind::ImageArchived,
            RegistryError::InvalidParameter(_)
            | RegistryError::InvalidName(_)
            | RegistryError::InvalidTag(_)
            | RegistryError::InvalidDigest(_)
            | RegistryError::NoSuchEntity(_)
            | RegistryError::EntityExists(_) => Kind::InvalidParameter,
            _ => return ApiError::internal(&e),
        };
        ApiError::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn extra_members_join_the_json_body() {
        let error = || ApiError::new(Kind::InvalidLayerPart, "not contiguous").with_member("lastValidByteReceived", 9);
        let json = error().into_response(Protocol::Json, "req-1");
        assert_eq!(json.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json.headers()["x-amzn-errortype"], "InvalidLayerPartException");
        let json: serde_json::Value = serde_json::from_str(&body(json).await).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "__type": "InvalidLayerPartException", "message": "not contiguous", "lastValidByteReceived": 9
            })
        );
        assert!(!body(error().into_response(Protocol::Query, "req-1")).await.contains("lastValidByteReceived"));
    }
}
