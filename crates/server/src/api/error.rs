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
            Kind::Server => (S::INTERNAL_SERVER_ERROR, "ServerException", "InternalFailure"),
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    kind: Kind,
    message: String,
}

impl ApiError {
    pub fn new(kind: Kind, message: impl Into<String>) -> ApiError {
        ApiError { kind, message: message.into() }
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
                let body = serde_json::json!({ "__type": json_name, "message": self.message });
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
