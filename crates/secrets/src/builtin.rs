//! launchready's own ruleset: one `Spec` per credential format a launching web product is likely to leak, each with
//! the examples it must find and the near-misses it must not, so every rule is tested as data.
//!
//! Examples are templates, not keys: `{x36}` stands for 36 random characters of class `x` (see `expand` in the
//! tests) and `«…»` marks the expected secret. The repository therefore holds no format-valid key, and scanning
//! launchready with itself stays quiet.
//!
//! Severity: Blocker for live production credentials and private keys, High for most tokens, Medium for weaker or
//! generic detections, Info for test-mode keys.

use launchready_findings::Severity;

use crate::rules::{self, Allowlist, Check, Condition, RegexTarget, Rule};

/// One built-in rule as data.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub id: &'static str,
    pub description: &'static str,
    /// Empty for a path-only rule.
    pub regex: &'static str,
    pub secret_group: Option<usize>,
    pub keywords: &'static [&'static str],
    pub entropy: Option<f32>,
    pub severity: Severity,
    pub path: Option<&'static str>,
    pub check: Option<Check>,
    /// Allowlist regexes on the secret (placeholders, documented example keys).
    pub allow: &'static [&'static str],
    /// Allowlist regexes on the whole match.
    pub allow_match: &'static [&'static str],
    /// Substrings of the secret (case-insensitive) that mark it as not real.
    pub stopwords: &'static [&'static str],
    /// Paths on which the rule never reports.
    pub allow_paths: &'static [&'static str],
    pub require_digit: bool,
    pub once_per_file: bool,
    /// 0 for one format; 1 for a named provider or a bearer header; 2 for any credential name; 3 for a committed
    /// `.env` file (see `Rule::fallback`).
    pub fallback: u8,
    /// Templates that must match; `«…»` marks the expected secret.
    pub examples: &'static [&'static str],
    /// Templates that must not match.
    pub negatives: &'static [&'static str],
}

const BASE: Spec = Spec {
    id: "",
    description: "",
    regex: "",
    secret_group: None,
    keywords: &[],
    entropy: None,
    severity: Severity::High,
    path: None,
    check: None,
    allow: &[],
    allow_match: &[],
    stopwords: &[],
    allow_paths: &[],
    require_digit: false,
    once_per_file: false,
    fallback: 0,
    examples: &[],
    negatives: &[],
};

/// What may stand between a credential's name and its value, as code, config and shell write it: a closing quote or
/// bracket of the name (`"KEY":`, `ENV["KEY"]`, `getenv("KEY"`), then an assignment (`=`, `:=`, `=>`, `:`, `,`),
/// a typed declaration (`: &str =`, `: &'static str =`, `: string =`, `: str =`), an environment fallback
/// (`|| `, `?? `, `?: `, ` or `, `${KEY:-`, `${KEY:=`, `).unwrap_or(`, `).unwrap_or_else(|_| `). After a closing
/// parenthesis only a fallback may follow: `f('name') => '…'` is a call and its result, not an assignment.
macro_rules! bridge {
    () => {
        r#"["'`]?\]?(?:[ \t]{0,3}(?::[ \t]{0,3}&?(?:'static[ \t]+)?[A-Za-z_][A-Za-z0-9_<>\[\]]{0,30}[ \t]{0,3}=|:=|:-|=>|\?\?|\|\||\?:|or[ \t]|[=:,])|\)[ \t]{0,3}(?:\|\||\?\?|\?:|or[ \t]|\.unwrap_or(?:_else)?\((?:\|_\|)?))[ \t]{0,3}"#
    };
}

/// `NAME<bridge>VALUE` with NAME matched case-insensitively by `$name` (plus up to 25 more name characters), any
/// of `bridge!`'s separators, and VALUE (case-sensitive) as group 1.
macro_rules! assign {
    ($name:literal, $value:literal) => {
        concat!(
            r#"(?i)(?:"#,
            $name,
            r#")[\w.-]{0,25}"#,
            bridge!(),
            r#"["'`]?(?-i:("#,
            $value,
            r#"))(?:["'`\s;,)}\]]|\\[nr]|$)"#
        )
    };
}

/// Token end: a non-token character or the end of the buffer (Rust's regex has no lookahead).
macro_rules! token {
    ($body:literal) => {
        concat!(
            r#"(?:^|[^A-Za-z0-9_-])("#,
            $body,
            r#")(?:[^A-Za-z0-9_-]|$)"#
        )
    };
}

/// Values that stand for a secret rather than being one, for keyword-anchored rules.
/// Values that stand for a secret rather than being one: masks, shell and template variables, and format-string
/// slots (`%s`, `%(password)s`, `{}`, `{password}`), which code that builds connection strings is full of.
const PLACEHOLDER: &str = r#"(?i)^(?:x+|\*+|\.+|0+|<[^>]*>|\$\{[^}]*\}|\$\([^)]*\)|\{\{[^}]*\}\}|%[A-Za-z_]+%|\$[A-Za-z_][A-Za-z0-9_]*|%[sdr]|%\([A-Za-z_]+\)[sdr]|\{[A-Za-z0-9_:]*\})$"#;
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "dummy",
    "redacted",
    "xxxxxx",
    "******",
    "sample",
    "insert",
];

/// Environment and config lookups and template expressions: code that fetches a secret, not the secret.
const LOOKUP: &str = r"(?i)^(?:process\.env|os\.environ|os\.getenv|import\.meta\.env|env\.|ENV\[|getenv|config\.|settings\.|secrets\.|vars\.|\$|%|\{\{)";
/// File paths and URLs: where a secret is kept, not the secret.
const PATH_OR_URL: &str = r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\|https?://)|\.(?:pem|key|json|txt|crt|p12|pfx|yaml|yml|env|js|ts)$";
/// A signed JWT (header, payload, signature); the rules that share it tell tokens apart by their payload.
const SIGNED_JWT: &str =
    token!(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}");

