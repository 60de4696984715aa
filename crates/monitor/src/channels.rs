//! Channel adapters: each turns a [`Notification`] into one HTTP request (pure, tested on its own) and sends it
//! with launchready's network layer, which bounds it with a timeout. Secrets come from environment variables
//! named in the configuration, read at send time.

use crate::alert::{NoticeKind, Notification};
use crate::config::{Channel, ChannelKind};
use hmac::{Hmac, Mac};
use launchready_net::{HttpRequest, Net};
use serde_json::json;
use sha2::Sha256;
use url::Url;

/// The signature header of the generic webhook: `sha256=` and the hex HMAC-SHA256 of the body.
pub const SIGNATURE_HEADER: &str = "X-Launchready-Signature";
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("channel `{channel}`: environment variable {var} is not set")]
    MissingEnv { channel: String, var: String },
    #[error("channel `{channel}`: `{url}` is not a URL")]
    BadUrl { channel: String, url: String },
    #[error("channel `{channel}`: {message}")]
    Send { channel: String, message: String },
    #[error("channel `{channel}`: the receiver answered HTTP {status}")]
    Status { channel: String, status: u16 },
}

/// Reads a variable from the environment through `env`, so tests need not set process-wide variables.
pub type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Send + Sync);

pub fn hmac_hex(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256>>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rfc3339(ms: i64) -> String {
    crate::format_ms(ms)
}

/// The request a channel sends for a notification. `None` for the log channel.
pub fn request(
    channel: &Channel,
    n: &Notification,
    env: Env<'_>,
) -> Result<Option<HttpRequest>, ChannelError> {
    let var = |name: &str| {
        env(name).ok_or_else(|| ChannelError::MissingEnv {
            channel: channel.name.clone(),
            var: name.to_string(),
        })
    };
    let url = |text: &str| {
        Url::parse(text).map_err(|_| ChannelError::BadUrl {
            channel: channel.name.clone(),
            url: text.to_string(),
        })
    };
    let json_post = |target: Url, body: serde_json::Value, extra: Vec<(String, String)>| {
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        headers.extend(extra);
        HttpRequest {
            method: "POST".into(),
            url: target,
            headers,
            body: body.to_string().into_bytes(),
            insecure: false,
        }
    };
    let resolved = n.kind == NoticeKind::Resolved;
    Ok(Some(match &channel.kind {
        ChannelKind::Log | ChannelKind::Email { .. } => return Ok(None),
        ChannelKind::Webhook {
            url: target,
            secret_env,
        } => {
            let body = serde_json::to_vec(&json!({
                "kind": n.kind, "title": n.title(), "text": n.text(), "rule": n.rule, "check": n.check,
                "condition": n.condition, "owner": n.owner, "since": rfc3339(n.since_ms), "at": rfc3339(n.at_ms),
                "value": n.value, "last_error": n.last_error, "context": n.context, "folded": n.folded,
                "first_step": n.first_step, "dashboard": n.dashboard, "key": n.key,
            }))
            .unwrap_or_default();
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            if let Some(secret_env) = secret_env {
                let secret = var(secret_env)?;
                headers.push((
                    SIGNATURE_HEADER.to_string(),
                    format!("sha256={}", hmac_hex(secret.as_bytes(), &body)),
                ));
            }
            HttpRequest {
                method: "POST".into(),
                url: url(target)?,
                headers,
                body,
                insecure: false,
            }
        }
        ChannelKind::Slack { url_env } => {
            json_post(url(&var(url_env)?)?, json!({ "text": n.text() }), vec![])
        }
        ChannelKind::Discord { url_env } => {
            // Discord refuses content over 2000 characters.
            let text: String = n.text().chars().take(1990).collect();
            json_post(url(&var(url_env)?)?, json!({ "content": text }), vec![])
        }
        ChannelKind::Ntfy {
            url: target,
            token_env,
        } => {
            let mut headers = vec![
                ("Title".to_string(), n.title()),
                (
                    "Priority".to_string(),
                    if resolved { "default" } else { "urgent" }.to_string(),
                ),
                (
                    "Tags".to_string(),
                    if resolved {
                        "white_check_mark"
                    } else {
                        "rotating_light"
                    }
                    .to_string(),
                ),
            ];
            if let Some(token_env) = token_env {
                headers.push((
                    "Authorization".to_string(),
                    format!("Bearer {}", var(token_env)?),
                ));
            }
            HttpRequest {
                method: "POST".into(),
                url: url(target)?,
                headers,
                body: n.text().into_bytes(),
                insecure: false,
            }
        }
        ChannelKind::PagerDuty {
            routing_key_env,
            url: target,
        } => {
            let dedup = format!("{}|{}|{}", n.rule, n.check, n.since_ms);
            let body = if resolved {
                json!({ "routing_key": var(routing_key_env)?, "event_action": "resolve", "dedup_key": dedup })
            } else {
                json!({
                    "routing_key": var(routing_key_env)?, "event_action": "trigger", "dedup_key": dedup,
                    "payload": {
                        "summary": format!("{} on {} ({})", n.rule, n.check, n.condition),
                        "source": n.check, "severity": "critical", "timestamp": rfc3339(n.at_ms),
                        "custom_details": { "owner": n.owner, "last_error": n.last_error, "first_step": n.first_step,
                                            "folded": n.folded, "since": rfc3339(n.since_ms) }
                    },
                    "links": n.dashboard.as_ref().map(|d| vec![json!({"href": d, "text": "launchready dashboard"})]).unwrap_or_default(),
                })
            };
            json_post(
                url(target.as_deref().unwrap_or(PAGERDUTY_EVENTS_URL))?,
                body,
                vec![],
            )
        }
        ChannelKind::Alertmanager { url: base } => {
            let target = url(&format!("{}/api/v2/alerts", base.trim_end_matches('/')))?;
            let mut alert = json!({
                "labels": { "alertname": n.rule, "check": n.check, "owner": n.owner, "severity": "critical", "source": "launchready" },
                "annotations": { "summary": n.title(), "description": n.text(), "first_step": n.first_step },
                "startsAt": rfc3339(n.since_ms),
            });
            if resolved {
                alert["endsAt"] = json!(rfc3339(n.at_ms));
            }
            if let Some(dashboard) = &n.dashboard {
                alert["generatorURL"] = json!(dashboard);
            }
            json_post(target, json!([alert]), vec![])
        }
    }))
}

/// Sends one notification on one channel; 2xx is delivered.
pub async fn send(
    channel: &Channel,
    n: &Notification,
    net: &Net,
    env: Env<'_>,
) -> Result<(), ChannelError> {
    if let ChannelKind::Email {
        url,
        from,
        to,
        password_env,
    } = &channel.kind
    {
        return email(channel, n, url, from, to, password_env.as_deref(), env).await;
    }
    let Some(request) = request(channel, n, env)? else {
        eprintln!("monitor: {}", n.text().replace('\n', "\n  "));
        return Ok(());
    };
    let response = net
        .request(&request)
        .await
        .map_err(|e| ChannelError::Send {
            channel: channel.name.clone(),
            message: e.message,
        })?;
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(ChannelError::Status {
            channel: channel.name.clone(),
            status: response.status,
        })
    }
}

