//! Reference data the rules judge against, each table with its source. Update them when the sources change.

/// CNAME target suffixes of hosting services where a dangling record can be claimed by anyone who signs up
/// and names the same host: a subdomain takeover. Source: "Can I take over XYZ?"
/// (github.com/EdOverflow/can-i-take-over-xyz), services listed as "Vulnerable", checked 2026-11.
pub(crate) const TAKEOVER_SUFFIXES: &[(&str, &str)] = &[
    ("github.io", "GitHub Pages"),
    ("s3.amazonaws.com", "Amazon S3"),
    ("s3-website.amazonaws.com", "Amazon S3 website"),
    ("elasticbeanstalk.com", "AWS Elastic Beanstalk"),
    ("azurewebsites.net", "Azure App Service"),
    ("cloudapp.net", "Azure Cloud Services"),
    ("cloudapp.azure.com", "Azure"),
    ("trafficmanager.net", "Azure Traffic Manager"),
    ("blob.core.windows.net", "Azure Blob Storage"),
    ("azureedge.net", "Azure CDN"),
    ("azure-api.net", "Azure API Management"),
    ("bitbucket.io", "Bitbucket"),
    ("ghost.io", "Ghost"),
    ("surge.sh", "Surge.sh"),
    ("pantheonsite.io", "Pantheon"),
    ("readme.io", "ReadMe"),
    ("helpjuice.com", "Helpjuice"),
    ("helpscoutdocs.com", "Help Scout Docs"),
    ("wordpress.com", "WordPress.com"),
    ("unbouncepages.com", "Unbounce"),
    ("agilecrm.com", "Agile CRM"),
    ("canny.io", "Canny"),
    ("ngrok.io", "ngrok"),
    ("strikingly.com", "Strikingly"),
    ("launchrock.com", "LaunchRock"),
    ("uberflip.com", "Uberflip"),
    ("smartjobboard.com", "SmartJobBoard"),
];

/// Certificate issuer organisations and the CAA `issue` domains that authorise them. Source: each CA's
/// published CAA identifier (CA/Browser Forum Baseline Requirements §3.2.2.8 require them to publish one),
/// collected 2026-11. Matching is on the issuer's organisation or common name, case-insensitively.
pub(crate) const CA_CAA_DOMAINS: &[(&str, &[&str])] = &[
    ("Let's Encrypt", &["letsencrypt.org"]),
    ("DigiCert", &["digicert.com", "www.digicert.com"]),
    (
        "Sectigo",
        &["sectigo.com", "comodoca.com", "comodo.com", "usertrust.com"],
    ),
    ("COMODO", &["sectigo.com", "comodoca.com", "comodo.com"]),
    ("ZeroSSL", &["sectigo.com", "zerossl.com"]),
    ("GlobalSign", &["globalsign.com"]),
    ("Google Trust Services", &["pki.goog", "google.com"]),
    (
        "Amazon",
        &[
            "amazon.com",
            "amazontrust.com",
            "awstrust.com",
            "amazonaws.com",
        ],
    ),
    ("GoDaddy", &["godaddy.com", "starfieldtech.com"]),
    ("Starfield", &["starfieldtech.com", "godaddy.com"]),
    ("Entrust", &["entrust.net", "affirmtrust.com"]),
    ("Buypass", &["buypass.com", "buypass.no"]),
    ("SSL.com", &["ssl.com"]),
    ("Microsoft", &["microsoft.com"]),
    ("Certum", &["certum.pl", "certum.eu"]),
    ("HARICA", &["harica.gr"]),
    ("Actalis", &["actalis.it"]),
    // The lab's own CA, so the lab can exercise this rule both ways.
    ("Launchready Lab", &["launchready.lab"]),
];

/// Cloudflare's published address ranges (cloudflare.com/ips-v4 and /ips-v6), as published on 2026-11-01. They
/// change rarely; when they do, update this table and its date.
pub(crate) const CLOUDFLARE_RANGES: &[&str] = &[
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
];

/// Whether an address is inside one of Cloudflare's ranges.
pub(crate) fn in_cloudflare(ip: &std::net::IpAddr) -> bool {
    CLOUDFLARE_RANGES.iter().any(|range| in_range(ip, range))
}

fn in_range(ip: &std::net::IpAddr, range: &str) -> bool {
    let Some((base, bits)) = range.split_once('/') else {
        return false;
    };
    let (Ok(base), Ok(bits)) = (base.parse::<std::net::IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (ip, base) {
        (std::net::IpAddr::V4(ip), std::net::IpAddr::V4(base)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(*ip) & mask == u32::from(base) & mask
        }
        (std::net::IpAddr::V6(ip), std::net::IpAddr::V6(base)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(*ip) & mask == u128::from(base) & mask
        }
        _ => false,
    }
}

/// Response headers that name the CDN or edge network that answered, checked in order.
pub(crate) const EDGE_SIGNATURES: &[(&str, &str, &str)] = &[
    // (provider, header, value fragment; empty = the header's presence is enough)
    ("Cloudflare", "cf-ray", ""),
    ("Cloudflare", "server", "cloudflare"),
    ("Amazon CloudFront", "x-amz-cf-id", ""),
    ("Amazon CloudFront", "via", "cloudfront"),
    ("Fastly", "x-fastly-request-id", ""),
    ("Fastly", "x-served-by", "cache-"),
    ("Vercel", "x-vercel-id", ""),
    ("Netlify", "x-nf-request-id", ""),
    ("Netlify", "server", "netlify"),
    ("Akamai", "akamai-grn", ""),
    ("Akamai", "server", "akamaighost"),
];

/// The CAA domains that authorise the CA named in an issuer DN, or `None` when the CA is not in the table.
pub(crate) fn caa_domains_for(issuer: &str) -> Option<&'static [&'static str]> {
    let issuer = issuer.to_ascii_lowercase();
    CA_CAA_DOMAINS
        .iter()
        .find(|(name, _)| issuer.contains(&name.to_ascii_lowercase()))
        .map(|(_, domains)| *domains)
}

/// The hosting service behind a CNAME target, when it is one where dangling records can be taken over.
pub(crate) fn takeover_provider(target: &str) -> Option<&'static str> {
    let target = target.trim_end_matches('.').to_ascii_lowercase();
    TAKEOVER_SUFFIXES
        .iter()
        .find(|(suffix, _)| target == *suffix || target.ends_with(&format!(".{suffix}")))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_map_to_their_caa_domains() {
        assert_eq!(
            caa_domains_for("C=US, O=Let's Encrypt, CN=R11"),
            Some(&["letsencrypt.org"][..])
        );
        assert!(caa_domains_for("CN=Some Private CA").is_none());
    }

    #[test]
    fn takeover_suffixes_match_whole_labels() {
        assert_eq!(takeover_provider("acme.github.io."), Some("GitHub Pages"));
        assert_eq!(takeover_provider("notgithub.io"), None);
    }
}
