//! The manifest's `[ai]` table: the AI assistant a site puts in front of members (onboarding, support), how to
//! talk to it, what it must never reveal, which of its tools are dangerous and when it must hand over to a human.
//! `launchready ai-probe` reads it; the format is documented in `docs/ai-probe.md`.

use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// A validated `[ai]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ai {
    /// Where prompts are sent (POST).
    pub endpoint: url::Url,
    pub format: AiFormat,
    /// The `model` field of an OpenAI-style request.
    pub model: Option<String>,
    /// The request body for `json` and `form`, with a `{{prompt}}` slot (and optionally `{{session}}`).
    pub body: Option<String>,
    /// How the assistant's reply is read from the response.
    pub extract: Extract,
    pub auth: Option<AiAuth>,
    /// Every tool the assistant may call.
    pub tools: Vec<String>,
    /// The tools that move money or change an account: calling one without verification is a finding.
    pub sensitive_tools: Vec<String>,
    /// Values planted in the system prompt or knowledge base that must never come back.
    pub canaries: Vec<String>,
    /// Built-in kinds of data that must never come back.
    pub never_reveal: Vec<NeverReveal>,
    /// Extra patterns (regular expressions) that must never match a reply.
    pub never_reveal_patterns: Vec<String>,
    /// Addresses the assistant may say (support@, the probing member's own): not a leak.
    pub allowed_emails: Vec<String>,
    /// Hosts whose URLs are internal (an admin panel, a staging API), besides private and loopback addresses.
    pub internal_hosts: Vec<String>,
    /// The tool call that hands a conversation to a human, e.g. `handoff_to_human`.
    pub escalation_tool: Option<String>,
    /// Phrases that count as handing over when no tool is called (matched case-insensitively).
    pub escalation_phrases: Vec<String>,
    /// The situations that must be handed over.
    pub escalate_for: Vec<EscalationTrigger>,
    /// A real (test) member's name to ask about in the other-member probes.
    pub other_member: Option<String>,
    /// Requests at most per run (the command line may lower it).
    pub max_requests: Option<u32>,
    /// Pause between requests.
    pub delay: Option<Duration>,
    /// Per request.
    pub timeout: Option<Duration>,
    pub judge: Option<Judge>,
}

/// How prompts are wrapped into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AiFormat {
    /// `{"model": …, "messages": [{"role": "user", "content": …}, …]}`; the whole conversation is sent each turn.
    OpenAi,
    /// A JSON body from `body`; the `{{prompt}}` slot is filled with a JSON string.
    Json,
    /// A form body (`application/x-www-form-urlencoded`) from `body`; the slot is filled URL-encoded.
    Form,
}

impl AiFormat {
    pub const NAMES: [&'static str; 3] = ["openai", "json", "form"];

    pub fn as_str(self) -> &'static str {
        match self {
            AiFormat::OpenAi => "openai",
            AiFormat::Json => "json",
            AiFormat::Form => "form",
        }
    }
}

/// Where the reply text is in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "expr")]
pub enum Extract {
    /// An RFC 9535 JSONPath, e.g. `$.choices[0].message.content`.
    JsonPath(String),
    /// A regular expression over the body; its first group (or the whole match) is the reply.
    Regex(String),
}

/// A secret read from the environment at run time, sent as `header: prefix + value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AiAuth {
    pub env: String,
    pub header: String,
    pub prefix: String,
}

/// A built-in kind of data that must never appear in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NeverReveal {
    /// E-mail addresses other than `allowed_emails` (other members').
    Emails,
    /// Strings shaped like API keys and tokens.
    ApiKeys,
    /// URLs on private, loopback or `internal_hosts` hosts.
    InternalUrls,
}

impl NeverReveal {
    pub const ALL: [NeverReveal; 3] = [
        NeverReveal::Emails,
        NeverReveal::ApiKeys,
        NeverReveal::InternalUrls,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NeverReveal::Emails => "emails",
            NeverReveal::ApiKeys => "api_keys",
            NeverReveal::InternalUrls => "internal_urls",
        }
    }
}

/// A situation the assistant must hand to a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationTrigger {
    BillingDispute,
    SelfHarm,
    LegalThreat,
    AccountTakeover,
}

impl EscalationTrigger {
    pub const ALL: [EscalationTrigger; 4] = [
        EscalationTrigger::BillingDispute,
        EscalationTrigger::SelfHarm,
        EscalationTrigger::LegalThreat,
        EscalationTrigger::AccountTakeover,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EscalationTrigger::BillingDispute => "billing_dispute",
            EscalationTrigger::SelfHarm => "self_harm",
            EscalationTrigger::LegalThreat => "legal_threat",
            EscalationTrigger::AccountTakeover => "account_takeover",
        }
    }

    pub fn parse(name: &str) -> Option<EscalationTrigger> {
        EscalationTrigger::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

impl fmt::Display for EscalationTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An optional second model that judges the cases plain detectors cannot decide. Off unless `enabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judge {
    /// An OpenAI-style chat completions URL.
    pub endpoint: url::Url,
    pub model: Option<String>,
    pub auth_env: Option<String>,
    pub enabled: bool,
}
