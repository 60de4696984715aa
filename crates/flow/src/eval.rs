//! Queries, filters and predicates: what `[Captures]` and `[Asserts]` read from a response and how they judge
//! it, following Hurl's documented semantics (a query with no match gives no value; `not` inverts a predicate;
//! integers and floats compare as numbers).

use crate::value::{RegexValue, Value, compare, equal, to_hex};
use crate::vars::{EvalError, Variables, eval_expr, render};
use crate::xpath;
use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use hurl_core::ast::{
    CookieAttributeName, Filter, FilterValue, IntegerValue, JsonValue, MultilineString, Predicate,
    PredicateFuncValue, PredicateValue, Query, QueryValue, RegexValue as AstRegex, SourceInfo,
    Template, TemplateElement,
};
use sha2::Digest;
use std::path::Path;

/// A response as queries see it.
#[derive(Debug, Clone, Default)]
pub struct QueryContext {
    pub url: String,
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub duration_ms: u64,
    /// Each redirect followed: (the URL that answered with a redirect, its status, the resolved Location).
    pub redirects: Vec<(String, u16, String)>,
    pub ip: Option<String>,
}

impl QueryContext {
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text, decoded with the charset of `Content-Type` (UTF-8 when none is named).
    pub fn text(&self) -> Result<String, String> {
        let content_type = self
            .header_values("content-type")
            .first()
            .map(|s| s.to_string())
            .unwrap_or_default();
        let charset = content_type.split(';').skip(1).find_map(|param| {
            let (key, value) = param.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"').to_string())
        });
        match charset {
            None => String::from_utf8(self.body.clone())
                .map_err(|_| "the body is not valid UTF-8".to_string()),
            Some(label) => {
                let encoding = encoding_rs::Encoding::for_label(label.as_bytes())
                    .ok_or_else(|| format!("unknown charset `{label}`"))?;
                let (text, _, had_errors) = encoding.decode(&self.body);
                if had_errors {
                    Err(format!("the body is not valid {}", encoding.name()))
                } else {
                    Ok(text.into_owned())
                }
            }
        }
    }

    fn is_html(&self) -> bool {
        self.header_values("content-type")
            .first()
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"))
    }
}

fn err(source_info: SourceInfo, message: impl Into<String>) -> EvalError {
    EvalError::new(source_info, message)
}

fn regex_of(value: &AstRegex, vars: &Variables) -> Result<regex::Regex, EvalError> {
    match value {
        AstRegex::Regex(r) => Ok(r.inner.clone()),
        AstRegex::Template(t) => {
            let source = render(t, vars)?;
            regex::Regex::new(&source)
                .map_err(|e| err(t.source_info, format!("invalid regex `{source}`: {e}")))
        }
    }
}

