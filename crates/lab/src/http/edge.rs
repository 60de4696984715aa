//! The simulated CDN in front of a site: the headers a Cloudflare-like edge adds (`server`,
//! `cf-ray`, `cf-cache-status`, `age`) and the shared cache behind its HIT/MISS/BYPASS.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};

use http::header::{AGE, CACHE_CONTROL, HeaderValue, SERVER, SET_COOKIE};
use http::{HeaderMap, Response};
use tokio::time::Instant;

use super::{LabBody, Scheme, Shared};
use crate::scenario::EdgeKind;

/// The point of presence named in `cf-ray` values.
const CLOUDFLARE_POP: &str = "AMS";

impl Shared {
    /// A fresh `cf-ray` identifier: 16 hex digits (splitmix64 of seed and counter) and a POP.
    fn next_ray(&self) -> String {
        let n = self.rays.fetch_add(1, Ordering::Relaxed);
        let mut z = self
            .ray_seed
            .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        format!("{:016x}-{CLOUDFLARE_POP}", z ^ (z >> 31))
    }
}

/// A site's CDN and what its simulated cache holds.
pub(super) struct EdgeCache {
    pub(super) kind: EdgeKind,
    /// When each (scheme, path and query) was first served cacheably, i.e. entered the cache.
    pub(super) cached: Mutex<HashMap<(Scheme, String), Instant>>,
}

/// Adds what the site's CDN adds to a response on its way out, and plays its cache.
pub(super) fn add_edge_headers(
    shared: &Shared,
    edge: &EdgeCache,
    key: (Scheme, String),
    response: &mut Response<LabBody>,
) {
    match edge.kind {
        EdgeKind::Cloudflare => {
            let headers = response.headers_mut();
            let (status, age) = if bypasses_shared_cache(headers) {
                ("BYPASS", None)
            } else {
                let mut cached = edge.cached.lock().unwrap_or_else(PoisonError::into_inner);
                match cached.get(&key) {
                    Some(since) => ("HIT", Some(since.elapsed().as_secs())),
                    None => {
                        cached.insert(key, Instant::now());
                        ("MISS", None)
                    }
                }
            };
            headers.insert(SERVER, HeaderValue::from_static("cloudflare"));
            if let Ok(ray) = HeaderValue::from_str(&shared.next_ray()) {
                headers.insert("cf-ray", ray);
            }
            headers.insert("cf-cache-status", HeaderValue::from_static(status));
            if let Some(age) = age {
                headers.insert(AGE, HeaderValue::from(age));
            }
        }
    }
}

/// Whether the origin's headers keep a shared cache from storing the response: a cookie, or
/// `no-store`, `no-cache`, `private` or `max-age=0` (Cloudflare then reports `BYPASS`).
fn bypasses_shared_cache(headers: &HeaderMap) -> bool {
    if headers.contains_key(SET_COOKIE) {
        return true;
    }
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|directive| directive.trim().to_ascii_lowercase().replace(' ', ""))
        .any(|directive| {
            matches!(
                directive.as_str(),
                "no-store" | "no-cache" | "private" | "max-age=0"
            ) || directive.starts_with("private=")
                || directive.starts_with("no-cache=")
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::watch;

    use super::*;

    #[test]
    fn shared_cache_bypass_follows_cache_control_and_cookies() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(*name, HeaderValue::from_static(value));
            }
            map
        };
        assert!(!bypasses_shared_cache(&headers(&[])));
        assert!(!bypasses_shared_cache(&headers(&[(
            "cache-control",
            "public, max-age=31536000, immutable"
        )])));
        assert!(bypasses_shared_cache(&headers(&[(
            "cache-control",
            "no-store"
        )])));
        assert!(bypasses_shared_cache(&headers(&[(
            "cache-control",
            "Private, Max-Age=60"
        )])));
        assert!(bypasses_shared_cache(&headers(&[(
            "cache-control",
            "max-age = 0"
        )])));
        assert!(bypasses_shared_cache(&headers(&[("set-cookie", "a=b")])));
    }

    #[test]
    fn rays_look_like_cloudflares_and_differ() {
        let (_tx, rx) = watch::channel(());
        let shared = Shared::new(&[], Duration::ZERO, rx).unwrap();
        let (a, b) = (shared.next_ray(), shared.next_ray());
        assert_ne!(a, b);
        for ray in [a, b] {
            let (hex, pop) = ray.split_once('-').unwrap();
            assert_eq!(pop, "AMS");
            assert_eq!(hex.len(), 16);
            assert!(
                hex.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
    }
}
