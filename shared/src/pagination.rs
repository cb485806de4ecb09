//! Keyset pagination: lists are ordered by id (UUIDv7, so roughly by creation time) and a page
//! continues after the last id of the previous one; no OFFSET scans.

use crate::error::{FieldError, FieldErrors, Result};
use serde::Serialize;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn parse(limit: Option<i64>, cursor: Option<String>) -> Result<Self> {
        let mut errors = FieldErrors::default();
        let limit = errors.check(
            "limit",
            match limit {
                None => Ok(DEFAULT_LIMIT),
                Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                Some(_) => Err(FieldError::new(
                    "out_of_range",
                    format!("limit must be between 1 and {MAX_LIMIT}"),
                )),
            },
        );
        let after = errors.check(
            "cursor",
            match cursor {
                Some(c) if uuid::Uuid::parse_str(&c).is_err() && decode_cursor(&c).is_none() => {
                    Err(FieldError::new("invalid", "not a cursor returned by this API"))
                }
                other => Ok(other),
            },
        );
        errors.finish(|| {
            Some(PageRequest {
                limit: limit?,
                after: after?,
            })
        })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

/// A cursor for lists sorted by something other than id: the sort key and the id, opaque to
/// clients (`base64url(key).id`).
pub fn encode_cursor(key: &str, id: &str) -> String {
    use base64::Engine;
    format!("{}.{id}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key))
}

pub fn decode_cursor(cursor: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (key, id) = cursor.rsplit_once('.')?;
    uuid::Uuid::parse_str(id).ok()?;
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key).ok()?;
    Some((String::from_utf8(key).ok()?, id.to_owned()))
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Build a page from `request.fetch()` rows, `id` naming each row's cursor.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, id: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(id)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}
