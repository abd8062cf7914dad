//! Parsing and validating pushed manifests. The bytes are never re-encoded: parsing only
//! extracts what the registry must check and index (referenced blobs, children, subject).

use serde::Deserialize;

use crate::digest::Digest;
use crate::media_type::{self, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest is not valid JSON: {0}")]
    Json(String),
    #[error("schema 1 manifests are not supported; push a Docker schema 2 or OCI manifest")]
    Schema1,
    #[error("unsupported manifest media type '{0}'")]
    UnsupportedMediaType(String),
    #[error("manifest has no media type: set 'mediaType' in the body or the Content-Type header")]
    MissingMediaType,
    #[error("manifest mediaType '{body}' does not match Content-Type '{header}'")]
    MediaTypeMismatch { body: String, header: String },
    #[error("schemaVersion must be 2")]
    SchemaVersion,
    #[error("image manifest has no config descriptor")]
    MissingConfig,
    #[error("descriptor has an invalid digest '{0}'")]
    DescriptorDigest(String),
}

/// A content descriptor, as found in manifests and indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: i64,
    pub artifact_type: Option<String>,
    /// Set on foreign layers, which live elsewhere and are never required to be pushed.
    pub has_urls: bool,
}

/// What the registry needs to know about a manifest it stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    pub media_type: String,
    /// `artifactType`, or for an image manifest without one its config media type
    /// (the referrers API's rule).
    pub artifact_type: Option<String>,
    pub config: Option<Descriptor>,
    /// Config and layer blobs that must be present in the repository.
    pub blobs: Vec<Descriptor>,
    /// Child manifests of an index.
    pub children: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<RawDescriptor>,
    #[serde(default)]
    layers: Vec<RawDescriptor>,
    #[serde(default)]
    manifests: Vec<RawDescriptor>,
    subject: Option<RawDescriptor>,
    annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: String,
    digest: String,
    size: i64,
    artifact_type: Option<String>,
    #[serde(default)]
    urls: Vec<String>,
}

impl RawDescriptor {
    fn validate(self) -> Result<Descriptor, ManifestError> {
        let digest = self.digest.parse().map_err(|_| ManifestError::DescriptorDigest(self.digest.clone()))?;
        if self.size < 0 {
            return Err(ManifestError::Json("descriptor size must not be negative".into()));
        }
        Ok(Descriptor {
            media_type: self.media_type,
            digest,
            size: self.size,
            artifact_type: self.artifact_type,
            has_urls: !self.urls.is_empty(),
        })
    }
}

/// Parses `body`, pushed with `content_type` (the request's `Content-Type`, if any).
pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<ParsedManifest, ManifestError> {
    let raw: RawManifest = serde_json::from_slice(body).map_err(|e| ManifestError::Json(e.to_string()))?;
    let header = content_type.map(|h| h.split(';').next().unwrap_or("").trim()).filter(|h| !h.is_empty());
    if raw.schema_version == Some(1) || [header, raw.media_type.as_deref()].iter().flatten().any(|m| is_schema1(m)) {
        return Err(ManifestError::Schema1);
    }
    if raw.schema_version != Some(2) {
        return Err(ManifestError::SchemaVersion);
    }
    let media_type = resolve_media_type(raw.media_type.as_deref(), header)?;

    let descriptors =
        |list: Vec<RawDescriptor>| list.into_iter().map(RawDescriptor::validate).collect::<Result<Vec<_>, _>>();
    let subject = raw.subject.map(RawDescriptor::validate).transpose()?;
    if media_type::is_index(&media_type) {
        return Ok(ParsedManifest {
            media_type,
            artifact_type: raw.artifact_type,
            config: None,
            blobs: Vec::new(),
            children: descriptors(raw.manifests)?,
            subject,
            annotations: raw.annotations,
        });
    }
    let config = raw.config.ok_or(ManifestError::MissingConfig)?.validate()?;
    let layers = descriptors(raw.layers)?;
    let artifact_type = raw.artifact_type.or_else(|| Some(config.media_type.clone()));
    let blobs = std::iter::once(config.clone()).chain(layers.into_iter().filter(|d| !d.has_urls)).collect();
    Ok(ParsedManifest {
        media_type,
        artifact_type,
        config: Some(config),
        blobs,
        children: Vec::new(),
        subject,
        annotations: raw.annotations,
    })
}

