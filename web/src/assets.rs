//! Static assets compiled into the binary (no CDN, no build step outside cargo): the console's
//! CSS and script, htmx, and the API reference renderer of `/api/docs`.
//!
//! Each is served at `/assets/{stem}.{hash}.{ext}`, the hash being the first 16 hex digits of
//! its SHA-256, with a year's `immutable` caching: a new version has a new URL. Templates ask
//! for the URL by name ([`url`]); an old or unknown hash is a 404. Responses are gzip-compressed
//! when the browser accepts it (assets only: pages carry a CSRF token beside reflected input,
//! which compression could leak, BREACH).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use std::sync::OnceLock;

/// One embedded file.
pub struct Asset {
    /// The name templates use (`console.css`).
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// Every asset. Vendored files keep their upstream version in their name and a licence beside
/// them in `web/assets/vendor/`.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/console.js"),
    },
    Asset {
        name: "htmx.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/htmx-2.0.11.min.js"),
    },
    Asset {
        name: "api-reference.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/rapidoc-9.3.8.min.js"),
    },
];

struct Fingerprinted {
    asset: &'static Asset,
    /// `/assets/console.0123456789abcdef.css`
    url: String,
}

fn table() -> &'static [Fingerprinted] {
    static TABLE: OnceLock<Vec<Fingerprinted>> = OnceLock::new();
    TABLE.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let hash = shared::crypto::sha256_hex(asset.body);
                let (stem, ext) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
                Fingerprinted {
                    asset,
                    url: format!("/assets/{stem}.{}.{ext}", &hash[..16]),
                }
            })
            .collect()
    })
}

/// The fingerprinted URL of the asset `name` (an unknown name gives a URL that answers 404).
pub fn url(name: &str) -> String {
    table()
        .iter()
        .find(|f| f.asset.name == name)
        .map_or_else(|| format!("/assets/missing/{name}"), |f| f.url.clone())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/assets/{file}")
            .wrap(actix_web::middleware::Compress::default())
            .route(web::get().to(serve)),
    );
}

async fn serve(file: web::Path<String>) -> HttpResponse {
    let path = format!("/assets/{file}");
    match table().iter().find(|f| f.url == path) {
        Some(found) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, found.asset.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(found.asset.body),
        None => HttpResponse::NotFound()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/plain; charset=utf-8")
            .body("no such asset"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_fingerprinted_url() {
        let urls: Vec<String> = ASSETS.iter().map(|a| url(a.name)).collect();
        for (asset, url) in ASSETS.iter().zip(&urls) {
            assert!(url.starts_with("/assets/"), "{url}");
            assert!(!url.contains("missing"), "{} has no URL", asset.name);
            assert!(!asset.body.is_empty(), "{} is empty", asset.name);
        }
        let mut unique = urls.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), urls.len());
    }
}
