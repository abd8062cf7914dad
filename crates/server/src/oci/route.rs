//! Which `/v2/…` endpoint a path names. Repository names contain `/`, so the path is read
//! from its end, where the endpoint's fixed words are.

/// An endpoint of the distribution API with its path parameters (not yet validated).
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Base,
    Catalog,
    Tags {
        name: &'a str,
    },
    Manifest {
        name: &'a str,
        reference: &'a str,
    },
    Blob {
        name: &'a str,
        digest: &'a str,
    },
    /// `…/blobs/uploads/` (open a session or push in one request).
    Uploads {
        name: &'a str,
    },
    Upload {
        name: &'a str,
        id: &'a str,
    },
    Referrers {
        name: &'a str,
        digest: &'a str,
    },
}

/// `path` is everything after `/v2/`.
pub fn parse(path: &str) -> Option<Route<'_>> {
    match path {
        "" => return Some(Route::Base),
        "_catalog" => return Some(Route::Catalog),
        _ => {}
    }
    if let Some(name) = path.strip_suffix("/tags/list") {
        return named(name, |name| Route::Tags { name });
    }
    if let Some(name) = path.strip_suffix("/blobs/uploads/").or_else(|| path.strip_suffix("/blobs/uploads")) {
        return named(name, |name| Route::Uploads { name });
    }
    let (rest, last) = path.rsplit_once('/')?;
    if last.is_empty() {
        return None;
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads") {
        return named(name, |name| Route::Upload { name, id: last });
    }
    if let Some(name) = rest.strip_suffix("/manifests") {
        return named(name, |name| Route::Manifest { name, reference: last });
    }
    if let Some(name) = rest.strip_suffix("/blobs") {
        return named(name, |name| Route::Blob { name, digest: last });
    }
    if let Some(name) = rest.strip_suffix("/referrers") {
        return named(name, |name| Route::Referrers { name, digest: last });
    }
    None
}

fn named<'a>(name: &'a str, route: impl FnOnce(&'a str) -> Route<'a>) -> Option<Route<'a>> {
    (!name.is_empty()).then(|| route(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let d = "sha256:abc";
        let cases = [
            ("", Some(Route::Base)),
            ("_catalog", Some(Route::Catalog)),
            ("a/b/tags/list", Some(Route::Tags { name: "a/b" })),
            ("a/b/c/manifests/latest", Some(Route::Manifest { name: "a/b/c", reference: "latest" })),
            ("a/blobs/sha256:abc", Some(Route::Blob { name: "a", digest: d })),
            ("a/blobs/blobs/sha256:abc", Some(Route::Blob { name: "a/blobs", digest: d })),
            ("a/blobs/uploads/", Some(Route::Uploads { name: "a" })),
            ("a/blobs/uploads", Some(Route::Uploads { name: "a" })),
            ("a/x/blobs/uploads/1234", Some(Route::Upload { name: "a/x", id: "1234" })),
            ("a/referrers/sha256:abc", Some(Route::Referrers { name: "a", digest: d })),
            ("a/manifests/", None),
            ("/manifests/x", None),
            ("tags/list", None),
            ("a/unknown/x", None),
        ];
        for (path, want) in cases {
            assert_eq!(parse(path), want, "{path}");
        }
    }
}