/// Runs a query against a response.
pub fn eval_query(
    query: &Query,
    ctx: &QueryContext,
    vars: &Variables,
) -> Result<Option<Value>, EvalError> {
    let at = query.source_info;
    Ok(match &query.value {
        QueryValue::Status => Some(Value::Integer(i64::from(ctx.status))),
        QueryValue::Version => Some(Value::String(
            ctx.version.trim_start_matches("HTTP/").to_string(),
        )),
        QueryValue::Url => Some(Value::String(ctx.url.clone())),
        QueryValue::Header { name, .. } => {
            let name = render(name, vars)?;
            let values = ctx.header_values(&name);
            match values.len() {
                0 => None,
                1 => Some(Value::String(values[0].to_string())),
                _ => Some(Value::List(
                    values
                        .iter()
                        .map(|v| Value::String(v.to_string()))
                        .collect(),
                )),
            }
        }
        QueryValue::Cookie { expr, .. } => {
            let name = render(&expr.name, vars)?;
            let set_cookies = ctx.header_values("set-cookie");
            let Some(cookie) = set_cookies.iter().rev().find_map(|raw| {
                let parsed = cookie::Cookie::parse(raw.to_string()).ok()?;
                (parsed.name() == name).then_some((parsed, raw.to_string()))
            }) else {
                return Ok(None);
            };
            cookie_attribute(
                &cookie.0,
                &cookie.1,
                expr.attribute.as_ref().map(|a| &a.name),
            )
        }
        QueryValue::Body => Some(Value::String(ctx.text().map_err(|e| err(at, e))?)),
        QueryValue::Bytes | QueryValue::RawBytes => Some(Value::Bytes(ctx.body.clone())),
        QueryValue::Sha256 => Some(Value::Bytes(sha2::Sha256::digest(&ctx.body).to_vec())),
        QueryValue::Md5 => Some(Value::Bytes(md5::Md5::digest(&ctx.body).to_vec())),
        QueryValue::Duration => Some(Value::Integer(ctx.duration_ms as i64)),
        QueryValue::Ip => ctx.ip.clone().map(Value::String),
        QueryValue::Redirects => Some(Value::List(
            ctx.redirects
                .iter()
                .map(|(url, status, location)| {
                    Value::Object(vec![
                        ("url".to_string(), Value::String(url.clone())),
                        ("status".to_string(), Value::Integer(i64::from(*status))),
                        ("location".to_string(), Value::String(location.clone())),
                    ])
                })
                .collect(),
        )),
        QueryValue::Variable { name, .. } => {
            let name = render(name, vars)?;
            vars.get(&name).cloned()
        }
        QueryValue::Regex { value, .. } => {
            let regex = regex_of(value, vars)?;
            let text = ctx.text().map_err(|e| err(at, e))?;
            regex_capture(&regex, &text)
        }
        QueryValue::Jsonpath { expr, .. } => {
            let text = ctx.text().map_err(|e| err(at, e))?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| err(at, format!("the body is not valid JSON: {e}")))?;
            jsonpath(&json, expr, vars)?
        }
        QueryValue::Xpath { expr, .. } => {
            let expr_text = render(expr, vars)?;
            let text = ctx.text().map_err(|e| err(at, e))?;
            Some(
                xpath::eval(&text, ctx.is_html(), &expr_text)
                    .map_err(|e| err(expr.source_info, e))?,
            )
        }
        QueryValue::Certificate { .. } => {
            return Err(err(at, "the certificate query is not supported"));
        }
    })
}

fn regex_capture(regex: &regex::Regex, text: &str) -> Option<Value> {
    let captures = regex.captures(text)?;
    let group = captures.get(1).or_else(|| captures.get(0))?;
    Some(Value::String(group.as_str().to_string()))
}

fn cookie_attribute(
    cookie: &cookie::Cookie<'_>,
    raw: &str,
    attribute: Option<&CookieAttributeName>,
) -> Option<Value> {
    let Some(attribute) = attribute else {
        return Some(Value::String(cookie.value().to_string()));
    };
    // The cookie crate normalises attributes; flags are looked up in the raw header, case-insensitively.
    let has_flag = |flag: &str| {
        raw.split(';')
            .skip(1)
            .any(|part| part.trim().eq_ignore_ascii_case(flag))
    };
    match attribute {
        CookieAttributeName::Value(_) => Some(Value::String(cookie.value().to_string())),
        CookieAttributeName::Expires(_) => raw.split(';').skip(1).find_map(|part| {
            let (k, v) = part.split_once('=')?;
            if !k.trim().eq_ignore_ascii_case("expires") {
                return None;
            }
            Some(match parse_cookie_date(v.trim()) {
                Some(date) => Value::Date(date),
                None => Value::String(v.trim().to_string()),
            })
        }),
        CookieAttributeName::MaxAge(_) => {
            cookie.max_age().map(|d| Value::Integer(d.whole_seconds()))
        }
        CookieAttributeName::Domain(_) => cookie.domain().map(|d| Value::String(d.to_string())),
        CookieAttributeName::Path(_) => cookie.path().map(|p| Value::String(p.to_string())),
        CookieAttributeName::Secure(_) => has_flag("secure").then_some(Value::Unit),
        CookieAttributeName::HttpOnly(_) => has_flag("httponly").then_some(Value::Unit),
        CookieAttributeName::SameSite(_) => {
            cookie.same_site().map(|s| Value::String(s.to_string()))
        }
    }
}