/// How long an SMTP exchange may take.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

async fn email(
    channel: &Channel,
    n: &Notification,
    url: &str,
    from: &str,
    to: &[String],
    password_env: Option<&str>,
    env: Env<'_>,
) -> Result<(), ChannelError> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let fail = |message: String| ChannelError::Send {
        channel: channel.name.clone(),
        message,
    };
    let parsed = Url::parse(url).map_err(|_| ChannelError::BadUrl {
        channel: channel.name.clone(),
        url: url.to_string(),
    })?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let mut builder = match parsed.scheme() {
        "smtp" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
            .map_err(|e| fail(e.to_string()))?,
        "smtps" => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(|e| fail(e.to_string()))?
        }
        "smtp+plain" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host),
        _ => {
            return Err(ChannelError::BadUrl {
                channel: channel.name.clone(),
                url: url.to_string(),
            });
        }
    };
    if let Some(port) = parsed.port() {
        builder = builder.port(port);
    }
    if !parsed.username().is_empty() {
        let password = match password_env {
            Some(var) => env(var).ok_or_else(|| ChannelError::MissingEnv {
                channel: channel.name.clone(),
                var: var.to_string(),
            })?,
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(parsed.username().to_string(), password));
    }
    let transport = builder.timeout(Some(SMTP_TIMEOUT)).build();
    let mut message = Message::builder()
        .from(
            from.parse()
                .map_err(|e| fail(format!("`from` {from}: {e}")))?,
        )
        .subject(n.title());
    for recipient in to {
        message = message.to(recipient
            .parse()
            .map_err(|e| fail(format!("`to` {recipient}: {e}")))?);
    }
    let message = message.body(n.text()).map_err(|e| fail(e.to_string()))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: NoticeKind) -> Notification {
        Notification {
            key: "k".into(),
            kind,
            rule: "checkout failing".into(),
            check: "flow:checkout".into(),
            condition: "consecutive_failures >= 3".into(),
            owner: "payments@team".into(),
            channels: vec![],
            since_ms: 0,
            at_ms: 60_000,
            value: Some(3.0),
            last_error: Some("POST /checkout: HTTP 500".into()),
            context: None,
            folded: vec![],
            first_step: "Try a test purchase".into(),
            dashboard: Some("http://127.0.0.1:8080/".into()),
        }
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "SECRET" => Some("s3cret".into()),
            "SLACK_URL" => Some("http://127.0.0.1:9/slack".into()),
            "PD_KEY" => Some("R0UTING".into()),
            _ => None,
        }
    }

    fn body(request: &HttpRequest) -> serde_json::Value {
        serde_json::from_slice(&request.body).unwrap_or_default()
    }

    #[test]
    fn webhook_is_signed_over_the_exact_body() {
        let channel = Channel {
            name: "hook".into(),
            kind: ChannelKind::Webhook {
                url: "http://127.0.0.1:9/h".into(),
                secret_env: Some("SECRET".into()),
            },
        };
        let request = request(&channel, &notice(NoticeKind::Firing), &env)
            .unwrap()
            .unwrap();
        let signature = request
            .headers
            .iter()
            .find(|(k, _)| k == SIGNATURE_HEADER)
            .map(|(_, v)| v.clone());
        assert_eq!(
            signature,
            Some(format!("sha256={}", hmac_hex(b"s3cret", &request.body)))
        );
        assert_eq!(body(&request)["owner"], "payments@team");
        assert_eq!(body(&request)["kind"], "firing");
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_missing_secret_names_the_variable() {
        let channel = Channel {
            name: "slack".into(),
            kind: ChannelKind::Slack {
                url_env: "NOPE".into(),
            },
        };
        let error = request(&channel, &notice(NoticeKind::Firing), &env).unwrap_err();
        assert!(error.to_string().contains("NOPE"), "{error}");
    }

    #[test]
    fn pagerduty_triggers_and_resolves_with_one_dedup_key() {
        let channel = Channel {
            name: "pd".into(),
            kind: ChannelKind::PagerDuty {
                routing_key_env: "PD_KEY".into(),
                url: None,
            },
        };
        let trigger = body(
            &request(&channel, &notice(NoticeKind::Firing), &env)
                .unwrap()
                .unwrap(),
        );
        let resolve = body(
            &request(&channel, &notice(NoticeKind::Resolved), &env)
                .unwrap()
                .unwrap(),
        );
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(resolve["event_action"], "resolve");
        assert_eq!(trigger["dedup_key"], resolve["dedup_key"]);
        assert_eq!(trigger["routing_key"], "R0UTING");
    }

    #[test]
    fn alertmanager_resolves_with_ends_at() {
        let channel = Channel {
            name: "am".into(),
            kind: ChannelKind::Alertmanager {
                url: "http://127.0.0.1:9093/".into(),
            },
        };
        let firing = request(&channel, &notice(NoticeKind::Firing), &env)
            .unwrap()
            .unwrap();
        assert_eq!(firing.url.as_str(), "http://127.0.0.1:9093/api/v2/alerts");
        assert!(body(&firing)[0].get("endsAt").is_none());
        let resolved = body(
            &request(&channel, &notice(NoticeKind::Resolved), &env)
                .unwrap()
                .unwrap(),
        );
        assert_eq!(resolved[0]["labels"]["alertname"], "checkout failing");
        assert!(resolved[0]["endsAt"].is_string());
    }
}
