//! Cloudflare's own view of a zone, read with a (read-only) API token: every DNS record with its proxied
//! ("orange cloud") status — which public DNS cannot show, since a proxied name answers with Cloudflare's
//! addresses — plus the SSL/TLS mode and the page rules. Requests go through `launchready-net`, so
//! `--connect-to api.cloudflare.com:443:…` and `--ca-file` reach a recorded-response fixture in tests.

use crate::{ProviderFacts, Rec, normalize_name, zone};
use launchready_net::{HttpRequest, Net};
use serde_json::Value;

/// The API root.
pub const API: &str = "https://api.cloudflare.com/client/v4";
/// Cloudflare's "automatic" TTL, shown as 1 by the API, is 300 seconds.
const AUTO_TTL: u32 = 300;
/// Pages of 100 records read at most (a 50 000-record zone).
const MAX_PAGES: u64 = 500;

/// What the provider export gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub provider: ProviderFacts,
    pub records: Vec<Rec>,
    /// Parts of the export that failed (page rules need their own permission).
    pub missing: Vec<String>,
}

async fn get(net: &Net, token: &str, path: &str) -> Result<Value, String> {
    let url =
        url::Url::parse(&format!("{API}{path}")).map_err(|e| format!("bad API URL {path}: {e}"))?;
    let request = HttpRequest {
        method: "GET".to_string(),
        url,
        headers: vec![
            ("Authorization".to_string(), format!("Bearer {token}")),
            ("Accept".to_string(), "application/json".to_string()),
        ],
        body: Vec::new(),
        insecure: false,
    };
    let response = net
        .request(&request)
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    let json: Value = serde_json::from_slice(&response.body).map_err(|e| {
        format!(
            "GET {path}: HTTP {} with a body that is not JSON ({e})",
            response.status
        )
    })?;
    if json["success"].as_bool() != Some(true) {
        let message = json["errors"][0]["message"]
            .as_str()
            .unwrap_or("no error message");
        return Err(format!("GET {path}: HTTP {}: {message}", response.status));
    }
    Ok(json)
}

fn absolute(name: &str) -> String {
    format!("{}.", normalize_name(name))
}

/// One API record in the snapshot's presentation form.
pub fn record(value: &Value) -> Option<Rec> {
    let name = value["name"].as_str()?;
    let rtype = value["type"].as_str()?.to_ascii_uppercase();
    let content = value["content"].as_str().unwrap_or_default();
    let ttl = match value["ttl"].as_u64() {
        Some(1) | None => AUTO_TTL,
        Some(t) => u32::try_from(t).unwrap_or(u32::MAX),
    };
    let data = &value["data"];
    let text = match rtype.as_str() {
        "CNAME" | "NS" | "PTR" => absolute(content),
        "MX" => format!(
            "{} {}",
            value["priority"].as_u64().unwrap_or(0),
            absolute(content)
        ),
        "TXT" | "SPF" => {
            // Newer API versions return TXT content quoted, in presentation form; older ones raw.
            let text = if content.starts_with('"') {
                zone::txt_strings(content).concat()
            } else {
                content.to_string()
            };
            zone::txt_data(text.as_bytes().chunks(255))
        }
        "CAA" if data.is_object() => format!(
            "{} {} {}",
            data["flags"].as_u64().unwrap_or(0),
            data["tag"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            zone::quote(data["value"].as_str().unwrap_or_default().as_bytes())
        ),
        "SRV" if data.is_object() => format!(
            "{} {} {} {}",
            data["priority"].as_u64().unwrap_or(0),
            data["weight"].as_u64().unwrap_or(0),
            data["port"].as_u64().unwrap_or(0),
            absolute(data["target"].as_str().unwrap_or_default())
        ),
        _ => content.to_string(),
    };
    let mut rec = Rec::new(name, ttl, &rtype, text);
    if value["proxied"].as_bool() == Some(true) {
        rec.proxied = Some(true);
    }
    Some(rec)
}

/// Reads the zone `domain` from Cloudflare.
pub async fn export(net: &Net, token: &str, domain: &str) -> Result<Export, String> {
    let zones = get(net, token, &format!("/zones?name={domain}")).await?;
    let zone_id = zones["result"][0]["id"]
        .as_str()
        .ok_or_else(|| format!("the token sees no zone named {domain}"))?
        .to_string();
    let mut records = Vec::new();
    let mut page = 1;
    loop {
        let json = get(
            net,
            token,
            &format!("/zones/{zone_id}/dns_records?page={page}&per_page=100"),
        )
        .await?;
        records.extend(
            json["result"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(record),
        );
        let total = json["result_info"]["total_pages"].as_u64().unwrap_or(1);
        if page >= total || page >= MAX_PAGES {
            break;
        }
        page += 1;
    }
    let mut missing = Vec::new();
    let ssl_mode = match get(net, token, &format!("/zones/{zone_id}/settings/ssl")).await {
        Ok(json) => json["result"]["value"].as_str().map(str::to_string),
        Err(e) => {
            missing.push(format!("the SSL/TLS mode ({e})"));
            None
        }
    };
    let page_rules = match get(net, token, &format!("/zones/{zone_id}/pagerules")).await {
        Ok(json) => json["result"].as_array().cloned().unwrap_or_default(),
        Err(e) => {
            missing.push(format!("the page rules ({e})"));
            Vec::new()
        }
    };
    Ok(Export {
        provider: ProviderFacts {
            provider: "Cloudflare".to_string(),
            zone_id,
            ssl_mode,
            page_rules,
        },
        records,
        missing,
    })
}