/// Cookie dates in the forms servers send (RFC 1123, with dashes, RFC 850).
fn parse_cookie_date(text: &str) -> Option<DateTime<Utc>> {
    let cleaned = text.replace('-', " ");
    for fmt in [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%a, %d %b %y %H:%M:%S GMT",
        "%A, %d %b %y %H:%M:%S GMT",
    ] {
        if let Ok(date) = NaiveDateTime::parse_from_str(&cleaned, fmt) {
            return Some(Utc.from_utc_datetime(&date));
        }
    }
    None
}

fn jsonpath(
    json: &serde_json::Value,
    expr: &Template,
    vars: &Variables,
) -> Result<Option<Value>, EvalError> {
    let text = render(expr, vars)?;
    let path = serde_json_path::JsonPath::parse(&text)
        .map_err(|e| err(expr.source_info, format!("invalid JSONPath `{text}`: {e}")))?;
    let nodes = path.query(json).all();
    Ok(match nodes.len() {
        0 => None,
        1 => Some(Value::from_json(nodes[0])),
        _ => Some(Value::List(
            nodes.into_iter().map(Value::from_json).collect(),
        )),
    })
}

fn value_to_json(value: &Value) -> Option<serde_json::Value> {
    Some(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::List(items) => {
            serde_json::Value::Array(items.iter().map(value_to_json).collect::<Option<_>>()?)
        }
        Value::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, v)| Some((k.clone(), value_to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

/// Applies a chain of filters; a filter given no value passes none on.
pub fn eval_filters(
    value: Option<Value>,
    filters: &[(hurl_core::ast::Whitespace, Filter)],
    vars: &Variables,
) -> Result<Option<Value>, EvalError> {
    let mut current = value;
    for (_, filter) in filters {
        let Some(value) = current else {
            return Ok(None);
        };
        current = eval_filter(value, filter, vars)?;
    }
    Ok(current)
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn nth_index(n: i64, len: usize, at: SourceInfo) -> Result<usize, EvalError> {
    let index = if n < 0 { len as i64 + n } else { n };
    if index < 0 || index as usize >= len {
        return Err(err(at, format!("index {n} is out of bounds (size {len})")));
    }
    Ok(index as usize)
}

fn eval_filter(
    value: Value,
    filter: &Filter,
    vars: &Variables,
) -> Result<Option<Value>, EvalError> {
    let at = filter.source_info;
    let name = filter.value.identifier();
    let invalid = |value: &Value| err(at, format!("filter {name} cannot take a {}", value.kind()));
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    Ok(Some(match &filter.value {
        FilterValue::Base64Decode => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::Bytes(
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text.trim_end_matches('='))
                    .map_err(|e| err(at, format!("invalid base64: {e}")))?,
            )
        }
        FilterValue::Base64Encode => match &value {
            Value::Bytes(b) => Value::String(b64.encode(b)),
            _ => return Err(invalid(&value)),
        },
        FilterValue::Base64UrlSafeDecode => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::Bytes(
                b64url
                    .decode(text.trim_end_matches('='))
                    .map_err(|e| err(at, format!("invalid base64url: {e}")))?,
            )
        }
        FilterValue::Base64UrlSafeEncode => match &value {
            Value::Bytes(b) => Value::String(b64url.encode(b)),
            _ => return Err(invalid(&value)),
        },
        FilterValue::Count => match &value {
            Value::List(items) => Value::Integer(items.len() as i64),
            Value::Bytes(b) => Value::Integer(b.len() as i64),
            Value::Nodeset(n) => Value::Integer(*n as i64),
            Value::Object(fields) => Value::Integer(fields.len() as i64),
            _ => return Err(invalid(&value)),
        },
        FilterValue::DaysAfterNow | FilterValue::DaysBeforeNow => match &value {
            Value::Date(date) => {
                let days = (*date - Utc::now()).num_days();
                Value::Integer(if matches!(filter.value, FilterValue::DaysAfterNow) {
                    days
                } else {
                    -days
                })
            }
            _ => return Err(invalid(&value)),
        },
        FilterValue::Decode { encoding, .. } | FilterValue::CharsetDecode { encoding, .. } => {
            let label = render(encoding, vars)?;
            let Value::Bytes(bytes) = &value else {
                return Err(invalid(&value));
            };
            let encoding = encoding_rs::Encoding::for_label(label.as_bytes())
                .ok_or_else(|| err(at, format!("unknown encoding `{label}`")))?;
            Value::String(encoding.decode(bytes).0.into_owned())
        }
        FilterValue::First | FilterValue::Last => match value {
            Value::List(items) => {
                let item = if matches!(filter.value, FilterValue::First) {
                    items.into_iter().next()
                } else {
                    items.into_iter().next_back()
                };
                match item {
                    Some(item) => item,
                    None => return Err(err(at, "the list is empty")),
                }
            }
            other => return Err(invalid(&other)),
        },
        FilterValue::Format { fmt, .. } | FilterValue::DateFormat { fmt, .. } => {
            let fmt = render(fmt, vars)?;
            match &value {
                Value::Date(date) => Value::String(date.format(&fmt).to_string()),
                _ => return Err(invalid(&value)),
            }
        }
        FilterValue::HtmlEscape => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::String(
                text.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
                    .replace('\'', "&#x27;"),
            )
        }
        FilterValue::HtmlUnescape => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::String(html_unescape(&text))
        }
        FilterValue::JsonPath { expr, .. } => {
            let json = match &value {
                Value::String(s) => {
                    serde_json::from_str(s).map_err(|e| err(at, format!("not valid JSON: {e}")))?
                }
                other => value_to_json(other).ok_or_else(|| invalid(other))?,
            };
            return jsonpath(&json, expr, vars);
        }
        FilterValue::Location => match &value {
            Value::Object(fields) => fields
                .iter()
                .find(|(k, _)| k == "location")
                .map(|(_, v)| v.clone())
                .ok_or_else(|| invalid(&value))?,
            _ => return Err(invalid(&value)),
        },
        FilterValue::Nth { n, .. } => {
            let n = match n {
                IntegerValue::Literal(i) => i.as_i64(),
                IntegerValue::Placeholder(p) => match eval_expr(&p.expr, vars)? {
                    Value::Integer(i) => i,
                    other => {
                        return Err(err(
                            at,
                            format!("nth needs an integer, not a {}", other.kind()),
                        ));
                    }
                },
            };
            match value {
                Value::List(items) => {
                    let index = nth_index(n, items.len(), at)?;
                    items.into_iter().nth(index).unwrap_or(Value::Null)
                }
                Value::Bytes(bytes) => {
                    let index = nth_index(n, bytes.len(), at)?;
                    Value::Integer(i64::from(bytes[index]))
                }
                other => return Err(invalid(&other)),
            }
        }
        FilterValue::Regex { value: regex, .. } => {
            let regex = regex_of(regex, vars)?;
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            return Ok(regex_capture(&regex, &text));
        }
        FilterValue::Replace {
            old_value,
            new_value,
            ..
        } => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::String(text.replace(&render(old_value, vars)?, &render(new_value, vars)?))
        }
        FilterValue::ReplaceRegex {
            pattern, new_value, ..
        } => {
            let regex = regex_of(pattern, vars)?;
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            let replacement = render(new_value, vars)?;
            Value::String(regex.replace_all(&text, replacement.as_str()).into_owned())
        }
        FilterValue::Split { sep, .. } => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            let sep = render(sep, vars)?;
            Value::List(
                text.split(sep.as_str())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            )
        }
        FilterValue::ToDate { fmt, .. } => {
            let fmt = render(fmt, vars)?;
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::Date(parse_date(&text, &fmt).ok_or_else(|| {
                err(
                    at,
                    format!("`{text}` does not match the date format `{fmt}`"),
                )
            })?)
        }
        FilterValue::ToFloat => match &value {
            Value::Integer(i) => Value::Float(*i as f64),
            Value::Float(f) => Value::Float(*f),
            Value::String(s) => Value::Float(
                s.trim()
                    .parse()
                    .map_err(|_| err(at, format!("`{s}` is not a float")))?,
            ),
            _ => return Err(invalid(&value)),
        },
        FilterValue::ToHex => match &value {
            Value::Bytes(b) => Value::String(to_hex(b)),
            _ => return Err(invalid(&value)),
        },
        FilterValue::ToInt => match &value {
            Value::Integer(i) => Value::Integer(*i),
            Value::Float(f) => Value::Integer(f.trunc() as i64),
            Value::String(s) => Value::Integer(
                s.trim()
                    .parse()
                    .map_err(|_| err(at, format!("`{s}` is not an integer")))?,
            ),
            _ => return Err(invalid(&value)),
        },
        FilterValue::ToString => match &value {
            Value::List(_) | Value::Object(_) | Value::Nodeset(_) => return Err(invalid(&value)),
            other => Value::String(other.render()),
        },
        FilterValue::UrlDecode => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::String(
                percent_encoding::percent_decode_str(&text)
                    .decode_utf8()
                    .map_err(|e| err(at, format!("not UTF-8 once decoded: {e}")))?
                    .into_owned(),
            )
        }
        FilterValue::UrlEncode => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::String(url_encode(&text))
        }
        FilterValue::UrlQueryParam { param, .. } => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            let param = render(param, vars)?;
            let url = url::Url::parse(&text).map_err(|e| err(at, format!("not a URL: {e}")))?;
            return Ok(url
                .query_pairs()
                .find(|(k, _)| *k == param)
                .map(|(_, v)| Value::String(v.into_owned())));
        }
        FilterValue::Utf8Decode => match &value {
            Value::Bytes(b) => Value::String(
                String::from_utf8(b.clone())
                    .map_err(|_| err(at, "the bytes are not valid UTF-8"))?,
            ),
            _ => return Err(invalid(&value)),
        },
        FilterValue::Utf8Encode => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            Value::Bytes(text.into_bytes())
        }
        FilterValue::XPath { expr, .. } => {
            let text = as_text(&value).ok_or_else(|| invalid(&value))?;
            let expr = render(expr, vars)?;
            let html = text
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("<!doctype html")
                || text.trim_start().to_ascii_lowercase().starts_with("<html");
            xpath::eval(&text, html, &expr).map_err(|e| err(at, e))?
        }
    }))
}