pub static SPECS: &[Spec] = &[
    // AWS: access key ids are 20 upper-case base32 characters with a type prefix (AKIA long-term, ASIA STS, ABIA/ACCA
    // other services) — IAM user guide, "Understanding unique ID prefixes". AWS documents AKIAIOSFODNN7EXAMPLE.
    Spec {
        id: "aws.access_key_id",
        description: "AWS access key ID",
        regex: token!(r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
        keywords: &["akia", "asia", "abia", "acca"],
        entropy: Some(3.0),
        allow: &[r"EXAMPLE$"],
        examples: &[
            "aws_access_key_id = «AKIA{B16}»",
            "\"AccessKeyId\": \"«ASIA{B16}»\"",
        ],
        negatives: &[
            "AKIAIOSFODNN7EXAMPLE",
            "AKIA{B15}",
            "XAKIA{B16}",
            "akia{B16}",
        ],
        ..BASE
    },
    // The secret half is 40 base64 characters; it has no prefix, so only a name says what it is.
    Spec {
        id: "aws.secret_access_key",
        description: "AWS secret access key",
        regex: assign!(
            r"aws_?secret|secret_?access_?key|secret-access-key|aws-secret",
            r"[A-Za-z0-9/+]{40}"
        ),
        keywords: &[
            "aws_secret",
            "awssecret",
            "aws-secret",
            "secret_access_key",
            "secretaccesskey",
            "secret-access-key",
        ],
        entropy: Some(4.0),
        severity: Severity::Blocker,
        allow: &[r"EXAMPLE"],
        examples: &[
            "AWS_SECRET_ACCESS_KEY=«{b40}»",
            "aws_secret_access_key: '«{b40}»'",
            "\"SecretAccessKey\": \"«{b40}»\",",
        ],
        negatives: &[
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SECRET_ACCESS_KEY={b39}",
            "AWS_SECRET_ACCESS_KEY=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ],
        ..BASE
    },
    // Google Cloud service-account key files (JSON with "type": "service_account" and an embedded PKCS#8 key).
    Spec {
        id: "gcp.service_account_key",
        description: "Google Cloud service-account key file",
        regex: r#"(?s)"type"\s*:\s*"service_account".{0,1024}?"private_key"\s*:\s*"-----BEGIN (?:RSA )?PRIVATE KEY-----(?:\\n|\s)+([A-Za-z0-9+/=]{40})"#,
        keywords: &["service_account"],
        severity: Severity::Blocker,
        examples: &[
            "{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-123\",\n  \"private_key_id\": \"{h40}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n«{b40}»{b24}\\n-----END PRIVATE KEY-----\\n\",\n}",
        ],
        negatives: &[
            "{\"type\": \"authorized_user\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{b64}\"}",
            "{\"type\": \"service_account\", \"client_email\": \"a@b.iam.gserviceaccount.com\"}",
        ],
        ..BASE
    },
    // Google API keys: "AIza" + 35 characters (Google Cloud docs, "API keys"). Firebase web configs ship them to
    // browsers by design, so a match is Medium: it matters only when the key is unrestricted.
    Spec {
        id: "gcp.api_key",
        description: "Google API key",
        regex: token!(r"AIza[0-9A-Za-z_-]{35}"),
        keywords: &["aiza"],
        entropy: Some(3.5),
        severity: Severity::Medium,
        examples: &["apiKey: \"«AIza{u35}»\","],
        negatives: &["AIza{u34}", "AIzaxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
        ..BASE
    },
    // Azure Storage: account keys are 64 random bytes in base64 (88 characters ending "=="), usually inside a
    // connection string (Azure docs, "Configure Azure Storage connection strings").
    Spec {
        id: "azure.storage_connection_string",
        description: "Azure Storage connection string with an account key",
        regex: r"(?i)DefaultEndpointsProtocol=https?;AccountName=[a-z0-9]{3,24};AccountKey=(?-i:([A-Za-z0-9+/]{86}==))",
        keywords: &["accountkey="],
        severity: Severity::Blocker,
        examples: &[
            "AZURE_STORAGE=DefaultEndpointsProtocol=https;AccountName=launchdemo;AccountKey=«{b86}==»;EndpointSuffix=core.windows.net",
        ],
        negatives: &[
            "DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=<key>;",
            "UseDevelopmentStorage=true",
        ],
        ..BASE
    },
    Spec {
        id: "azure.storage_account_key",
        description: "Azure Storage account key",
        regex: assign!(
            r"azure[\w.-]{0,20}(?:key|secret)|storage_?account_?key",
            r"[A-Za-z0-9+/]{86}=="
        ),
        keywords: &["azure", "storage_account_key", "storageaccountkey"],
        entropy: Some(4.5),
        severity: Severity::High,
        examples: &["AZURE_STORAGE_KEY=«{b86}==»"],
        negatives: &["AZURE_STORAGE_KEY={b40}=="],
        ..BASE
    },
    // GitHub: classic tokens are a 3-letter type prefix + "_" + 36 base62 characters (ghp personal, gho OAuth, ghu
    // user-to-server, ghs server-to-server, ghr refresh) — GitHub blog, "Behind GitHub's new authentication token
    // formats" (2021). Fine-grained PATs are "github_pat_" + 82 characters.
    Spec {
        id: "github.token",
        description: "GitHub token (personal, OAuth, app or refresh)",
        regex: token!(r"gh[pousr]_[A-Za-z0-9]{36}"),
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        entropy: Some(3.0),
        examples: &[
            "GITHUB_TOKEN=«ghp_{x36}»",
            "token: «ghs_{x36}»",
            "«gho_{x36}»",
            "«ghu_{x36}»",
            "«ghr_{x36}»",
        ],
        negatives: &[
            "ghp_{x35}",
            "ghx_{x36}",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
        ..BASE
    },
    Spec {
        id: "github.fine_grained_pat",
        description: "GitHub fine-grained personal access token",
        regex: token!(r"github_pat_[A-Za-z0-9_]{82}"),
        keywords: &["github_pat_"],
        entropy: Some(3.0),
        examples: &["«github_pat_{x22}_{x59}»"],
        negatives: &["github_pat_{x22}_{x20}"],
        ..BASE
    },
    // GitHub OAuth/GitHub App client secrets are 40 hex characters with no prefix: keyword-anchored.
    Spec {
        id: "github.oauth_client_secret",
        description: "GitHub OAuth or GitHub App client secret",
        regex: assign!(
            r"github[\w.-]{0,20}(?:client_?secret|secret)",
            r"[a-f0-9]{40}"
        ),
        keywords: &["github"],
        entropy: Some(3.0),
        examples: &[
            "GITHUB_CLIENT_SECRET=«{h40}»",
            "github.clientSecret: \"«{h40}»\"",
        ],
        negatives: &[
            "GITHUB_CLIENT_ID=Iv1.{h16}",
            "GITHUB_CLIENT_SECRET=${GITHUB_CLIENT_SECRET}",
        ],
        ..BASE
    },
    // GitLab: every token type has a "gl…-" prefix (GitLab docs, "Token overview", token prefixes table).
    Spec {
        id: "gitlab.token",
        description: "GitLab token",
        regex: token!(
            r"gl(?:pat|dt|ptt|rt|cbt|soat|ffct|imt|agent|oas|ft)-[0-9A-Za-z_-]{20,}(?:\.[0-9A-Za-z_-]+)*"
        ),
        keywords: &[
            "glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glsoat-", "glffct-", "glimt-",
            "glagent-", "gloas-", "glft-",
        ],
        entropy: Some(3.0),
        examples: &[
            "CI_TOKEN=«glpat-{u20}»",
            "«gldt-{u20}»",
            "«glrt-{u27}.01.{l9}»",
        ],
        negatives: &["glpat-{u10}", "glpat-xxxxxxxxxxxxxxxxxxxx"],
        ..BASE
    },
    // Slack: xoxb bot, xoxp user, xoxa/xoxr/xoxe/xoxs other OAuth tokens; xapp app-level tokens (Slack API docs,
    // "Token types").
    Spec {
        id: "slack.token",
        description: "Slack bot, user or OAuth token",
        regex: token!(r"xox[bpaeosr]-(?:[0-9]{8,14}-){1,3}[A-Za-z0-9]{16,64}"),
        keywords: &[
            "xoxb-", "xoxp-", "xoxa-", "xoxe-", "xoxo-", "xoxs-", "xoxr-",
        ],
        entropy: Some(3.0),
        examples: &[
            "SLACK_BOT_TOKEN=«xoxb-{d12}-{d13}-{x24}»",
            "«xoxp-{d12}-{d12}-{d13}-{h32}»",
        ],
        negatives: &["xoxb-123-456-abc", "xoxb-your-token-here"],
        ..BASE
    },
    Spec {
        id: "slack.app_token",
        description: "Slack app-level token",
        regex: token!(r"xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,14}-[a-f0-9]{32,80}"),
        keywords: &["xapp-"],
        entropy: Some(3.0),
        examples: &["SLACK_APP_TOKEN=«xapp-1-A{X10}-{d13}-{h64}»"],
        negatives: &["xapp-1-ABC-123-abc"],
        ..BASE
    },
    // Slack incoming webhooks: hooks.slack.com/services/T…/B…/24 characters; workflow triggers are newer.
    Spec {
        id: "slack.webhook",
        description: "Slack incoming webhook URL",
        regex: r"(https://hooks\.slack\.com/(?:services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{24}|(?:workflows|triggers)/T[A-Z0-9]{6,12}/A[A-Z0-9]{6,12}/[0-9]{10,20}/[A-Za-z0-9]{24,40}))",
        keywords: &["hooks.slack.com"],
        severity: Severity::Medium,
        examples: &["SLACK_WEBHOOK=«https://hooks.slack.com/services/T{X9}/B{X9}/{x24}»"],
        negatives: &["https://hooks.slack.com/services/T000/B000/XXXX"],
        ..BASE
    },
    // Discord webhooks: /api/webhooks/<snowflake id>/<68-character token> (Discord developer docs, "Webhook").
    Spec {
        id: "discord.webhook",
        description: "Discord webhook URL",
        regex: r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/([A-Za-z0-9_-]{60,68})",
        secret_group: Some(1),
        keywords: &["discord"],
        severity: Severity::Medium,
        examples: &["DISCORD_WEBHOOK=https://discord.com/api/webhooks/{d19}/«{u68}»"],
        negatives: &["https://discord.com/api/webhooks/123/abc"],
        ..BASE
    },
    // Discord bot tokens: base64(user id) "." 6 chars "." HMAC; no prefix, so keyword-anchored.
    Spec {
        id: "discord.bot_token",
        description: "Discord bot token",
        regex: assign!(
            r"discord[\w.-]{0,20}(?:token|secret|key)",
            r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}"
        ),
        keywords: &["discord"],
        entropy: Some(3.5),
        examples: &["DISCORD_BOT_TOKEN=«M{u25}.{u6}.{u38}»"],
        negatives: &["DISCORD_BOT_TOKEN=your-bot-token"],
        ..BASE
    },
    // Stripe: sk_/rk_ (secret, restricted) with live_/test_, webhook signing secrets whsec_ (Stripe docs, "API keys").
    Spec {
        id: "stripe.live_secret_key",
        description: "Stripe live secret key",
        regex: token!(r"sk_live_[0-9A-Za-z]{24,247}"),
        keywords: &["sk_live_"],
        entropy: Some(3.0),
        severity: Severity::Blocker,
        examples: &[
            "STRIPE_SECRET_KEY=«sk_live_{x24}»",
            "stripe.api_key = '«sk_live_{x99}»'",
        ],
        negatives: &[
            "sk_live_{x10}",
            "pk_live_{x24}",
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
        ],
        ..BASE
    },
    Spec {
        id: "stripe.live_restricted_key",
        description: "Stripe live restricted key",
        regex: token!(r"rk_live_[0-9A-Za-z]{24,247}"),
        keywords: &["rk_live_"],
        entropy: Some(3.0),
        severity: Severity::Blocker,
        examples: &["«rk_live_{x24}»"],
        negatives: &["rk_live_{x8}"],
        ..BASE
    },
    Spec {
        id: "stripe.webhook_secret",
        description: "Stripe webhook signing secret",
        regex: token!(r"whsec_[A-Za-z0-9+/=]{32,}"),
        keywords: &["whsec_"],
        entropy: Some(3.0),
        examples: &["STRIPE_WEBHOOK_SECRET=«whsec_{x32}»"],
        negatives: &["whsec_{x12}"],
        ..BASE
    },
    Spec {
        id: "stripe.test_secret_key",
        description: "Stripe test-mode secret key (no real money, but still an account credential)",
        regex: token!(r"[sr]k_test_[0-9A-Za-z]{24,247}"),
        keywords: &["sk_test_", "rk_test_"],
        entropy: Some(3.0),
        severity: Severity::Info,
        examples: &["STRIPE_KEY=«sk_test_{x24}»"],
        negatives: &["pk_test_{x24}"],
        ..BASE
    },
    // PayPal/Braintree: access_token$<env>$<merchant id>$<32 hex> (Braintree docs, "Access tokens").
    Spec {
        id: "paypal.braintree_access_token",
        description: "PayPal Braintree access token",
        regex: r"(access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})",
        keywords: &["access_token$"],
        examples: &["BT_TOKEN=«access_token$production${l16}${h32}»"],
        negatives: &["access_token$production$abc$def"],
        ..BASE
    },
    // Square: access tokens "EAAA" + 60 (current) or "sq0atp-" + 22 (legacy); OAuth secrets "sq0csp-" + 43
    // (Square developer docs, "Access tokens").
    Spec {
        id: "square.access_token",
        description: "Square access token",
        regex: token!(r"EAAA[A-Za-z0-9_-]{60}|sq0atp-[0-9A-Za-z_-]{22}"),
        keywords: &["eaaa", "sq0atp-"],
        entropy: Some(3.5),
        examples: &["SQUARE_ACCESS_TOKEN=«EAAA{u60}»", "«sq0atp-{u22}»"],
        negatives: &["EAAA{u30}", "sq0atp-{u10}"],
        ..BASE
    },
    Spec {
        id: "square.oauth_secret",
        description: "Square OAuth application secret",
        regex: token!(r"sq0csp-[0-9A-Za-z_-]{43}"),
        keywords: &["sq0csp-"],
        entropy: Some(3.5),
        examples: &["«sq0csp-{u43}»"],
        negatives: &["sq0csp-{u20}"],
        ..BASE
    },
    // Twilio: API key SIDs "SK" + 32 hex (secret alongside), auth tokens 32 hex next to an "AC" account SID (Twilio
    // docs, "API keys" and "Auth tokens"). Neither has a distinctive prefix, so both need "twilio" nearby: the
    // keyword window is the proximity test.
    Spec {
        id: "twilio.api_key",
        description: "Twilio API key",
        regex: token!(r"SK[0-9a-fA-F]{32}"),
        keywords: &["twilio"],
        entropy: Some(3.0),
        examples: &["TWILIO_API_KEY=«SK{h32}»"],
        negatives: &["SK{h32} with no provider named"],
        ..BASE
    },
    Spec {
        id: "twilio.auth_token",
        description: "Twilio auth token",
        regex: assign!(
            r"twilio[\w.-]{0,20}(?:auth_?token|token|secret)|auth_?token",
            r"[a-f0-9]{32}"
        ),
        keywords: &["twilio"],
        entropy: Some(3.0),
        examples: &["TWILIO_ACCOUNT_SID=AC{h32}\nTWILIO_AUTH_TOKEN=«{h32}»"],
        negatives: &["AUTH_TOKEN={h32} for some other service"],
        ..BASE
    },
    // SendGrid: "SG." + 22 + "." + 43 base64url (SendGrid docs, "API keys").
    Spec {
        id: "sendgrid.api_key",
        description: "SendGrid API key",
        regex: token!(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
        keywords: &["sg."],
        entropy: Some(3.5),
        examples: &["SENDGRID_API_KEY=«SG.{u22}.{u43}»"],
        negatives: &["SG.{u22}.{u10}"],
        ..BASE
    },
    // Mailgun: legacy "key-" + 32 hex, current private API keys 32 hex + "-" + 8 hex + "-" + 8 hex (Mailgun docs,
    // "API keys").
    Spec {
        id: "mailgun.api_key",
        description: "Mailgun API key",
        regex: token!(r"key-[0-9a-f]{32}"),
        keywords: &["key-"],
        entropy: Some(3.2),
        examples: &["MAILGUN_API_KEY=«key-{h32}»"],
        negatives: &["key-00000000000000000000000000000000", "monkey-{h12}"],
        ..BASE
    },
    Spec {
        id: "mailgun.private_api_key",
        description: "Mailgun private API key",
        regex: token!(r"[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}"),
        keywords: &["mailgun"],
        entropy: Some(3.2),
        examples: &["MAILGUN_API_KEY=«{h32}-{h8}-{h8}»"],
        negatives: &["{h32}-{h8}-{h8} without the provider"],
        ..BASE
    },
    // Postmark server and account tokens are UUIDs (Postmark docs, "API authentication"): only the name tells.
    Spec {
        id: "postmark.server_token",
        description: "Postmark server or account API token",
        regex: assign!(
            r"postmark",
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        ),
        keywords: &["postmark"],
        entropy: Some(3.0),
        examples: &[
            "POSTMARK_SERVER_TOKEN=«{h8}-{h4}-{h4}-{h4}-{h12}»",
            "postmarkApiToken: '«{h8}-{h4}-{h4}-{h4}-{h12}»'",
        ],
        negatives: &[
            "POSTMARK_SERVER_TOKEN=POSTMARK_API_TEST",
            "REQUEST_ID={h8}-{h4}-{h4}-{h4}-{h12}",
        ],
        ..BASE
    },
    // Resend: "re_" + 8 + "_" + 24 base62 (as shown in the Resend dashboard).
    Spec {
        id: "resend.api_key",
        description: "Resend API key",
        regex: token!(r"re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}"),
        keywords: &["re_"],
        entropy: Some(3.0),
        examples: &["RESEND_API_KEY=«re_{x8}_{x24}»"],
        negatives: &["are_{x8}_{x24}", "re_{x8}_{x10}"],
        ..BASE
    },
    // Mailchimp: 32 hex + "-us" + data-centre number (Mailchimp docs, "About API keys").
    Spec {
        id: "mailchimp.api_key",
        description: "Mailchimp API key",
        regex: token!(r"[0-9a-f]{32}-us[0-9]{1,2}"),
        keywords: &["-us"],
        entropy: Some(3.0),
        examples: &["MAILCHIMP_KEY=«{h32}-us21»"],
        negatives: &["{h20}-us21", "{h32}-usa"],
        ..BASE
    },
    // OpenAI: keys embed "T3BlbkFJ" (base64 of "OpenAI"); project keys are "sk-proj-…", service accounts
    // "sk-svcacct-…", admin keys "sk-admin-…".
    Spec {
        id: "openai.api_key",
        description: "OpenAI API key",
        regex: token!(
            r"sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{80,250}"
        ),
        keywords: &["t3blbkfj", "sk-proj-", "sk-svcacct-", "sk-admin-"],
        entropy: Some(3.5),
        examples: &[
            "OPENAI_API_KEY=«sk-{x20}T3BlbkFJ{x20}»",
            "«sk-proj-{u74}T3BlbkFJ{u74}»",
            "«sk-proj-{u120}»",
        ],
        negatives: &["sk-proj-{u20}", "sk-ant-api03-{u93}AA"],
        ..BASE
    },
    // Anthropic: "sk-ant-api03-" + 93 + "AA", admin keys "sk-ant-admin01-".
    Spec {
        id: "anthropic.api_key",
        description: "Anthropic API key",
        regex: token!(r"sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA"),
        keywords: &["sk-ant-"],
        entropy: Some(3.5),
        examples: &["ANTHROPIC_API_KEY=«sk-ant-api03-{u93}AA»"],
        negatives: &["sk-ant-api03-{u20}AA"],
        ..BASE
    },
    // Hugging Face user access tokens: "hf_" + 34 letters (Hugging Face docs, "User access tokens").
    Spec {
        id: "huggingface.token",
        description: "Hugging Face access token",
        regex: token!(r"hf_[A-Za-z]{34}"),
        keywords: &["hf_"],
        entropy: Some(3.0),
        examples: &["HF_TOKEN=«hf_{L34}»"],
        negatives: &["hf_{L20}", "hf_hub_download_this_is_a_long_name"],
        ..BASE
    },
    // Supabase: the legacy service_role key is a JWT whose payload says role "service_role" (it bypasses row-level
    // security); the anon key is the same shape and public. New-style secret keys are "sb_secret_…" (Supabase
    // docs, "Understanding API keys").
    Spec {
        id: "supabase.service_role_key",
        description: "Supabase service_role key (bypasses row-level security)",
        regex: SIGNED_JWT,
        keywords: &["eyj"],
        check: Some(jwt_is_service_role),
        severity: Severity::Blocker,
        examples: &["SUPABASE_SERVICE_ROLE_KEY=«{jwt:service_role}»"],
        negatives: &["SUPABASE_ANON_KEY={jwt:anon}"],
        ..BASE
    },
    Spec {
        id: "supabase.secret_key",
        description: "Supabase secret API key",
        regex: token!(r"sb_secret_[A-Za-z0-9_-]{20,}"),
        keywords: &["sb_secret_"],
        entropy: Some(3.0),
        severity: Severity::Blocker,
        examples: &["SUPABASE_SECRET_KEY=«sb_secret_{u31}»"],
        negatives: &["sb_publishable_{u31}"],
        ..BASE
    },
    // Firebase Cloud Messaging legacy server keys: "AAAA" + 7 + ":APA91b" + 134 (Firebase docs, legacy HTTP API).
    Spec {
        id: "firebase.fcm_server_key",
        description: "Firebase Cloud Messaging server key",
        regex: token!(r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134}"),
        keywords: &["apa91b"],
        entropy: Some(3.5),
        examples: &["FCM_SERVER_KEY=«AAAA{u7}:APA91b{u134}»"],
        negatives: &["AAAA{u7}:APA91b{u20}"],
        ..BASE
    },
    // Cloudflare API tokens are 40 base64url characters and global API keys 37 hex, both without prefix.
    Spec {
        id: "cloudflare.api_token",
        description: "Cloudflare API token or global API key",
        regex: assign!(
            r"cloudflare[\w.-]{0,20}(?:token|key|secret)|cf_api_(?:token|key)",
            r"[A-Za-z0-9_-]{40}|[a-f0-9]{37}"
        ),
        keywords: &["cloudflare", "cf_api_"],
        entropy: Some(3.0),
        examples: &["CLOUDFLARE_API_TOKEN=«{u40}»", "CF_API_KEY=«{h37}»"],
        negatives: &[
            "CLOUDFLARE_ZONE_ID={h32}",
            "CLOUDFLARE_API_TOKEN=${{ secrets.CLOUDFLARE_API_TOKEN }}",
        ],
        ..BASE
    },
    // DigitalOcean: "dop_v1_" personal, "doo_v1_" OAuth, "dor_v1_" refresh + 64 hex (DigitalOcean docs, tokens).
    Spec {
        id: "digitalocean.token",
        description: "DigitalOcean token",
        regex: token!(r"do[opr]_v1_[a-f0-9]{64}"),
        keywords: &["dop_v1_", "doo_v1_", "dor_v1_"],
        entropy: Some(3.0),
        examples: &["DIGITALOCEAN_TOKEN=«dop_v1_{h64}»", "«doo_v1_{h64}»"],
        negatives: &["dop_v1_{h20}"],
        ..BASE
    },
    // Heroku: new-format API keys start "HRKU-"; older ones are UUIDs recognisable only by name.
    Spec {
        id: "heroku.api_key",
        description: "Heroku API key",
        regex: token!(r"HRKU-[A-Za-z0-9_-]{60}"),
        keywords: &["hrku-"],
        entropy: Some(3.5),
        examples: &["HEROKU_API_KEY=«HRKU-{u60}»"],
        negatives: &["HRKU-{u20}"],
        ..BASE
    },
    Spec {
        id: "heroku.api_key_legacy",
        description: "Heroku API key (UUID format)",
        regex: assign!(
            r"heroku[\w.-]{0,20}(?:api_?key|key|token|secret)",
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        ),
        keywords: &["heroku"],
        entropy: Some(3.0),
        examples: &["HEROKU_API_KEY=«{h8}-{h4}-{h4}-{h4}-{h12}»"],
        negatives: &["HEROKU_APP_ID={h8}-{h4}-{h4}-{h4}-{h12}"],
        ..BASE
    },
    // Vercel access tokens are 24 base62 characters without prefix.
    Spec {
        id: "vercel.token",
        description: "Vercel access token",
        regex: assign!(
            r"vercel[\w.-]{0,20}(?:token|key|secret)",
            r"[A-Za-z0-9]{24}"
        ),
        keywords: &["vercel"],
        entropy: Some(3.5),
        examples: &["VERCEL_TOKEN=«{x24}»"],
        negatives: &[
            "VERCEL_TOKEN=${{ secrets.VERCEL_TOKEN }}",
            "VERCEL_ORG_ID=team_{x24}",
        ],
        ..BASE
    },
    // Netlify personal access tokens: "nfp_" + 36.
    Spec {
        id: "netlify.token",
        description: "Netlify personal access token",
        // Seen as 36 and as 40 characters after the prefix.
        regex: token!(r"nfp_[A-Za-z0-9]{36,40}"),
        keywords: &["nfp_"],
        entropy: Some(3.0),
        examples: &["NETLIFY_AUTH_TOKEN=«nfp_{x36}»"],
        negatives: &["nfp_{x12}"],
        ..BASE
    },
    // npm access tokens: "npm_" + 36 (npm docs, "About access tokens").
    Spec {
        id: "npm.token",
        description: "npm access token",
        regex: token!(r"npm_[A-Za-z0-9]{36}"),
        keywords: &["npm_"],
        entropy: Some(3.0),
        examples: &["//registry.npmjs.org/:_authToken=«npm_{x36}»"],
        negatives: &["npm_config_cache_directory_with_a_long_name"],
        ..BASE
    },
    // PyPI API tokens are macaroons: "pypi-" + base64 of a header starting "pypi.org" (PyPI docs, "API tokens").
    Spec {
        id: "pypi.token",
        description: "PyPI upload token",
        regex: token!(r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
        keywords: &["pypi-ageichlwas5vcmc"],
        entropy: Some(3.5),
        examples: &["password = «pypi-AgEIcHlwaS5vcmc{u70}»"],
        negatives: &["pypi-AgEIcHlwaS5vcmc{u10}"],
        ..BASE
    },
    // Docker Hub personal access tokens: "dckr_pat_" + 27 (Docker docs, "Access tokens").
    Spec {
        id: "dockerhub.pat",
        description: "Docker Hub personal access token",
        regex: token!(r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{27}"),
        keywords: &["dckr_pat_", "dckr_oat_"],
        entropy: Some(3.0),
        examples: &["DOCKERHUB_TOKEN=«dckr_pat_{u27}»"],
        negatives: &["dckr_pat_{u10}"],
        ..BASE
    },
    // Shopify: shpat_ (Admin API), shpca_ (custom app), shppa_ (private app), shpss_ (shared secret) + 32 hex
    // (Shopify dev docs, "About authentication").
    Spec {
        id: "shopify.access_token",
        description: "Shopify access token",
        regex: token!(r"shp(?:at|ca|pa)_[a-fA-F0-9]{32}"),
        keywords: &["shpat_", "shpca_", "shppa_"],
        entropy: Some(3.0),
        examples: &[
            "SHOPIFY_TOKEN=«shpat_{h32}»",
            "«shpca_{h32}»",
            "«shppa_{h32}»",
        ],
        negatives: &["shpat_{h16}"],
        ..BASE
    },
    Spec {
        id: "shopify.shared_secret",
        description: "Shopify app shared secret",
        regex: token!(r"shpss_[a-fA-F0-9]{32}"),
        keywords: &["shpss_"],
        entropy: Some(3.0),
        examples: &["«shpss_{h32}»"],
        negatives: &["shpss_{h8}"],
        ..BASE
    },
    // PEM and PGP private keys (RFC 7468 labels; RFC 4880 armour), encrypted or not. The match is the whole block;
    // the secret is the first 40 characters of the body. Escaped newlines (`\n` in JSON or .env) count as newlines.
    Spec {
        id: "private_key.pem",
        description: "Private key (PEM, OpenSSH or PGP)",
        regex: r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:\s|\\[nr])+(?:[A-Za-z][A-Za-z0-9-]*:[^\r\n\\]*(?:\r?\n|\\n)+)*(?:\s|\\[nr])*([A-Za-z0-9+/=]{40})[\s\S]*?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----",
        // The whole block is the secret: `--show-secrets` shows a key that can be used as it stands.
        secret_group: Some(0),
        keywords: &["-----begin"],
        severity: Severity::Blocker,
        examples: &[
            "«-----BEGIN RSA PRIVATE KEY-----\n{b40}{b24}\n{b64}\n-----END RSA PRIVATE KEY-----»\n",
            "«-----BEGIN OPENSSH PRIVATE KEY-----\r\n{b40}{b30}\r\n-----END OPENSSH PRIVATE KEY-----»",
            "«-----BEGIN EC PRIVATE KEY-----\n{b40}\n-----END EC PRIVATE KEY-----»",
            "«-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{H32}\n\n{b40}{b24}\n-----END RSA PRIVATE KEY-----»",
            "«-----BEGIN ENCRYPTED PRIVATE KEY-----\n{b40}\n-----END ENCRYPTED PRIVATE KEY-----»",
            "«-----BEGIN DSA PRIVATE KEY-----\n{b40}\n-----END DSA PRIVATE KEY-----»",
            "«-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\nComment: demo\n\n{b40}{b24}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----»",
            "KEY=\"«-----BEGIN PRIVATE KEY-----\\n{b40}{b24}\\n-----END PRIVATE KEY-----»\\n\"",
        ],
        negatives: &[
            "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----",
            "-----BEGIN RSA PRIVATE KEY-----\n{b64}\n(truncated, no end line)",
        ],
        ..BASE
    },
    // Database URLs with an inline password (RFC 3986 userinfo). Placeholder passwords are the norm in docs and
    // compose files, so they are skipped.
    Spec {
        id: "database.url_password",
        description: "Database connection URL with a password",
        regex: r#"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?)://[^\s:@/'"`]{0,100}:([^\s@/'"`]{6,200})@[A-Za-z0-9._\[\]-]+"#,
        secret_group: Some(1),
        keywords: &[
            "postgres://",
            "postgresql://",
            "mysql://",
            "mariadb://",
            "mongodb://",
            "mongodb+srv://",
            "redis://",
            "rediss://",
            "amqp://",
            "amqps://",
        ],
        allow: &[
            PLACEHOLDER,
            r"(?i)^(?:pass(?:word)?|passwd|pwd|secret|changeme|change_me|test|testing|example|postgres|mysql|root|admin|user|username|dbpass(?:word)?|db_?password|mypassword|yourpassword|your[_-]password|redis|mongo|guest|pass123|password123)$",
            // Usage notation, `USER[:PASSWORD]@HOST`: a capitalised name closing an optional part.
            r"^[A-Z][A-Z0-9_]*\]$",
        ],
        stopwords: PLACEHOLDER_WORDS,
        examples: &[
            "DATABASE_URL=postgres://app:«{x20}»@db.example.com:5432/app", // launchready:allow (a test template)
            "DATABASE_URL=postgresql://app:«{x20}»@db.internal/app", // launchready:allow (a test template)
            "mongodb+srv://admin:«{x16}»@cluster0.abcde.mongodb.net/prod", // launchready:allow (a test template)
            "REDIS_URL=rediss://default:«{x32}»@redis.example.com:6379", // launchready:allow (a test template)
            "mysql://root:«{x12}»@10.0.0.5/shop", // launchready:allow (a test template)
        ],
        negatives: &[
            "postgres://user:password@localhost/db",
            "postgres://user:${DB_PASSWORD}@db/app",
            "postgres://user:<password>@db/app",
            "postgres://app_%s:%s@db.example.com/orders",
            "postgres://app:{password}@db.example.com/orders",
            "mongodb://admin:****@db/app",
            "redis://localhost:6379",
            "postgres://app@db.example.com/app",
            "postgres://foo:bar@host/db",
            "a postgres://USER[:PASSWORD]@HOST[:PORT]/DB URL",
        ],
        ..BASE
    },
    // JWT signing secrets: anyone holding one can mint sessions. Keyword-anchored, with entropy.
    Spec {
        id: "jwt.signing_secret",
        description: "JWT signing secret",
        regex: assign!(
            r"jwt[_.-]?(?:secret|signing[_.-]?key|key|private[_.-]?key)|secret[_.-]?key[_.-]?base",
            r"[^\s'`;,]{16,200}"
        ),
        check: Some(value_like),
        keywords: &["jwt", "secret_key_base"],
        entropy: Some(3.5),
        allow: &[
            PLACEHOLDER,
            r"(?i)^(?:process\.env|os\.environ|os\.getenv|env\(|ENV\[|config\.|settings\.)",
            // A call that fetches the secret (`read_secret("jwt")`, `vault.get('auth/jwt')`): code, not a value.
            r"^[A-Za-z_$][\w$.]*\(",
        ],
        stopwords: PLACEHOLDER_WORDS,
        examples: &[
            "JWT_SECRET=«{x32}»",
            "jwtSecret: '«{x40}»',",
            "SECRET_KEY_BASE=«{h64}»",
        ],
        negatives: &[
            "JWT_SECRET=${JWT_SECRET}",
            "jwtSecret: process.env.JWT_SECRET_VALUE",
            "JWT_SECRET=your-jwt-secret-here-change-me",
            "JWT_SECRET=aaaaaaaaaaaaaaaaaaaaaaaa",
            "such as `VITE_JWT_SECRET`, `NEXT_PUBLIC_DB_PASSWORD`",
            "JWT_SECRET = read_secret(\"jwt-signing\")",
            "const jwtSecret = getSecretValue(\"auth/jwt/key\");",
            "g_jwt_secret = one_value(\"jwt_secret\", \"JWT_SECRET\", \"\", ALNUM, 48)",
        ],
        ..BASE
    },
    // Twilio account SIDs ("AC" + 32 hex) identify the account an auth token unlocks; next to "twilio" the pair is
    // the credential, so the SID is reported too (kingfisher reports it as the token's dependent capture).
    Spec {
        id: "twilio.account_sid",
        description: "Twilio account SID (pairs with an auth token)",
        regex: token!(r"AC[0-9a-f]{32}"),
        keywords: &["twilio"],
        entropy: Some(3.0),
        severity: Severity::Low,
        examples: &["TWILIO_ACCOUNT_SID=«AC{h32}»"],
        negatives: &["ACCOUNT=AC{h32} for no named provider"],
        ..BASE
    },
    // Brevo (Sendinblue): API keys "xkeysib-" and SMTP keys "xsmtpsib-" + 64 hex + "-" + 16 (Brevo docs).
    Spec {
        id: "brevo.api_key",
        description: "Brevo (Sendinblue) API or SMTP key",
        regex: token!(r"x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}"),
        keywords: &["xkeysib-", "xsmtpsib-"],
        entropy: Some(3.0),
        examples: &["BREVO_API_KEY=«xkeysib-{h64}-{x16}»"],
        negatives: &["xkeysib-{h20}-{x16}"],
        ..BASE
    },
    // Cloudinary URLs carry the API key and secret: cloudinary://<15 digits>:<secret>@<cloud name>.
    Spec {
        id: "cloudinary.url",
        description: "Cloudinary URL with an API secret",
        regex: r"cloudinary://[0-9]{12,20}:([A-Za-z0-9_-]{20,40})@[A-Za-z0-9_-]+",
        secret_group: Some(1),
        keywords: &["cloudinary://"],
        entropy: Some(3.0),
        examples: &["CLOUDINARY_URL=cloudinary://{d15}:«{u27}»@demo-media"],
        negatives: &["CLOUDINARY_URL=cloudinary://<api_key>:<api_secret>@cloud"],
        ..BASE
    },
    // A bearer credential written into a request: curl commands in READMEs, HTTP client defaults.
    Spec {
        id: "http.bearer_token",
        description: "Bearer token in an Authorization header",
        regex: r#"(?i)authorization["']?[ \t]*[:=,][ \t]*["'`]?(?:bearer|token)[ \t]+(?-i:([A-Za-z0-9._~+/-]{20,1024}=*))(?:["'`\s;,)}\]\\]|$)"#,
        keywords: &["bearer", "authorization"],
        entropy: Some(3.5),
        severity: Severity::Medium,
        check: Some(value_like),
        allow: &[PLACEHOLDER],
        stopwords: PLACEHOLDER_WORDS,
        examples: &[
            "curl -H \"Authorization: Bearer «{x30}{d4}»\" https://api.example.com",
            "headers: {{ Authorization: 'Bearer «{u40}»' }}",
        ],
        negatives: &[
            "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com",
            "Authorization: Bearer <your-token>",
            "Authorization: Bearer YOUR_ACCESS_TOKEN_GOES_HERE",
        ],
        fallback: 1,
        ..BASE
    },
    // A signed JWT is a bearer credential until it expires. Graded on its decoded payload (never verified, never
    // sent): Supabase service_role keys have their own rule; the public anon key and unsigned tokens are skipped;
    // an expired token is Info; anything else (no `exp`, or one in the future) is High.
    Spec {
        id: "jwt.token",
        description: "Signed JWT that has not expired (a bearer credential)",
        regex: SIGNED_JWT,
        keywords: &["eyj"],
        check: Some(jwt_is_live_credential),
        examples: &[
            "AUTH_TOKEN=«{jwt:authenticated}»",
            "const token = '«{jwt:worker}»';",
        ],
        negatives: &[
            "SUPABASE_ANON_KEY={jwt:anon}",
            "SUPABASE_SERVICE_ROLE_KEY={jwt:service_role}",
            "OLD={jwtold:authenticated}",
        ],
        ..BASE
    },
    Spec {
        id: "jwt.expired_token",
        description: "Signed JWT whose expiry has passed (a test token, or one to check was never reused)",
        regex: SIGNED_JWT,
        keywords: &["eyj"],
        check: Some(jwt_is_expired),
        severity: Severity::Info,
        examples: &["token: «{jwtold:authenticated}»"],
        negatives: &["token: {jwt:authenticated}"],
        ..BASE
    },
    // Credentials known by their name, not a prefix: a provider a membership site signs up with (transactional
    // email, SMS, payments, auth, search, realtime, media), a credential word, and a value that looks like a value.
    Spec {
        id: "named.provider_credential",
        description: "Credential of a named provider (no distinctive prefix, recognised by its name)",
        regex: concat!(
            r#"(?i)(?:twilio|postmark|mailgun|sendgrid|resend|mailjet|sparkpost|mandrill|brevo|sendinblue|mailersend|smtp|vonage|nexmo|plivo|telnyx|messagebird|paypal|braintree|razorpay|mollie|paddle|lemon_?squeezy|adyen|auth0|okta|clerk|firebase|supabase|cognito|workos|stytch|algolia|pusher|cloudinary|mapbox|sentry|mixpanel|intercom|onesignal|replicate|pinecone|hubspot|airtable|contentful|cloudflare|vercel|netlify|heroku|railway|digitalocean)[\w.-]{0,30}?(?:key|secret|token|password|passwd|pwd|pass|sid|credential|auth)s?"#,
            bridge!(),
            r#"["'`]?(?-i:([A-Za-z0-9+/_.~!@#%^&*-]{16,512}={0,2}))(?:["'`\s;,)}\]]|\\[nr]|$)"#
        ),
        // Distinctive names only: a short common word ("ses", "fly", "ably") would open a window on most lines.
        keywords: &[
            "twilio",
            "postmark",
            "mailgun",
            "sendgrid",
            "resend",
            "mailjet",
            "sparkpost",
            "mandrill",
            "brevo",
            "sendinblue",
            "mailersend",
            "smtp",
            "vonage",
            "nexmo",
            "plivo",
            "telnyx",
            "messagebird",
            "paypal",
            "braintree",
            "razorpay",
            "mollie",
            "paddle",
            "lemon",
            "adyen",
            "auth0",
            "okta",
            "clerk",
            "firebase",
            "supabase",
            "cognito",
            "workos",
            "stytch",
            "algolia",
            "pusher",
            "cloudinary",
            "mapbox",
            "sentry",
            "mixpanel",
            "intercom",
            "onesignal",
            "replicate",
            "pinecone",
            "hubspot",
            "airtable",
            "contentful",
            "cloudflare",
            "vercel",
            "netlify",
            "heroku",
            "railway",
            "digitalocean",
        ],
        // Short hex secrets (Pusher's 20) spread thin; `value_like` judges randomness against the alphabet.
        entropy: Some(2.5),
        check: Some(value_like),
        allow: &[PLACEHOLDER, LOOKUP, PATH_OR_URL],
        allow_match: &[
            r#"(?i)(?:public|publishable|pub|site|search(?:_?only)?|client_?id|account_?id|app_?id|project_?id|key_?id|region|host|domain|url|uri|endpoint|webhook_?url|file|path|name|header|env|cache|sort|partition|idempotency)[_.-]?(?:key|secret|token|password|pass|sid|auth)?s?["'`]?[ \t]*(?:=|:|,|\|\||\?\?)"#,
            r"^[?&]",
        ],
        stopwords: PLACEHOLDER_WORDS,
        examples: &[
            "POSTMARK_API_TOKEN=«{h8}-{h4}-{h4}-{h4}-{h12}»",
            "const algoliaAdminKey: string = '«{h32}»';",
            "PUSHER_APP_SECRET = os.getenv(\"PUSHER_APP_SECRET\", \"«{h20}»\")",
            "paypal.client.secret=«{u80}»",
            "const myPusherSecret = '«{h20}»';",
            "  auth0ClientSecret: process.env.AUTH0_CLIENT_SECRET || '«{u64}»',",
        ],
        negatives: &[
            "STRIPE_PUBLISHABLE_KEY=pk_live_{x24}",
            "TWILIO_ACCOUNT_SID_ENV=TWILIO_ACCOUNT_SID",
            "stripeSecretKey = process.env.STRIPE_SECRET_KEY",
            "SENDGRID_API_KEY=your-sendgrid-key",
            "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
            "slack_token_header = x_slack_signature_token",
            "myTwilioAuthToken = twilioClient.authTokenFromEnvironment",
            "aws_secret = &PrivateKeyDer::from(key)",
        ],
        fallback: 1,
        ..BASE
    },
    // Generic: a *_KEY/*_SECRET/*_TOKEN/PASSWORD assignment with a long, random-looking value. Tuned for few false
    // positives (the top complaint about generic rules): an assignment is required, the value is ≥ 16 characters
    // with entropy > 3.5 and a digit, and placeholders, environment lookups, plain words, file paths and
    // identifier-like UUIDs are skipped.
    Spec {
        id: "generic.secret_assignment",
        description: "High-entropy value assigned to a key, secret, token or password",
        regex: concat!(
            r#"(?:^|[^A-Za-z0-9_.-])(?:(?:[A-Za-z0-9]+[_.-])*(?:[A-Za-z0-9]*(?:Key|Secret|Token|Password|Passwd|KEY|SECRET|TOKEN|PASSWORD|PASSWD)|key|secret|token|password|passwd|pwd|apikey|secretkey|authtoken|accesstoken))"#,
            bridge!(),
            r#"(?:"([^"\s\\]{16,512})"|'([^'\s\\]{16,512})'|`([^`\s\\]{16,512})`|([A-Za-z0-9+/_.~!@#%^&*-]{16,512}={0,2})(?:[\s;,)}\]]|$))"#
        ),
        check: Some(value_like),
        keywords: &["key", "secret", "token", "password", "passwd", "pwd"],
        entropy: Some(3.5),
        severity: Severity::Medium,
        require_digit: true,
        allow: &[
            PLACEHOLDER,
            LOOKUP,
            PATH_OR_URL,
            // Plain words and identifiers (dotted or snake case).
            r"^[A-Za-z_.-]+$",
            r"^[A-Za-z][a-z]+(?:[A-Z][a-z]+)+[0-9]{0,4}$",
        ],
        allow_match: &[
            // A UUID assigned to a *key/*token name is usually an id; under a secret or password name it is kept.
            r#"(?i)(?:key|token)["']?[ \t]*(?:=|:=|=>|:)[ \t]*["']?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}["']?[\s;,)}\]]?$"#,
            // Names that mention key or token without being credentials.
            r"(?i)(?:public|publishable|pub|primary|foreign|sort|partition|idempotency|cache|csrf|xsrf|next_?page|page|continuation|pagination|sync|lookup|hash|i18n|translation)[_.-]?(?:key|token)",
            // A URL query parameter (`?token=…&…`) is a link someone pasted, not an assignment.
            r"^[?&]",
        ],
        stopwords: PLACEHOLDER_WORDS,
        examples: &[
            "MY_SERVICE_API_KEY=«{x30}{d2}»",
            "const apiKey = \"«{x22}{d2}»\";",
            "password: '«{x14}{d2}»'",
            "client_secret = «{u38}{d2}»",
            "DB_PASSWORD=«{x18}{d2}»",
            "INTERNAL_SECRET: «{h8}-{h4}-{h4}-{h4}-{h12}»",
        ],
        negatives: &[
            "API_KEY=${API_KEY}",
            "apiKey: process.env.MY_SERVICE_API_KEY",
            "password = os.environ['DATABASE_PASSWORD']",
            "SECRET_KEY=your-secret-key-goes-here",
            "TOKEN=aaaaaaaaaaaaaaaaaaaaaa",
            "private_key = /etc/ssl/private/server.key",
            "API_KEY=short1",
            "monkey = \"{x24}\"",
            "API_KEY={h8}-{h4}-{h4}-{h4}-{h12}",
            "token: PaginationCursorToken",
            "PUBLISHABLE_KEY={x32}",
            "keyboard = \"{x32}\"",
            "PASSWORD=correcthorsebatterystaple",
        ],
        fallback: 2,
        ..BASE
    },
    // A committed .env file with a credential in it: environment files hold production configuration by
    // convention (dotenv, Next.js, Vite); templates (.example, .sample, .template, .dist) are meant to be committed,
    // and a file of plain settings (ports, modes, hosts, feature flags) is no leak.
    Spec {
        id: "secrets.env_file_committed",
        description: "Environment file with a credential committed to the repository",
        regex: r"(?m)^[ \t]*(?:export[ \t]+)?[A-Za-z0-9_]*(?i:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|CREDENTIALS?|PRIVATE|SALT|SIGNING|AUTH|DSN)[A-Za-z0-9_]*[ \t]*=[ \t]*(\S[^\r\n]*)",
        secret_group: Some(1),
        path: Some(r"(?:^|/)\.env(?:\.[A-Za-z0-9_-]+)*$"),
        allow_paths: &[r"(?i)\.(?:example|sample|template|tmpl|tpl|dist|defaults?|schema)(?:\.|$)"],
        allow: &[
            PLACEHOLDER,
            // Values that configure rather than authenticate: numbers, booleans, modes, empty quotes, hosts.
            r#"(?i)^(?:""|''|true|false|yes|no|on|off|none|null|nil|[0-9]+|development|production|staging|test|debug|info|warn|error|localhost(?::[0-9]+)?|https?://\S*)\s*(?:#.*)?$"#,
        ],
        allow_match: &[
            r"(?i)(?:PUBLISHABLE|PUBLIC_KEY|_KEY_ID|_KEY_PATH|_KEY_FILE|_TOKEN_URL|_AUTH_URL|AUTH_DOMAIN|_AUTH_PROVIDER|KEYCLOAK_REALM|_TTL|_EXPIR)",
        ],
        stopwords: &[
            "changeme",
            "change_me",
            "your_",
            "your-",
            "placeholder",
            "<",
        ],
        once_per_file: true,
        examples: &["# local settings\nPORT=3000\nSTRIPE_KEY=«{x20}»\nOTHER={x10}"],
        negatives: &[
            "PORT=3000\nDEBUG=true\nAPI_KEY=\n# COMMENT=value\nTOKEN=${TOKEN}\nNODE_ENV=production\n",
            "NODE_ENV=production\nPORT=3000\nLOG_LEVEL=debug\nTZ=UTC\nAPP_NAME=members\n",
            "STRIPE_PUBLISHABLE_KEY=pk_live_{x24}\nAUTH_URL=https://auth.example.com\n",
        ],
        fallback: 3,
        ..BASE
    },
];

/// The built-in rules, compiled. A spec that fails to compile is a bug caught by the tests; it is left out rather
/// than panicking at run time.
pub fn rules() -> Vec<Rule> {
    SPECS.iter().filter_map(|spec| to_rule(spec).ok()).collect()
}

/// Files that are never scanned by the built-in ruleset: lock files are full of integrity hashes and nothing in
/// them is a credential.
pub fn global_allowlists() -> Vec<Allowlist> {
    let paths = [
        r"(?:^|/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|Gemfile\.lock|poetry\.lock|Pipfile\.lock|composer\.lock|go\.sum|deno\.lock|bun\.lockb)$",
        r"(?:^|/)node_modules/",
    ];
    vec![Allowlist {
        description: "lock files and installed dependencies".to_string(),
        paths: paths
            .iter()
            .filter_map(|p| rules::compile_path(p).ok())
            .collect(),
        ..Allowlist::default()
    }]
}

/// Compiles one spec into a rule.
pub fn to_rule(spec: &Spec) -> Result<Rule, regex::Error> {
    let mut rule = Rule::new(spec.id, spec.description, spec.severity);
    if !spec.regex.is_empty() {
        rule.regex = Some(rules::compile(spec.regex)?);
    }
    // Only the key-file rules match across lines (a PEM body, a service-account JSON); every other built-in rule
    // matches on its keyword's line, so it needs no more than that line.
    let multiline = spec.regex.contains("(?s") || spec.regex.contains("BEGIN");
    if !multiline {
        rule.window = (0, rules::LINE_WINDOW_AFTER);
    }
    rule.secret_group = spec.secret_group;
    rule.entropy = spec.entropy;
    rule.keywords = spec.keywords.iter().map(|k| k.to_lowercase()).collect();
    rule.path = spec.path.map(rules::compile_path).transpose()?;
    rule.check = spec.check;
    rule.require_digit = spec.require_digit;
    rule.once_per_file = spec.once_per_file;
    rule.fallback = spec.fallback;
    // Live-shaped: a token rule (`token!`) whose keyword is its own prefix, i.e. a provider's structured format
    // rather than a value recognised by the name next to it.
    rule.live_shaped = spec.regex.starts_with("(?:^|[^A-Za-z0-9_-])(")
        && spec.keywords.iter().all(|k| {
            spec.regex
                .to_ascii_lowercase()
                .contains(k.trim_end_matches(['-', '_', '.', '$']))
        })
        || spec.id == "private_key.pem"
        || spec.id == "gcp.service_account_key";
    if spec.id.starts_with("jwt.") {
        rule.live_shaped = false;
    }
    if !spec.allow.is_empty() || !spec.stopwords.is_empty() {
        rule.allowlists.push(Allowlist {
            description: "placeholders and documented examples".to_string(),
            regexes: compile_each(spec.allow, rules::compile)?,
            stopwords: spec.stopwords.iter().map(|s| s.to_string()).collect(),
            ..Allowlist::default()
        });
    }
    if !spec.allow_match.is_empty() {
        rule.allowlists.push(Allowlist {
            description: "non-credential names".to_string(),
            regex_target: RegexTarget::Match,
            regexes: compile_each(spec.allow_match, rules::compile)?,
            ..Allowlist::default()
        });
    }
    if !spec.allow_paths.is_empty() {
        rule.allowlists.push(Allowlist {
            description: "paths meant to be committed".to_string(),
            condition: Condition::Or,
            paths: compile_each(spec.allow_paths, rules::compile_path)?,
            ..Allowlist::default()
        });
    }
    Ok(rule)
}

/// Compiles every pattern, stopping at the first that fails.
fn compile_each<R>(
    patterns: &[&str],
    compile: impl Fn(&str) -> Result<R, regex::Error>,
) -> Result<Vec<R>, regex::Error> {
    patterns.iter().map(|p| compile(p)).collect()
}

/// Whether a JWT's payload claims `"role": "service_role"` (Supabase's RLS-bypassing key).
fn jwt_is_service_role(token: &[u8]) -> bool {
    let mut parts = token.split(|&b| b == b'.');
    let (Some(_), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(json) = base64url_decode(payload) else {
        return false;
    };
    let compact: Vec<u8> = json
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let needle: &[u8] = b"\"role\":\"service_role\"";
    compact.windows(needle.len()).any(|w| w == needle)
}

/// Unpadded (or padded) base64url, as JWTs use; `None` on any invalid character.
fn base64url_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Whether a value under a credential-like name looks like a value rather than code or words: no code expression
/// (`&PrivateKeyDer…`, `Foo::bar(…)`, `a->b`), not an identifier (snake, camel or SCREAMING case words such as
/// `x25519_generate_private_key` or `D3DKMT_PRESENTHISTORYTOKEN`), no counting sequence or repeated chunk (crypto
/// test vectors), and random over its own alphabet: Shannon entropy at least 60 % of what that alphabet allows.
pub fn value_like(value: &[u8]) -> bool {
    let v = value;
    if v.is_empty() || matches!(v[0], b'&' | b'$' | b'*' | b'#' | b'!') {
        return false;
    }
    let has = |needle: &[u8]| v.windows(needle.len()).any(|w| w == needle);
    const RECEIVERS: [&[u8]; 8] = [
        b"this.",
        b"self.",
        b"window.",
        b"document.",
        b"process.",
        b"props.",
        b"state.",
        b"options.",
    ];
    // Member access, template interpolation (`sb-${url.host}-auth-token`) and format slots (`key-{}`, `{x32}`):
    // code, not a credential.
    if RECEIVERS.iter().any(|r| v.starts_with(r)) || has(b"${") || has_format_slot(v) {
        return false;
    }
    // Brackets and `=` are left to the rules' value classes: unquoted values cannot hold them (so `f(x)` never
    // matches), while a quoted literal may (a Django key has `(`, `=` and `+`).
    if has(b"::") || has(b"->") {
        return false;
    }
    // A JWT is judged by what its payload says (`jwt.*`, `supabase.service_role_key`), not by the name it sits under.
    if v.starts_with(b"eyJ") && v.iter().filter(|&&b| b == b'.').count() == 2 {
        return false;
    }
    if looks_like_identifier(v) || has_counting_run(v) || is_repeated_chunk(v) || counts_in_hex(v) {
        return false;
    }
    let (mut lower, mut upper, mut digit, mut other, mut hex_only) =
        (false, false, false, false, true);
    for &b in v {
        match b {
            b'a'..=b'z' => lower = true,
            b'A'..=b'Z' => upper = true,
            b'0'..=b'9' => digit = true,
            _ => other = true,
        }
        if !b.is_ascii_hexdigit() && b != b'-' {
            hex_only = false;
        }
    }
    let alphabet = if hex_only && !(lower && upper) {
        16
    } else {
        26 * usize::from(lower)
            + 26 * usize::from(upper)
            + 10 * usize::from(digit)
            + 16 * usize::from(other)
    };
    let max_bits = (alphabet.min(v.len()).max(2) as f32).log2();
    rules::shannon_entropy(v) >= 0.6 * max_bits
}

/// A `{…}` holding only name characters, `:` or `.` (Python, Rust and C# format slots, template placeholders).
fn has_format_slot(v: &[u8]) -> bool {
    v.iter().enumerate().any(|(i, &b)| {
        b == b'{'
            && v[i + 1..]
                .iter()
                .position(|&c| c == b'}')
                .is_some_and(|end| {
                    v[i + 1..i + 1 + end]
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'.'))
                })
    })
}

/// Only name characters, and few changes of character class (lower, upper, digit) between neighbours: words
/// joined by `_`, `-` or `.`, or camel case. Random strings change class every second character or so.
fn looks_like_identifier(v: &[u8]) -> bool {
    if !v
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return false;
    }
    let class = |b: u8| match b {
        b'a'..=b'z' => 0u8,
        b'A'..=b'Z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    };
    let (mut changes, mut alnum) = (0usize, 0usize);
    for pair in v.windows(2) {
        let (a, b) = (class(pair[0]), class(pair[1]));
        if a == 3 || b == 3 {
            continue;
        }
        // A capital followed by lower case starts a word (`Private`), not a change.
        if a != b && !(a == 1 && b == 0) {
            changes += 1;
        }
    }
    for &b in v {
        if b.is_ascii_alphanumeric() {
            alnum += 1;
        }
    }
    // Pure hex of key length is data, whatever its changes.
    let hex = v.iter().all(u8::is_ascii_hexdigit);
    !hex && changes * 6 < alnum
}

/// Six or more characters counting up or down by one (`0123456`, `abcdef`): test vectors and fillers.
fn has_counting_run(v: &[u8]) -> bool {
    let mut up = 1;
    let mut down = 1;
    for pair in v.windows(2) {
        up = if pair[1] == pair[0].wrapping_add(1) {
            up + 1
        } else {
            1
        };
        down = if pair[1] == pair[0].wrapping_sub(1) {
            down + 1
        } else {
            1
        };
        if up >= 6 || down >= 6 {
            return true;
        }
    }
    false
}

/// Hex whose bytes count up or down (`000102030405…`, `f0f1f2f3…`): a test vector's key or nonce.
fn counts_in_hex(v: &[u8]) -> bool {
    if v.len() < 16 || !v.len().is_multiple_of(2) || !v.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let nibble = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
    let bytes: Vec<u8> = v
        .chunks(2)
        .map(|p| nibble(p[0]) << 4 | nibble(p[1]))
        .collect();
    has_counting_run(&bytes)
}

/// The value is one chunk of 1 to 8 characters repeated (`abcdabcdabcd…`, `deadbeefdeadbeef…`).
fn is_repeated_chunk(v: &[u8]) -> bool {
    (1..=8).any(|n| v.len() >= 2 * n && v.chunks(n).all(|c| c == &v[..c.len()]))
}

/// The decoded JSON payload of a JWT, when the token has three parts and a JSON object as its payload.
fn jwt_payload(token: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = token.split(|&b| b == b'.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if signature.is_empty() {
        return None;
    }
    // `alg: none` tokens carry no signature and grant nothing.
    let header: serde_json::Value = serde_json::from_slice(&base64url_decode(header)?).ok()?;
    if header
        .get("alg")
        .and_then(|a| a.as_str())
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        return None;
    }
    match serde_json::from_slice(&base64url_decode(payload)?).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

fn jwt_role(payload: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    payload.get("role").and_then(|r| r.as_str())
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether a signed JWT has expired (`exp` in the past; no `exp` never expires). `None` for what the JWT rules do
/// not grade: an unparsable or unsigned token, Supabase's service_role key (its own rule) and the public anon key.
fn jwt_expired(token: &[u8]) -> Option<bool> {
    let payload = jwt_payload(token)?;
    if matches!(jwt_role(&payload), Some("service_role" | "anon")) {
        return None;
    }
    Some(
        payload
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .is_some_and(|exp| exp <= now_unix()),
    )
}

/// A signed JWT that still works.
fn jwt_is_live_credential(token: &[u8]) -> bool {
    jwt_expired(token) == Some(false)
}

/// A signed JWT whose `exp` has passed.
fn jwt_is_expired(token: &[u8]) -> bool {
    jwt_expired(token) == Some(true)
}

#[cfg(test)]
mod tests;
