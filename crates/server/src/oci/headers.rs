//! Request headers the distribution API reads: `Range`, `Content-Range`,
//! `Content-Length` and `Accept`.

use http::{HeaderMap, header};

/// How a `Range` header applies to a blob of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable single range: serve the whole blob (RFC 9110 lets a server ignore
    /// malformed and multi-part ranges).
    Whole,
    /// `start..end`, `end` exclusive.
    Part(u64, u64),
    Unsatisfiable,
}

pub fn blob_range(headers: &HeaderMap, size: u64) -> RangeRequest {
    let Some(spec) =
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else { return RangeRequest::Whole };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        (true, false) => last.parse::<u64>().ok().map(|n| (size.saturating_sub(n), size, n == 0)),
        (false, _) => first.parse::<u64>().ok().and_then(|a| {
            let end = if last.is_empty() {
                Some(size)
            } else {
                last.parse::<u64>().ok().filter(|&b| b >= a).map(|b| (b + 1).min(size))
            };
            end.map(|e| (a, e, false))
        }),
        (true, true) => None,
    };
    match parsed {
        None => RangeRequest::Whole,
        Some((start, end, empty_suffix)) if start >= size || empty_suffix || start >= end => {
            RangeRequest::Unsatisfiable
        }
        Some((start, end, _)) => RangeRequest::Part(start, end),
    }
}

/// `Content-Range` of an upload chunk: `<start>-<end>` (inclusive), optionally with a
/// `bytes ` prefix and a `/<total>` suffix. `(offset, length)`, or `Err` when malformed.
pub fn chunk_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else { return Ok(None) };
    let text = value.to_str().map_err(|_| ())?.trim();
    let text = text.strip_prefix("bytes").map(str::trim_start).unwrap_or(text);
    let text = text.split('/').next().unwrap_or(text);
    let (a, b) = text.split_once('-').ok_or(())?;
    let (a, b): (u64, u64) = (a.trim().parse().map_err(|_| ())?, b.trim().parse().map_err(|_| ())?);
    if b < a {
        return Err(());
    }
    Ok(Some((a, b - a + 1)))
}

pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Whether the request carries a body to read (a declared length above zero, or chunked).
pub fn has_body(headers: &HeaderMap) -> bool {
    content_length(headers).map_or_else(|| headers.contains_key(header::TRANSFER_ENCODING), |n| n > 0)
}

/// Media types listed in `Accept` headers, without parameters; those with `q=0` are left out.
pub fn accepted(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let media_type = parts.next()?.trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (!media_type.is_empty() && !refused).then_some(media_type)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn blob_ranges() {
        use RangeRequest::*;
        let cases = [
            ("bytes=0-9", Part(0, 10)),
            ("bytes=5-", Part(5, 100)),
            ("bytes=-10", Part(90, 100)),
            ("bytes=-200", Part(0, 100)),
            ("bytes=90-1000", Part(90, 100)),
            ("bytes=100-", Unsatisfiable),
            ("bytes=100-200", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=9-5", Whole),
            ("bytes=0-1,5-6", Whole),
            ("items=0-1", Whole),
            ("bytes=x-1", Whole),
        ];
        for (value, want) in cases {
            assert_eq!(blob_range(&with(header::RANGE, value), 100), want, "{value}");
        }
        assert_eq!(blob_range(&HeaderMap::new(), 100), Whole);
    }

    #[test]
    fn chunk_ranges() {
        assert_eq!(chunk_range(&with(header::CONTENT_RANGE, "0-99")), Ok(Some((0, 100))));
        assert_eq!(chunk_range(&with(header::CONTENT_RANGE, "bytes 100-199/*")), Ok(Some((100, 100))));
        assert_eq!(chunk_range(&with(header::CONTENT_RANGE, "9-5")), Err(()));
        assert_eq!(chunk_range(&with(header::CONTENT_RANGE, "abc")), Err(()));
        assert_eq!(chunk_range(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn accept_lists() {
        let mut h = HeaderMap::new();
        h.append(header::ACCEPT, HeaderValue::from_static("application/vnd.oci.image.index.v1+json, a/b;q=0.5"));
        h.append(header::ACCEPT, HeaderValue::from_static("c/d;q=0"));
        assert_eq!(accepted(&h), ["application/vnd.oci.image.index.v1+json", "a/b"]);
    }
}