fn is_schema1(media_type: &str) -> bool {
    media_type == DOCKER_SCHEMA1 || media_type == DOCKER_SCHEMA1_SIGNED
}

/// The body's `mediaType` wins when present; it must then agree with `Content-Type`.
fn resolve_media_type(body: Option<&str>, header: Option<&str>) -> Result<String, ManifestError> {
    let media_type = match (body, header) {
        (Some(b), Some(h)) if b != h => {
            return Err(ManifestError::MediaTypeMismatch { body: b.to_owned(), header: h.to_owned() });
        }
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => return Err(ManifestError::MissingMediaType),
    };
    if !media_type::is_supported(media_type) {
        return Err(ManifestError::UnsupportedMediaType(media_type.to_owned()));
    }
    Ok(media_type.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media_type::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D2}","size":3}}]{extra}}}"#
        )
    }

    #[test]
    fn image_manifest() {
        let m = parse(image("").as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(m.media_type, OCI_MANIFEST);
        assert_eq!(m.blobs.len(), 2);
        assert_eq!(m.artifact_type.as_deref(), Some("application/vnd.oci.image.config.v1+json"));
        assert!(m.subject.is_none());
    }

    #[test]
    fn subject_and_artifact_type() {
        let extra = format!(
            r#","artifactType":"application/x.sbom","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":9}}"#
        );
        let m = parse(image(&extra).as_bytes(), None).unwrap();
        assert_eq!(m.artifact_type.as_deref(), Some("application/x.sbom"));
        assert_eq!(m.subject.unwrap().digest.as_str(), D1);
    }

    #[test]
    fn index_children() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":5,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
        );
        let m = parse(body.as_bytes(), Some(OCI_INDEX)).unwrap();
        assert_eq!(m.children.len(), 1);
        assert!(m.blobs.is_empty());
    }

    #[test]
    fn refusals() {
        let cases: Vec<(String, Option<&str>, ManifestError)> = vec![
            ("{".into(), None, ManifestError::Json(String::new())),
            (r#"{"schemaVersion":1,"name":"x"}"#.into(), None, ManifestError::Schema1),
            (image(""), Some(DOCKER_SCHEMA1_SIGNED), ManifestError::Schema1),
            (
                image(""),
                Some(DOCKER_MANIFEST),
                ManifestError::MediaTypeMismatch { body: OCI_MANIFEST.into(), header: DOCKER_MANIFEST.into() },
            ),
            (
                r#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:1","size":1}}"#.into(),
                None,
                ManifestError::MissingMediaType,
            ),
            (
                r#"{"schemaVersion":2,"mediaType":"text/plain"}"#.to_string(),
                None,
                ManifestError::UnsupportedMediaType("text/plain".into()),
            ),
            (format!(r#"{{"schemaVersion":3,"mediaType":"{OCI_MANIFEST}"}}"#), None, ManifestError::SchemaVersion),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","layers":[]}}"#),
                None,
                ManifestError::MissingConfig,
            ),
            (
                format!(
                    r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"a","digest":"sha256:zz","size":1}}}}"#
                ),
                None,
                ManifestError::DescriptorDigest("sha256:zz".into()),
            ),
        ];
        for (body, ct, want) in cases {
            let got = parse(body.as_bytes(), ct).unwrap_err();
            match (&got, &want) {
                (ManifestError::Json(_), ManifestError::Json(_)) => {}
                _ => assert_eq!(got, want, "{body}"),
            }
        }
    }

    #[test]
    fn foreign_layers_are_not_required() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{D1}","size":2}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{D2}","size":3,"urls":["https://example.com/l"]}}]}}"#
        );
        let m = parse(body.as_bytes(), None).unwrap();
        assert_eq!(m.blobs.len(), 1);
    }
}
