//! The assistant's wire format: builds each request from the manifest's template (OpenAI-style chat, or a JSON or
//! form body with a `{{prompt}}` slot), and reads the reply back (JSONPath or regex, as flow captures do) together
//! with any tool calls the response carries as function-call JSON.

use crate::Error;
use launchready_manifest::{Ai, AiFormat, Extract};
use launchready_net::HttpRequest;
use serde::Serialize;
use serde_json::{Value, json};

/// The most of a reply kept for detection and transcripts; a runaway answer is cut, not buffered whole.
const MAX_REPLY_CHARS: usize = 64 * 1024;

/// One message of the conversation so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
}

/// A tool the assistant asked to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolCall {
    pub name: String,
    /// The arguments as JSON text (empty when none were given).
    pub arguments: String,
}

/// What one request brought back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
}

enum Extractor {
    Path(serde_json_path::JsonPath),
    Regex(regex::Regex),
}

/// How to talk to one assistant, ready to use.
pub struct Endpoint {
    url: url::Url,
    format: AiFormat,
    model: Option<String>,
    body: Option<String>,
    extractor: Extractor,
    auth: Option<(String, String)>,
    tools: Vec<String>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The auth header's value is a secret: never in debug output.
        f.debug_struct("Endpoint")
            .field("url", &self.url.as_str())
            .field("format", &self.format)
            .finish()
    }
}

impl Endpoint {
    /// Checks what the manifest could not (the JSONPath, the JSON body) and reads the auth token from the
    /// environment; `file` names the manifest in errors.
    pub fn new(ai: &Ai, file: &str) -> Result<Endpoint, Error> {
        let config = |message: String| Error::Config {
            file: file.to_string(),
            message,
        };
        let extractor = match &ai.extract {
            Extract::JsonPath(path) => Extractor::Path(
                serde_json_path::JsonPath::parse(path)
                    .map_err(|e| config(format!("[ai] extract `{path}` is not a JSONPath: {e}")))?,
            ),
            Extract::Regex(regex) => Extractor::Regex(
                regex::Regex::new(regex)
                    .map_err(|e| config(format!("[ai] extract_regex `{regex}`: {e}")))?,
            ),
        };
        let auth = match &ai.auth {
            None => None,
            Some(auth) => {
                let token = std::env::var(&auth.env).map_err(|_| {
                    config(format!(
                        "[ai] auth_env names {}, which is not set in the environment",
                        auth.env
                    ))
                })?;
                Some((auth.header.clone(), format!("{}{token}", auth.prefix)))
            }
        };
        let endpoint = Endpoint {
            url: ai.endpoint.clone(),
            format: ai.format,
            model: ai.model.clone(),
            body: ai.body.clone(),
            extractor,
            auth,
            tools: ai.tools.clone(),
        };
        if ai.format == AiFormat::Json {
            let sample = endpoint.body_text("probe", "session");
            serde_json::from_slice::<Value>(&sample).map_err(|e| {
                config(format!(
                    "[ai] body is not JSON once {{{{prompt}}}} is filled in: {e}"
                ))
            })?;
        }
        Ok(endpoint)
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }

    fn body_text(&self, prompt: &str, session: &str) -> Vec<u8> {
        let template = self.body.as_deref().unwrap_or_default();
        match self.format {
            AiFormat::OpenAi => Vec::new(),
            AiFormat::Json => {
                let prompt = json_string(prompt);
                let session = json_string(session);
                // A slot written inside quotes ("{{prompt}}") and a bare one both become one JSON string.
                template
                    .replace("\"{{prompt}}\"", &prompt)
                    .replace("{{prompt}}", &prompt)
                    .replace("\"{{session}}\"", &session)
                    .replace("{{session}}", &session)
                    .into_bytes()
            }
            AiFormat::Form => {
                let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
                let prompt: String = encode(prompt);
                let session: String = encode(session);
                template
                    .replace("{{prompt}}", &prompt)
                    .replace("{{session}}", &session)
                    .into_bytes()
            }
        }
    }

