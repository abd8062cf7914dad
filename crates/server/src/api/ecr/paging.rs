//! ECR paging: `maxResults` within the operation's bounds, and an opaque `nextToken` that
//! carries the sort key of the last item returned. Explicit id lists do not mix with paging.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::api::error::{ApiError, Kind};

/// Tokens are versioned so their format can change without misreading old ones.
const TOKEN_PREFIX: &str = "1:";

pub struct Page {
    /// The sort key the page starts after.
    pub after: Option<String>,
    limit: i64,
}

impl Page {
    pub fn new(token: Option<&str>, max_results: Option<i64>, max: i64, default: i64) -> Result<Page, ApiError> {
        let limit = max_results.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(ApiError::new(
                Kind::InvalidParameter,
                format!(
                    "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less \
                     than or equal to {max}' and 'Member must have value greater than or equal to 1'"
                ),
            ));
        }
        let after = token.map(decode).transpose()?;
        Ok(Page { after, limit })
    }

    /// How many items to fetch: one more than the page holds tells whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The page size, for listings that find out for themselves whether more follow.
    pub fn limit(&self) -> i64 {
        self.limit
    }

    /// The page, and the token of the next one when more items follow.
    pub fn split<T>(&self, mut items: Vec<T>, sort_key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
        if items.len() as i64 <= self.limit {
            return (items, None);
        }
        items.truncate(self.limit as usize);
        let token = items.last().map(|last| token(&sort_key(last)));
        (items, token)
    }
}

/// The `nextToken` of a page that ends at `sort_key`.
pub fn token(sort_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{sort_key}"))
}

fn decode(token: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::new(Kind::InvalidParameter, "Invalid parameter at 'nextToken': the token is not valid");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(TOKEN_PREFIX).map(str::to_owned).ok_or_else(invalid)
}

/// ECR refuses `nextToken`/`maxResults` together with an explicit list.
pub fn not_with_ids(member: &str) -> ApiError {
    ApiError::new(
        Kind::InvalidParameter,
        format!("Invalid parameter: nextToken and maxResults cannot be used together with {member}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_chain_by_token() {
        let page = Page::new(None, Some(2), 1000, 100).unwrap();
        assert_eq!(page.fetch(), 3);
        let (items, token) = page.split(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(items, ["a", "b"]);
        let next = Page::new(token.as_deref(), Some(2), 1000, 100).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        let (items, token) = next.split(vec!["c"], |s| s.to_string());
        assert_eq!((items, token), (vec!["c"], None));
        assert!(Page::new(None, Some(0), 1000, 100).is_err());
        assert!(Page::new(None, Some(1001), 1000, 100).is_err());
        assert!(Page::new(Some("not-a-token"), None, 1000, 100).is_err());
    }
}