/// Percent-encodes like Hurl's urlEncode: unreserved characters and `/` are kept.
fn url_encode(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|i| i + 1);
        let end = end.unwrap_or(tail.len());
        let entity = &tail[1..end];
        let decoded = if let Some(num) = entity
            .strip_prefix("#x")
            .or_else(|| entity.strip_prefix("#X"))
        {
            u32::from_str_radix(num, 16).ok().and_then(char::from_u32)
        } else if let Some(num) = entity.strip_prefix('#') {
            num.parse::<u32>().ok().and_then(char::from_u32)
        } else {
            match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "copy" => Some('©'),
                "reg" => Some('®'),
                _ => None,
            }
        };
        match decoded {
            Some(c) => {
                out.push(c);
                let consumed = if tail[end..].starts_with(';') {
                    end + 1
                } else {
                    end
                };
                rest = &tail[consumed..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses a date with a strftime format; a format without a zone reads UTC, one without a time reads midnight.
fn parse_date(text: &str, fmt: &str) -> Option<DateTime<Utc>> {
    if fmt == "%+" {
        return DateTime::parse_from_rfc3339(text)
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|d| Utc.from_utc_datetime(&d))
            });
    }
    if let Ok(date) = DateTime::parse_from_str(text, fmt) {
        return Some(date.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDateTime::parse_from_str(text, fmt) {
        return Some(Utc.from_utc_datetime(&date));
    }
    NaiveDate::parse_from_str(text, fmt)
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Utc.from_utc_datetime(&d))
}

/// The expected side of a predicate.
pub fn eval_predicate_value(
    value: &PredicateValue,
    vars: &Variables,
    file_dir: &Path,
) -> Result<Value, EvalError> {
    Ok(match value {
        PredicateValue::Base64(b) => Value::Bytes(b.value.clone()),
        PredicateValue::Hex(h) => Value::Bytes(h.value.clone()),
        PredicateValue::Bool(b) => Value::Bool(*b),
        PredicateValue::Null => Value::Null,
        PredicateValue::Number(n) => number_value(n),
        PredicateValue::String(t) => Value::String(render(t, vars)?),
        PredicateValue::MultilineString(m) => Value::String(multiline_text(m, vars)?),
        PredicateValue::Placeholder(p) => eval_expr(&p.expr, vars)?,
        PredicateValue::Regex(r) => Value::Regex(RegexValue(r.inner.clone())),
        PredicateValue::File(f) => {
            let name = render(&f.filename, vars)?;
            let path = file_dir.join(&name);
            Value::Bytes(std::fs::read(&path).map_err(|e| {
                err(
                    f.filename.source_info,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?)
        }
    })
}

pub fn number_value(n: &hurl_core::ast::Number) -> Value {
    match n {
        hurl_core::ast::Number::Integer(i) => Value::Integer(i.as_i64()),
        hurl_core::ast::Number::Float(f) => Value::Float(f.as_f64()),
        hurl_core::ast::Number::BigInteger(s) => Value::BigInteger(s.clone()),
    }
}

/// A multiline string's text, templates rendered; a GraphQL one becomes its JSON request body.
pub fn multiline_text(m: &MultilineString, vars: &Variables) -> Result<String, EvalError> {
    use hurl_core::ast::MultilineStringKind as K;
    match &m.kind {
        K::Text(t) | K::Json(t) | K::Xml(t) | K::Raw(t) => render(t, vars),
        K::GraphQl(g) => {
            let query =
                serde_json::Value::String(render(&g.value, vars)?.trim().to_string()).to_string();
            Ok(match &g.variables {
                None => format!("{{\"query\":{query}}}"),
                Some(variables) => {
                    format!(
                        "{{\"query\":{query},\"variables\":{}}}",
                        json_text(&variables.value, vars, false)?
                    )
                }
            })
        }
    }
}

/// The outcome of one predicate: `Ok(())` when it holds, else the reason.
pub fn eval_predicate(
    predicate: &Predicate,
    actual: Option<&Value>,
    vars: &Variables,
    file_dir: &Path,
) -> Result<Result<(), String>, EvalError> {
    let func = &predicate.predicate_func.value;
    let expected = match func {
        PredicateFuncValue::Equal { value, .. }
        | PredicateFuncValue::NotEqual { value, .. }
        | PredicateFuncValue::GreaterThan { value, .. }
        | PredicateFuncValue::GreaterThanOrEqual { value, .. }
        | PredicateFuncValue::LessThan { value, .. }
        | PredicateFuncValue::LessThanOrEqual { value, .. }
        | PredicateFuncValue::StartWith { value, .. }
        | PredicateFuncValue::EndWith { value, .. }
        | PredicateFuncValue::Contain { value, .. }
        | PredicateFuncValue::Include { value, .. }
        | PredicateFuncValue::Match { value, .. } => {
            Some(eval_predicate_value(value, vars, file_dir)?)
        }
        _ => None,
    };
    let holds = predicate_holds(
        func,
        actual,
        expected.as_ref(),
        predicate.predicate_func.source_info,
    )?;
    let name = func.identifier();
    let expected_text = match &expected {
        Some(e) => format!(
            "{}{name} {}",
            if predicate.not { "not " } else { "" },
            e.repr()
        ),
        None => format!("{}{name}", if predicate.not { "not " } else { "" }),
    };
    let actual_text = actual
        .map(Value::repr)
        .unwrap_or_else(|| "none".to_string());
    // With no value, only `exists` can be decided; `not` does not turn "nothing to compare" into a pass.
    let ok = match (actual, func) {
        (None, PredicateFuncValue::Exist) => predicate.not,
        (None, _) => false,
        (Some(_), _) => holds != predicate.not,
    };
    Ok(if ok {
        Ok(())
    } else {
        Err(format!("actual: {actual_text}, expected: {expected_text}"))
    })
}

fn predicate_holds(
    func: &PredicateFuncValue,
    actual: Option<&Value>,
    expected: Option<&Value>,
    at: SourceInfo,
) -> Result<bool, EvalError> {
    let Some(actual) = actual else {
        return Ok(false);
    };
    let expected_value = || expected.cloned().unwrap_or(Value::Null);
    Ok(match func {
        PredicateFuncValue::Equal { .. } => equal(actual, &expected_value()),
        PredicateFuncValue::NotEqual { .. } => !equal(actual, &expected_value()),
        PredicateFuncValue::GreaterThan { .. } => {
            compare(actual, &expected_value()).is_some_and(|o| o.is_gt())
        }
        PredicateFuncValue::GreaterThanOrEqual { .. } => {
            compare(actual, &expected_value()).is_some_and(|o| o.is_ge())
        }
        PredicateFuncValue::LessThan { .. } => {
            compare(actual, &expected_value()).is_some_and(|o| o.is_lt())
        }
        PredicateFuncValue::LessThanOrEqual { .. } => {
            compare(actual, &expected_value()).is_some_and(|o| o.is_le())
        }
        PredicateFuncValue::StartWith { .. } => match (actual, &expected_value()) {
            (Value::String(a), Value::String(e)) => a.starts_with(e.as_str()),
            (Value::Bytes(a), Value::Bytes(e)) => a.starts_with(e),
            _ => false,
        },
        PredicateFuncValue::EndWith { .. } => match (actual, &expected_value()) {
            (Value::String(a), Value::String(e)) => a.ends_with(e.as_str()),
            (Value::Bytes(a), Value::Bytes(e)) => a.ends_with(e),
            _ => false,
        },
        PredicateFuncValue::Contain { .. } | PredicateFuncValue::Include { .. } => {
            match (actual, &expected_value()) {
                (Value::String(a), Value::String(e)) => a.contains(e.as_str()),
                (Value::Bytes(a), Value::Bytes(e)) => {
                    e.is_empty() || a.windows(e.len()).any(|w| w == e.as_slice())
                }
                (Value::List(items), e) => items.iter().any(|i| equal(i, e)),
                _ => false,
            }
        }
        PredicateFuncValue::Match { .. } => {
            let regex = match expected_value() {
                Value::Regex(r) => r.0,
                Value::String(s) => regex::Regex::new(&s)
                    .map_err(|e| err(at, format!("invalid regex `{s}`: {e}")))?,
                other => {
                    return Err(err(
                        at,
                        format!("matches needs a regex, not a {}", other.kind()),
                    ));
                }
            };
            match actual {
                Value::String(a) => regex.is_match(a),
                _ => false,
            }
        }
        PredicateFuncValue::Exist => !matches!(actual, Value::Nodeset(0)),
        PredicateFuncValue::IsBoolean => matches!(actual, Value::Bool(_)),
        PredicateFuncValue::IsCollection => {
            matches!(
                actual,
                Value::List(_) | Value::Object(_) | Value::Bytes(_) | Value::Nodeset(_)
            )
        }
        PredicateFuncValue::IsDate => matches!(actual, Value::Date(_)),
        PredicateFuncValue::IsEmpty => match actual {
            Value::List(items) => items.is_empty(),
            Value::Object(fields) => fields.is_empty(),
            Value::String(s) => s.is_empty(),
            Value::Bytes(b) => b.is_empty(),
            Value::Nodeset(n) => *n == 0,
            _ => false,
        },
        PredicateFuncValue::IsFloat => matches!(actual, Value::Float(_)),
        PredicateFuncValue::IsInteger => matches!(actual, Value::Integer(_) | Value::BigInteger(_)),
        PredicateFuncValue::IsIpv4 => {
            matches!(actual, Value::String(s) if s.parse::<std::net::Ipv4Addr>().is_ok())
        }
        PredicateFuncValue::IsIpv6 => {
            matches!(actual, Value::String(s) if s.parse::<std::net::Ipv6Addr>().is_ok())
        }
        PredicateFuncValue::IsIsoDate => {
            matches!(actual, Value::String(s) if DateTime::parse_from_rfc3339(s).is_ok())
        }
        PredicateFuncValue::IsList => matches!(actual, Value::List(_)),
        PredicateFuncValue::IsNumber => actual.is_number(),
        PredicateFuncValue::IsObject => matches!(actual, Value::Object(_)),
        PredicateFuncValue::IsString => matches!(actual, Value::String(_)),
        PredicateFuncValue::IsUuid => {
            matches!(actual, Value::String(s) if s.len() == 36 && uuid::Uuid::parse_str(s).is_ok())
        }
    })
}

/// A JSON body as written, whitespace kept, with placeholders rendered (strings JSON-escaped).
pub(crate) fn json_text(
    value: &JsonValue,
    vars: &Variables,
    keep_ws: bool,
) -> Result<String, EvalError> {
    Ok(match value {
        JsonValue::Null => "null".to_string(),
        JsonValue::Boolean(b) => b.to_string(),
        JsonValue::Number(n) => n.clone(),
        JsonValue::String(t) => format!("\"{}\"", json_string(t, vars)?),
        JsonValue::List { space0, elements } => {
            let mut parts = Vec::new();
            for e in elements {
                let inner = json_text(&e.value, vars, keep_ws)?;
                parts.push(if keep_ws {
                    format!("{}{inner}{}", e.space0, e.space1)
                } else {
                    inner
                });
            }
            format!(
                "[{}{}]",
                if keep_ws { space0.as_str() } else { "" },
                parts.join(",")
            )
        }
        JsonValue::Object { space0, elements } => {
            let mut parts = Vec::new();
            for e in elements {
                let name = json_string(&e.name, vars)?;
                let inner = json_text(&e.value, vars, keep_ws)?;
                parts.push(if keep_ws {
                    format!(
                        "{}\"{name}\"{}:{}{inner}{}",
                        e.space0, e.space1, e.space2, e.space3
                    )
                } else {
                    format!("\"{name}\":{inner}")
                });
            }
            format!(
                "{{{}{}}}",
                if keep_ws { space0.as_str() } else { "" },
                parts.join(",")
            )
        }
        JsonValue::Placeholder(p) => {
            let value = eval_expr(&p.expr, vars)?;
            match value {
                Value::String(s) if serde_json::from_str::<serde_json::Number>(&s).is_ok() => s,
                Value::String(s) => {
                    return Err(EvalError::new(
                        p.expr.source_info,
                        format!("`{s}` is not a JSON value; put the placeholder in quotes"),
                    ));
                }
                other => other.render(),
            }
        }
    })
}

/// A JSON string's inside: literal parts as written (escapes kept), placeholders JSON-escaped.
fn json_string(template: &Template, vars: &Variables) -> Result<String, EvalError> {
    let mut out = String::new();
    for element in &template.elements {
        match element {
            TemplateElement::String { source, .. } => out.push_str(source.as_str()),
            TemplateElement::Placeholder(p) => {
                let text = crate::vars::render_placeholder(p, vars)?;
                for c in text.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_entities_decode_named_decimal_and_hex_forms() {
        assert_eq!(html_unescape("a &gt; b &amp;&amp; c"), "a > b && c");
        assert_eq!(html_unescape("&#xA9; &#x1D306; &#65 foo"), "© 𝌆 A foo");
        assert_eq!(html_unescape("&unknown; &"), "&unknown; &");
    }

    #[test]
    fn url_encoding_keeps_unreserved_characters_and_slashes() {
        assert_eq!(
            url_encode("https://a.b/?x=ш"),
            "https%3A//a.b/%3Fx%3D%D1%88"
        );
    }

    #[test]
    fn dates_parse_with_or_without_zone_and_time() {
        let with_zone = parse_date("2020-08-27T09:07:46+0200", "%Y-%m-%dT%H:%M:%S%z");
        assert_eq!(
            with_zone.map(|d| d.to_rfc3339()),
            Some("2020-08-27T07:07:46+00:00".into())
        );
        let day = parse_date("2020-08-27", "%Y-%m-%d");
        assert_eq!(
            day.map(|d| d.to_rfc3339()),
            Some("2020-08-27T00:00:00+00:00".into())
        );
        assert!(parse_date("yesterday", "%Y-%m-%d").is_none());
    }

    #[test]
    fn body_text_follows_the_declared_charset() {
        let ctx = QueryContext {
            headers: vec![("Content-Type".into(), "text/html; CHARSET=latin1".into())],
            body: vec![0x63, 0x61, 0x66, 0xe9],
            ..QueryContext::default()
        };
        assert_eq!(ctx.text().as_deref(), Ok("café"));
        let invalid = QueryContext {
            body: vec![0xff],
            ..QueryContext::default()
        };
        assert!(invalid.text().is_err());
    }
}