    /// The request for the next turn. OpenAI-style requests carry the whole conversation; templated bodies carry
    /// only the new prompt and the session id (the assistant keeps the history server-side).
    pub fn request(&self, history: &[Message], prompt: &str, session: &str) -> HttpRequest {
        let (content_type, body) = match self.format {
            AiFormat::OpenAi => {
                let mut messages: Vec<Value> = history
                    .iter()
                    .map(|m| json!({"role": m.role, "content": m.content}))
                    .collect();
                messages.push(json!({"role": "user", "content": prompt}));
                let mut body = json!({"messages": messages});
                if let Some(model) = &self.model {
                    body["model"] = json!(model);
                }
                ("application/json", body.to_string().into_bytes())
            }
            AiFormat::Json => ("application/json", self.body_text(prompt, session)),
            AiFormat::Form => (
                "application/x-www-form-urlencoded",
                self.body_text(prompt, session),
            ),
        };
        let mut headers = vec![
            ("Content-Type".to_string(), content_type.to_string()),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        if let Some((name, value)) = &self.auth {
            headers.push((name.clone(), value.clone()));
        }
        HttpRequest {
            method: "POST".to_string(),
            url: self.url.clone(),
            headers,
            body,
            insecure: false,
        }
    }

    /// Reads the reply and tool calls out of a response; `Err` says why nothing could be read.
    pub fn reply(&self, status: u16, body: &[u8]) -> Result<Reply, String> {
        let text = String::from_utf8_lossy(body);
        if !(200..300).contains(&status) {
            return Err(format!("HTTP {status}: {}", excerpt(&text, 200)));
        }
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let reply = match &self.extractor {
            Extractor::Path(path) => {
                let json = parsed
                    .as_ref()
                    .ok_or_else(|| format!("the response is not JSON: {}", excerpt(&text, 200)))?;
                match path.query(json).first() {
                    Some(Value::String(s)) => s.clone(),
                    // OpenAI-style replies that only call a tool have `content: null`.
                    Some(Value::Null) | None if has_tool_calls(json) => String::new(),
                    Some(other) => other.to_string(),
                    None => {
                        return Err(format!(
                            "the extract JSONPath matched nothing in {}",
                            excerpt(&text, 200)
                        ));
                    }
                }
            }
            Extractor::Regex(regex) => match regex.captures(&text) {
                Some(caps) => caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default(),
                None => {
                    return Err(format!(
                        "extract_regex matched nothing in {}",
                        excerpt(&text, 200)
                    ));
                }
            },
        };
        let reply = truncate(reply, MAX_REPLY_CHARS);
        let mut tool_calls = Vec::new();
        if let Some(json) = &parsed {
            walk(json, &self.tools, &mut tool_calls);
        }
        embedded_calls(&reply, &self.tools, &mut tool_calls);
        let mut seen = std::collections::HashSet::new();
        tool_calls.retain(|call| seen.insert((call.name.clone(), call.arguments.clone())));
        Ok(Reply {
            text: reply,
            tool_calls,
        })
    }
}

fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn has_tool_calls(json: &Value) -> bool {
    let mut calls = Vec::new();
    walk(json, &[], &mut calls);
    !calls.is_empty()
}

pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Finds function-call JSON anywhere in a value: an object with a string `name` (OpenAI's
/// `tool_calls[].function`, Anthropic's `tool_use`, most home-made formats) that is a declared tool, or that
/// comes with arguments. `tool`/`tool_name` keys count as names too.
fn walk(value: &Value, tools: &[String], out: &mut Vec<ToolCall>) {
    match value {
        Value::Object(map) => {
            let name = ["name", "tool", "tool_name"]
                .iter()
                .find_map(|key| map.get(*key).and_then(Value::as_str));
            let arguments = ["arguments", "parameters", "input", "args"]
                .iter()
                .find_map(|key| map.get(*key));
            if let Some(name) = name
                && (tools.iter().any(|t| t == name) || arguments.is_some())
            {
                let arguments = match arguments {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                out.push(ToolCall {
                    name: name.to_string(),
                    arguments,
                });
            }
            for child in map.values() {
                walk(child, tools, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, tools, out);
            }
        }
        _ => {}
    }
}

/// Function-call JSON written into the reply text itself (assistants without native tool calling often do this).
fn embedded_calls(text: &str, tools: &[String], out: &mut Vec<ToolCall>) {
    for (start, _) in text.match_indices('{') {
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        if let Some(Ok(value @ Value::Object(_))) = stream.next() {
            let mut found = Vec::new();
            walk(&value, tools, &mut found);
            // Only named tools: prose with braces must not become a call.
            out.extend(found.into_iter().filter(|c| tools.contains(&c.name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use launchready_manifest::Manifest;

    fn endpoint(ai: &str) -> Endpoint {
        let text = format!("[site]\ndomain = \"example.com\"\n[ai]\n{ai}");
        let manifest = Manifest::parse(&text, std::path::Path::new("t.toml")).unwrap();
        Endpoint::new(manifest.ai.as_ref().unwrap(), "t.toml").unwrap()
    }

    #[test]
    fn openai_requests_carry_the_conversation_and_replies_their_tool_calls() {
        let e = endpoint(
            "endpoint = \"http://127.0.0.1:1/v1/chat/completions\"\nmodel = \"bot\"\ntools = [\"refund\"]\nescalate_for = []\n",
        );
        let history = vec![Message {
            role: "user".into(),
            content: "hi".into(),
        }];
        let request = e.request(&history, "refund me", "s");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["model"], "bot");
        assert_eq!(body["messages"][1]["content"], "refund me");
        let response = json!({"choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "refund", "arguments": "{\"count\":3}"}}
        ]}}]});
        let reply = e.reply(200, response.to_string().as_bytes()).unwrap();
        assert_eq!(reply.text, "");
        assert_eq!(
            reply.tool_calls,
            vec![ToolCall {
                name: "refund".into(),
                arguments: "{\"count\":3}".into()
            }]
        );
    }

    #[test]
    fn json_and_form_templates_fill_the_slot_safely() {
        let e = endpoint(
            "endpoint = \"http://127.0.0.1:1/chat\"\nformat = \"json\"\nbody = '{\"message\": \"{{prompt}}\", \"session\": {{session}}}'\nextract = \"$.reply\"\nescalate_for = []\n",
        );
        let request = e.request(&[], "say \"hi\"\n", "s1");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["message"], "say \"hi\"\n");
        assert_eq!(body["session"], "s1");
        let form = endpoint(
            "endpoint = \"http://127.0.0.1:1/chat\"\nformat = \"form\"\nbody = \"q={{prompt}}&sid={{session}}\"\nextract_regex = '<p class=\"answer\">(.*?)</p>'\nescalate_for = []\n",
        );
        let request = form.request(&[], "a&b c", "s1");
        assert_eq!(request.body, b"q=a%26b+c&sid=s1");
        let reply = form
            .reply(200, b"<html><p class=\"answer\">Hello there</p></html>")
            .unwrap();
        assert_eq!(reply.text, "Hello there");
    }

    #[test]
    fn tool_calls_written_into_the_text_are_found_and_errors_are_explained() {
        let e = endpoint(
            "endpoint = \"http://127.0.0.1:1/chat\"\nformat = \"json\"\nbody = '{\"m\": {{prompt}}}'\nextract = \"$.reply\"\ntools = [\"refund\", \"lookup\"]\nescalate_for = []\n",
        );
        let body = json!({"reply": "Done! {\"tool\": \"refund\", \"args\": {\"n\": 3}} and {braces} in prose"});
        let reply = e.reply(200, body.to_string().as_bytes()).unwrap();
        assert_eq!(reply.tool_calls.len(), 1);
        assert_eq!(reply.tool_calls[0].name, "refund");
        assert!(e.reply(500, b"oops").unwrap_err().contains("HTTP 500"));
        assert!(e.reply(200, b"{}").unwrap_err().contains("matched nothing"));
    }
}
