#!/usr/bin/env python3
"""Deterministic generator of a large git repository with planted fake secrets.

    generate.py OUT_DIR [--size-mb 520] [--seed 7] [--source DIR ...]

Source text is the cargo registry's unpacked crate sources (~/.cargo/registry/src/*/), text files only, sorted by
path, each at most 1 MB. The history is written with `git fast-import`:

  1. import commits add the source files in batches of 300 (paths kept relative to the registry index directory,
     so each file sits under its crate's directory);
  2. evolution commits insert a comment line into a seeded choice of 100 files each, so new blob versions accumulate,
     until the unique blob bytes reachable from HEAD reach --size-mb;
  3. secrets of every kind are planted (3 each by default) in early evolution commits, in code-like context chosen by
     file type (`const X = "..."`, `KEY=...`, JSON, YAML, PEM files, `.env` files); about a third of those on the main
     branch are deleted again in later commits (they stay in history); some go only to a side branch
     (`refs/heads/feature/side-experiments`) or only to a tag (`refs/tags/v0.9.0-rc1`).

Every value is a random, format-valid FAKE drawn from the seeded RNG: none is a real credential.

The repository is OUT_DIR/repo (checked out at main). OUT_DIR/planted.json, beside it and never inside it, records
each plant: kind, value, path, commit, deleted_in, in_worktree, ref, line_at_head.
OUT_DIR/generator-stats.json records the byte counts (the generator's own bookkeeping and `git cat-file`'s).
Same inputs, same seed: same repository, same commit ids.
"""

import argparse
import base64
import glob
import hashlib
import json
import os
import random
import string
import subprocess
import sys
import time
import uuid

import mode_b
from fakes import ALNUM, B64, B64URL, BASE32, HEX, LOWER_ALNUM, UPPER_ALNUM, b64url_json, checksummed, pem, rs

TEXT_EXTS = {".rs", ".md", ".toml", ".txt", ".json", ".yml", ".yaml", ".c", ".h", ".py", ".js", ".ts", ".go",
             ".html", ".css"}
MAX_FILE = 1 << 20
IMPORT_BATCH = 300
EVOLVE_BATCH = 100
PLANTS_PER_COMMIT = 2
AUTHOR = b"Bench Generator <bench@launchready.invalid>"
EPOCH = 1672531200  # 2023-01-01T00:00:00Z; commit i is dated EPOCH + i hours


# ---------------------------------------------------------------------------------------------------------------
# Fake secret generators. Each returns (items, style) where items is a list of (kind, var_name, value) and the
# values are laid out by file type (see render()). Multi-line values (PEM blocks) are kept with real newlines.
# ---------------------------------------------------------------------------------------------------------------


def one_value(kind, name, prefix, alphabet, n, suffix=""):
    """A generator of one value: `prefix`, `n` random characters of `alphabet`, `suffix`."""
    return lambda rng: [(kind, name, prefix + rs(rng, alphabet, n) + suffix)]


def g_aws(rng):
    return [("aws_access_key_id", "AWS_ACCESS_KEY_ID", "AKIA" + rs(rng, BASE32, 16)),
            ("aws_secret_access_key", "aws_secret_access_key", rs(rng, B64, 40))]


def g_gcp_sa(rng):
    key = pem(rng, "PRIVATE KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ", 1624)
    project = "bench-" + rs(rng, string.ascii_lowercase, 6) + "-" + rs(rng, string.digits, 6)
    return [("gcp_service_account_private_key", "GCP_SERVICE_ACCOUNT", {
        "type": "service_account", "project_id": project, "private_key_id": rs(rng, HEX, 40),
        "private_key": key + "\n", "client_email": "deployer@%s.iam.gserviceaccount.com" % project,
        "client_id": rs(rng, string.digits, 21), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token"})]


g_google_api = one_value("google_api_key", "GOOGLE_API_KEY", "AIza", B64URL, 35)


def g_azure_storage(rng):
    key = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(64))).decode()
    account = "bench" + rs(rng, string.ascii_lowercase + string.digits, 10)
    conn = ("DefaultEndpointsProtocol=https;AccountName=%s;AccountKey=%s;EndpointSuffix=core.windows.net"
            % (account, key))
    return [("azure_storage_connection_string", "AZURE_STORAGE_CONNECTION_STRING", conn)]


def g_github_classic(rng):
    return [("github_pat_classic", "GITHUB_TOKEN", checksummed(rng, "ghp_"))]


def g_github_fine(rng):
    return [("github_pat_fine_grained", "GH_FINE_GRAINED_TOKEN",
             "github_pat_" + rs(rng, UPPER_ALNUM, 1) + rs(rng, ALNUM, 21) + "_" + rs(rng, ALNUM, 59))]


def g_github_oauth(rng):
    prefix = rng.choice(["gho_", "ghu_", "ghs_"])
    return [("github_oauth_app_server_token", "GITHUB_APP_TOKEN", checksummed(rng, prefix))]


g_gitlab = one_value("gitlab_pat", "GITLAB_TOKEN", "glpat-", B64URL, 20)


def g_slack_bot(rng):
    return [("slack_bot_token", "SLACK_BOT_TOKEN", "xoxb-%s-%s-%s" % (rs(rng, string.digits, 12),
                                                                      rs(rng, string.digits, 13),
                                                                      rs(rng, ALNUM, 24)))]


def g_slack_webhook(rng):
    return [("slack_webhook", "SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T%s/B%s/%s"
             % (rs(rng, UPPER_ALNUM, 10), rs(rng, UPPER_ALNUM, 10), rs(rng, ALNUM, 24)))]


def g_discord_webhook(rng):
    return [("discord_webhook", "DISCORD_WEBHOOK_URL", "https://discord.com/api/webhooks/%s/%s"
             % (rng.choice("123456789") + rs(rng, string.digits, 18), rs(rng, B64URL, 68)))]


def g_discord_bot(rng):
    uid = rng.choice("123456789") + rs(rng, string.digits, 17)
    first = base64.b64encode(uid.encode()).decode().rstrip("=")
    return [("discord_bot_token", "DISCORD_BOT_TOKEN", "%s.%s.%s" % (first, rs(rng, B64URL, 6), rs(rng, B64URL, 38)))]


g_stripe_live = one_value("stripe_live_secret_key", "STRIPE_SECRET_KEY", "sk_live_", ALNUM, 99)
g_stripe_restricted = one_value("stripe_restricted_key", "STRIPE_RESTRICTED_KEY", "rk_live_", ALNUM, 99)
g_stripe_webhook = one_value("stripe_webhook_secret", "STRIPE_WEBHOOK_SECRET", "whsec_", ALNUM, 32)
g_stripe_test = one_value("stripe_test_secret_key", "STRIPE_TEST_KEY", "sk_test_", ALNUM, 99)


def g_braintree(rng):
    return [("paypal_braintree_access_token", "BRAINTREE_ACCESS_TOKEN", "access_token$production$%s$%s"
             % (rs(rng, LOWER_ALNUM, 16), rs(rng, HEX, 32)))]


g_square = one_value("square_access_token", "SQUARE_ACCESS_TOKEN", "sq0atp-", B64URL, 22)
g_square_eaaa = one_value("square_access_token_eaaa", "SQUARE_PRODUCTION_TOKEN", "EAAA", B64URL, 60)


def g_twilio(rng):
    return [("twilio_api_key", "TWILIO_API_KEY", "SK" + rs(rng, HEX, 32)),
            ("twilio_auth_token", "TWILIO_AUTH_TOKEN", rs(rng, HEX, 32))]


def g_sendgrid(rng):
    return [("sendgrid_api_key", "SENDGRID_API_KEY", "SG.%s.%s" % (rs(rng, B64URL, 22), rs(rng, B64URL, 43)))]


g_mailgun = one_value("mailgun_api_key", "MAILGUN_API_KEY", "key-", HEX, 32)


def g_postmark(rng):
    return [("postmark_server_token", "POSTMARK_SERVER_TOKEN", str(uuid.UUID(int=rng.getrandbits(128), version=4)))]


def g_resend(rng):
    return [("resend_api_key", "RESEND_API_KEY", "re_%s_%s" % (rs(rng, ALNUM, 8), rs(rng, ALNUM, 24)))]


g_mailchimp = one_value("mailchimp_api_key", "MAILCHIMP_API_KEY", "", HEX, 32, "-us12")


def g_openai_proj(rng):
    return [("openai_project_key", "OPENAI_API_KEY",
             "sk-proj-" + rs(rng, B64URL, 74) + "T3BlbkFJ" + rs(rng, B64URL, 74))]


def g_openai_legacy(rng):
    return [("openai_legacy_key", "OPENAI_KEY", "sk-" + rs(rng, ALNUM, 20) + "T3BlbkFJ" + rs(rng, ALNUM, 20))]


g_anthropic = one_value("anthropic_api_key", "ANTHROPIC_API_KEY", "sk-ant-api03-", B64URL, 93, "AA")
g_huggingface = one_value("huggingface_token", "HF_TOKEN", "hf_", string.ascii_letters, 34)


def g_supabase(rng):
    header = b64url_json({"alg": "HS256", "typ": "JWT"})
    iat = 1690000000 + rng.randrange(10 ** 7)
    payload = b64url_json({"iss": "supabase", "ref": rs(rng, string.ascii_lowercase, 20), "role": "service_role",
                           "iat": iat, "exp": iat + 10 ** 9 // 3})
    return [("supabase_service_role_jwt", "SUPABASE_SERVICE_ROLE_KEY",
             "%s.%s.%s" % (header, payload, rs(rng, B64URL, 43)))]


def g_fcm(rng):
    return [("firebase_fcm_server_key", "FCM_SERVER_KEY",
             "AAAA" + rs(rng, B64URL, 7) + ":APA91b" + rs(rng, B64URL, 134))]


g_cloudflare = one_value("cloudflare_api_token", "CLOUDFLARE_API_TOKEN", "", B64URL, 40)
g_digitalocean = one_value("digitalocean_pat", "DIGITALOCEAN_TOKEN", "dop_v1_", HEX, 64)
g_heroku_v2 = one_value("heroku_api_key_v2", "HEROKU_TOKEN", "HRKU-AA", B64URL, 58)


def g_heroku_uuid(rng):
    return [("heroku_api_key_uuid", "HEROKU_API_KEY", str(uuid.UUID(int=rng.getrandbits(128), version=4)))]


g_vercel = one_value("vercel_token", "VERCEL_TOKEN", "", ALNUM, 24)
g_netlify = one_value("netlify_pat", "NETLIFY_AUTH_TOKEN", "nfp_", ALNUM, 40)


def g_npm(rng):
    return [("npm_token", "NPM_TOKEN", checksummed(rng, "npm_"))]


g_pypi = one_value("pypi_token", "PYPI_API_TOKEN", "pypi-AgEIcHlwaS5vcmc", B64URL, 150)
g_docker = one_value("dockerhub_pat", "DOCKERHUB_TOKEN", "dckr_pat_", B64URL, 27)
g_shopify = one_value("shopify_access_token", "SHOPIFY_ACCESS_TOKEN", "shpat_", HEX, 32)


def g_pem_rsa(rng):
    return [("private_key_rsa", "RSA_PRIVATE_KEY", pem(rng, "RSA PRIVATE KEY", "MIIEowIBAAKCAQEA", 1592))]


def g_pem_ec(rng):
    return [("private_key_ec", "EC_PRIVATE_KEY", pem(rng, "EC PRIVATE KEY", "MHcCAQEEI", 164))]


def g_pem_openssh(rng):
    return [("private_key_openssh", "SSH_PRIVATE_KEY", pem(
        rng, "OPENSSH PRIVATE KEY", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", 400))]


def g_pem_pgp(rng):
    body = "lQOYBG" + rs(rng, B64, 1300)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    block = ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n%s\n=%s\n-----END PGP PRIVATE KEY BLOCK-----"
             % ("\n".join(lines), rs(rng, B64, 4)))
    return [("private_key_pgp", "PGP_PRIVATE_KEY", block)]


def db_password(rng):
    return rs(rng, ALNUM, 8) + rng.choice("!#%*") + rs(rng, ALNUM, 11)


def g_postgres(rng):
    return [("database_url_postgres", "DATABASE_URL",
             "postgres://app_%s:%s@orders-prod.cluster-%s.us-east-1.rds.amazonaws.com:5432/orders"
             % (rs(rng, string.ascii_lowercase, 5), db_password(rng), rs(rng, LOWER_ALNUM, 12)))]


def g_mysql(rng):
    return [("database_url_mysql", "MYSQL_URL", "mysql://admin_%s:%s@shop-db.%s.eu-west-1.rds.amazonaws.com:3306/shop"
             % (rs(rng, string.ascii_lowercase, 4), db_password(rng), rs(rng, LOWER_ALNUM, 12)))]


def g_mongodb(rng):
    return [("database_url_mongodb", "MONGODB_URI", "mongodb+srv://svc_%s:%s@cluster0.%s.mongodb.net/app"
             % (rs(rng, string.ascii_lowercase, 4), db_password(rng), rs(rng, LOWER_ALNUM, 5)))]


def g_redis(rng):
    return [("database_url_redis", "REDIS_URL", "redis://default:%s@redis-%s.c%s.us-east-1-3.ec2.cloud.redislabs.com:6379/0"
             % (db_password(rng), rs(rng, string.digits, 5), rs(rng, string.digits, 3)))]


g_jwt_secret = one_value("jwt_secret", "JWT_SECRET", "", ALNUM, 48)
g_generic_secret = one_value("generic_api_secret", "API_SECRET", "", ALNUM, 32)


def g_generic_token(rng):
    name = rng.choice(["SERVICE_TOKEN", "INTERNAL_AUTH_TOKEN", "BILLING_API_TOKEN"])
    return [("generic_token_assignment", name, rs(rng, B64URL, 40))]


g_dotenv = one_value("dotenv_session_secret", "SESSION_SECRET", "", HEX, 64)


# kind generator, preferred contexts (file types). "env" and "json" and "pem" are new files; the others modify an
# existing file of that extension.
GENERATORS = [
    (g_aws, ["py", "env", "toml"]),
    (g_gcp_sa, ["json", "json", "py"]),
    (g_google_api, ["js", "ts", "yaml"]),
    (g_azure_storage, ["env", "rs", "json"]),
    (g_github_classic, ["rs", "yaml", "md"]),
    (g_github_fine, ["go", "env", "py"]),
    (g_github_oauth, ["ts", "toml", "c"]),
    (g_gitlab, ["yaml", "rs", "env"]),
    (g_slack_bot, ["py", "js", "env"]),
    (g_slack_webhook, ["md", "json", "go"]),
    (g_discord_webhook, ["js", "toml", "py"]),
    (g_discord_bot, ["py", "env", "rs"]),
    (g_stripe_live, ["rs", "env", "ts"]),
    (g_stripe_restricted, ["go", "yaml", "json"]),
    (g_stripe_webhook, ["env", "js", "toml"]),
    (g_stripe_test, ["py", "rs", "md"]),
    (g_braintree, ["c", "env", "py"]),
    (g_square, ["js", "yaml", "rs"]),
    (g_square_eaaa, ["ts", "env", "go"]),
    (g_twilio, ["py", "env", "json"]),
    (g_sendgrid, ["rs", "js", "env"]),
    (g_mailgun, ["go", "py", "toml"]),
    (g_postmark, ["env", "yaml", "py"]),
    (g_resend, ["ts", "env", "rs"]),
    (g_mailchimp, ["py", "json", "env"]),
    (g_openai_proj, ["py", "env", "ts"]),
    (g_openai_legacy, ["js", "rs", "md"]),
    (g_anthropic, ["py", "env", "go"]),
    (g_huggingface, ["py", "md", "yaml"]),
    (g_supabase, ["ts", "env", "json"]),
    (g_fcm, ["js", "json", "c"]),
    (g_cloudflare, ["env", "yaml", "toml"]),
    (g_digitalocean, ["go", "env", "yaml"]),
    (g_heroku_v2, ["rs", "env", "py"]),
    (g_heroku_uuid, ["env", "yaml", "md"]),
    (g_vercel, ["env", "js", "json"]),
    (g_netlify, ["toml", "env", "ts"]),
    (g_npm, ["env", "yaml", "js"]),
    (g_pypi, ["toml", "py", "env"]),
    (g_docker, ["yaml", "env", "go"]),
    (g_shopify, ["rs", "ts", "env"]),
    (g_pem_rsa, ["pem", "py", "rs"]),
    (g_pem_ec, ["pem", "go", "yaml"]),
    (g_pem_openssh, ["pem", "md", "pem"]),
    (g_pem_pgp, ["pem", "txt", "pem"]),
    (g_postgres, ["env", "rs", "yaml"]),
    (g_mysql, ["py", "env", "toml"]),
    (g_mongodb, ["js", "env", "json"]),
    (g_redis, ["go", "env", "yaml"]),
    (g_jwt_secret, ["env", "rs", "ts"]),
    (g_generic_secret, ["py", "rs", "js"]),
    (g_generic_token, ["env", "go", "toml"]),
    (g_dotenv, ["env", "env", "env"]),
]


def lower_name(name):
    return name.lower()


def render(ctx, items, rng):
    """Lines (str, may contain newlines for PEM) laying the items out in the style of file type ctx."""
    out = []
    for kind, name, value in items:
        if isinstance(value, dict):  # GCP service-account JSON
            text = json.dumps(value, indent=2)
            if ctx == "json":
                out.append(text)
            elif ctx == "py":
                out.append("%s_JSON = r'''%s'''" % (name, text))
            else:
                out.append(text)
            continue
        multiline = "\n" in value
        if ctx == "rs":
            out.append('const %s: &str = r#"%s"#;' % (name, value) if multiline else
                       'const %s: &str = "%s";' % (name, value))
        elif ctx == "py":
            out.append('%s = """%s"""' % (name, value) if multiline else '%s = "%s"' % (name, value))
        elif ctx in ("js", "ts"):
            out.append('const %s = `%s`;' % (name, value) if multiline else 'const %s = "%s";' % (name, value))
        elif ctx == "go":
            out.append('const %s = `%s`' % (name, value) if multiline else 'const %s = "%s"' % (name, value))
        elif ctx in ("c", "h"):
            v = value.replace("\n", "\\n")
            out.append('static const char *%s = "%s";' % (name, v))
        elif ctx == "toml":
            out.append("%s = '''\n%s'''" % (lower_name(name), value) if multiline else
                       '%s = "%s"' % (lower_name(name), value))
        elif ctx == "yaml":
            if multiline:
                out.append("%s: |\n%s" % (lower_name(name), "\n".join("  " + ln for ln in value.split("\n"))))
            else:
                out.append('%s: "%s"' % (lower_name(name), value))
        elif ctx in ("md", "txt"):
            out.append("```\n%s\n```" % value if multiline else "```sh\nexport %s=%s\n```" % (name, value))
        elif ctx == "env":
            out.append('%s="%s"' % (name, value.replace("\n", "\\n")) if multiline else "%s=%s" % (name, value))
        elif ctx == "json":
            out.append(json.dumps({lower_name(name): value}, indent=2))
        elif ctx == "pem":
            out.append(value)
        else:
            raise ValueError(ctx)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------

def git_blob_sha(data):
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def collect_sources(roots, exts=TEXT_EXTS):
    files = []
    for root in roots:
        root = os.path.abspath(root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                if os.path.splitext(fn)[1] not in exts or os.path.islink(full):
                    continue
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                if "\n" in rel or rel.startswith('"') or any(ord(c) < 32 for c in rel):
                    continue
                try:
                    size = os.path.getsize(full)
                except OSError:
                    continue
                if 0 < size <= MAX_FILE:
                    files.append((rel, full, size))
    files.sort()
    # Drop duplicate relative paths from several registry roots (keep the first).
    seen, out = set(), []
    for rel, full, size in files:
        if rel not in seen:
            seen.add(rel)
            out.append((rel, full, size))
    return out


# Mode B's host trees (Python and npm packages) also carry these.
TEXT_EXTS_B = TEXT_EXTS | {".mjs", ".cjs", ".jsx", ".tsx", ".pyi", ".cfg", ".ini"}

COMMENT = {".mjs": "//", ".cjs": "//", ".jsx": "//", ".tsx": "//", ".pyi": "#", ".cfg": "#", ".ini": "#",
           ".rs": "//", ".c": "//", ".h": "//", ".js": "//", ".ts": "//", ".go": "//", ".py": "#", ".toml": "#",
           ".yml": "#", ".yaml": "#", ".md": "", ".txt": "", ".css": None, ".html": None, ".json": None}
WORDS = ("refactor tidy revisit clarify adjust rename document benchmark review simplify inline extract note "
         "cache buffer parser iterator allocation boundary layout module handler fallback retry").split()


class Generator:
    def __init__(self, out_dir, size_mb, seed, roots, mode="A"):
        self.mode = mode
        self.b_cycle = {}
        self.base = os.path.abspath(out_dir)
        self.out = os.path.join(self.base, "repo")
        self.target = int(size_mb * 1024 * 1024)
        self.rng = random.Random(seed)
        self.seed = seed
        self.roots = roots
        self.files = {}          # path -> bytes (current content on main)
        self.blob_sizes = {}     # sha -> size, every unique blob written
        self.main_blobs = set()  # shas reachable from main
        self.mark = 0
        self.commit_no = 0
        self.commit_marks = []
        self.plants = []
        self.stream = None
        self.bytes_streamed = 0

    # -- fast-import plumbing --
    def next_mark(self):
        self.mark += 1
        return self.mark

    def w(self, data):
        self.stream.write(data)

    def blob(self, data, main=True):
        sha = git_blob_sha(data)
        new = sha not in self.blob_sizes
        self.blob_sizes[sha] = len(data)
        if main:
            self.main_blobs.add(sha)
        m = self.next_mark()
        self.w(b"blob\nmark :%d\ndata %d\n" % (m, len(data)))
        self.w(data)
        self.w(b"\n")
        self.bytes_streamed += len(data)
        return m

    def commit(self, ref, message, changes, parent_mark=None, main=True):
        """changes: list of (path, bytes or None for delete)."""
        ops = []
        for path, data in changes:
            if data is None:
                ops.append(b"D " + path.encode() + b"\n")
            else:
                m = self.blob(data, main=main)
                ops.append(b"M 100644 :%d %s\n" % (m, path.encode()))
        cm = self.next_mark()
        when = EPOCH + self.commit_no * 3600
        self.commit_no += 1
        msg = message.encode()
        self.w(b"commit %s\nmark :%d\n" % (ref.encode(), cm))
        self.w(b"author %s %d +0000\ncommitter %s %d +0000\n" % (AUTHOR, when, AUTHOR, when))
        self.w(b"data %d\n%s\n" % (len(msg), msg))
        if parent_mark is not None:
            self.w(b"from :%d\n" % parent_mark)
        for op in ops:
            self.w(op)
        self.w(b"\n")
        self.commit_marks.append(cm)
        return cm

    def main_bytes(self):
        return sum(self.blob_sizes[s] for s in self.main_blobs)

    # -- content helpers --
    def paths_with_ext(self, ext):
        return [p for p in self.sorted_paths if p.endswith(ext)]

    def evolve_one(self, path, rev):
        data = self.files[path]
        ext = os.path.splitext(path)[1]
        lines = data.split(b"\n")
        i = self.rng.randrange(len(lines) + 1)
        words = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(3, 8)))
        prefix = COMMENT.get(ext)
        if prefix is None:
            # Formats without a line comment: change a copy of an existing line's whitespace instead.
            if ext == ".json":
                lines.insert(i, b"")
            else:
                lines.insert(i, ("<!-- rev %d: %s -->" % (rev, words) if ext == ".html" else
                                 "/* rev %d: %s */" % (rev, words)).encode())
        else:
            lines.insert(i, ("%s rev %d: %s" % (prefix, rev, words)).strip().encode())
        self.files[path] = b"\n".join(lines)

    def insertion_point(self, lines):
        """A line index before a top-level line (no leading whitespace), or the end."""
        candidates = [i for i in range(1, len(lines)) if lines[i - 1].strip() == b"" and lines[i][:1] not in
                      (b" ", b"\t", b"}", b")", b"]")]
        if candidates:
            return self.rng.choice(candidates)
        return len(lines)

    def plant(self, index, spec, ref_kind, new_file_counter):
        """Returns (path, new_content_bytes, items, ctx)."""
        if self.mode == "B":
            return self.plant_b(spec, ref_kind)
        gen, contexts = spec
        ctx = contexts[index % len(contexts)]
        items = gen(self.rng)
        kind0 = items[0][0]
        if ctx in ("env", "json", "pem"):
            crate = self.rng.choice(self.crate_dirs)
            if ctx == "env":
                path = "%s/%s" % (crate, ".env" if new_file_counter % 2 == 0 else "config/.env.production")
            elif ctx == "json":
                path = "%s/config/%s-%d.json" % (crate, kind0.replace("_", "-"), new_file_counter)
            else:
                names = {"private_key_rsa": "deploy_rsa.pem", "private_key_ec": "signing-ec.pem",
                         "private_key_openssh": "id_ed25519", "private_key_pgp": "release-signing.asc"}
                path = "%s/keys/%s" % (crate, names.get(kind0, "key-%d.pem" % new_file_counter))
            text = render(ctx, items, self.rng)
            base = self.files.get(path, b"") if ref_kind == "main" else b""
            if ctx == "env":
                head = b"" if base else b"# local settings\nAPP_ENV=production\nLOG_LEVEL=info\n"
                content = base + head + text.encode() + b"\n"
            else:
                content = text.encode() + b"\n"
                if base:  # never clobber an earlier plant in the same new file
                    path = path.replace(".", "-%d." % new_file_counter, 1) if "." in path.split("/")[-1] else \
                        path + "-%d" % new_file_counter
            return path, content, items, ctx
        ext = {"yaml": ".yml" if self.rng.random() < 0.5 else ".yaml"}.get(ctx, "." + ctx)
        pool = []
        for e in (ext, "." + ctx, {".c": ".h", ".ts": ".js", ".js": ".ts", ".go": ".rs", ".txt": ".md"}.get(ext, ".rs"),
                  ".rs"):
            pool = self.ext_pools.get(e, [])
            if pool:
                break
        if not pool:
            raise SystemExit("no source file with extension %s to plant into" % ext)
        path = self.rng.choice(pool)
        # Lay the value out in the style of the file actually chosen (the fallback may differ from ctx).
        ctx = {".rs": "rs", ".py": "py", ".js": "js", ".ts": "ts", ".go": "go", ".c": "c", ".h": "c",
               ".toml": "toml", ".yml": "yaml", ".yaml": "yaml", ".md": "md", ".txt": "txt"}[os.path.splitext(path)[1]]
        text = render(ctx, items, self.rng)
        lines = self.files[path].split(b"\n")
        at = self.insertion_point(lines)
        block = text.encode().split(b"\n") + [b""]
        lines[at:at] = block
        return path, b"\n".join(lines), items, ctx

    # -- mode B (held-out): placements and syntaxes come from mode_b only --
    def plant_b(self, spec, ref_kind):
        items = spec(self.rng)
        value0, role = items[0][2], items[0][3]
        # Rotate through every syntax of the value's category (shuffled per round) so all of them get used.
        choices = mode_b.syntaxes_for(value0, role)
        key = tuple(c[0] for c in choices)
        queue = self.b_cycle.setdefault(key, [])
        if not queue:
            queue.extend(self.rng.sample(choices, len(choices)))
        syntax = queue.pop(0)
        where = syntax[1]
        if where.startswith("host:"):
            pool = self.ext_pools.get("." + where[5:], []) or self.ext_pools.get(".py", [])
            path = self.rng.choice(pool)
            lines = self.files[path].split(b"\n")
            at = self.rng.randrange(1, len(lines) + 1)
            block = []
            for kind, name, value, _ in items:
                block.append(mode_b.render_b(syntax, name, value, self.rng)[1].encode())
            lines[at:at] = block
            content = b"\n".join(lines)
        else:
            texts = []
            path = None
            for kind, name, value, _ in items:
                p, t = mode_b.render_b(syntax, name, value, self.rng)
                path = path or p
                texts.append(t)
            base = self.files.get(path, b"") if ref_kind == "main" else b""
            sep = b"\n" if base and not base.endswith(b"\n") else b""
            content = base + sep + ("\n".join(texts) + "\n").encode()
        return path, content, [(k, n, v) for k, n, v, _ in items], syntax[0]

    def plant_decoys_b(self, changes):
        self.decoys = []
        for kind, where, text in mode_b.DECOYS_B:
            path = where.split(":", 1)[1]
            base = self.files.get(path, b"")
            self.files[path] = base + text.encode() + b"\n"
            changes[path] = True
            self.decoys.append({"kind": kind, "path": path, "text": text})

    # -- main --
    def run(self):
        t0 = time.time()
        if os.path.exists(self.base) and os.listdir(self.base):
            raise SystemExit("%s exists and is not empty" % self.base)
        os.makedirs(self.out)
        sources = collect_sources(self.roots, TEXT_EXTS_B if self.mode == "B" else TEXT_EXTS)
        if self.mode == "B":
            # An npm host tree is a project's installed packages; a project commits its own packages, never
            # node_modules/ (which scanners skip), so they go in as packages/<name>.
            sources = [(rel.replace("node_modules/", "packages/"), full, size) for rel, full, size in sources]
        total_src = sum(s for _, _, s in sources)
        print("sources: %d files, %.1f MiB" % (len(sources), total_src / 2 ** 20), file=sys.stderr)
        # Import at most ~60% of the target from fresh files; evolution supplies the rest.
        budget = int(self.target * 0.6)
        # When the sources exceed the budget, take an evenly spread subset (every file type still represented).
        chosen, acc = [], 0
        ratio = min(1.0, budget / max(1, total_src))
        credit = 0.0
        for rel, full, size in sources:
            credit += ratio
            if credit >= 1.0 or ratio >= 1.0:
                credit -= 1.0
                chosen.append((rel, full))
                acc += size

        subprocess.run(["git", "init", "-q", "-b", "main", self.out], check=True)
        marks_file = os.path.join(self.out, ".git", "bench-marks")
        proc = subprocess.Popen(["git", "-C", self.out, "fast-import", "--quiet", "--export-marks=" + marks_file],
                                stdin=subprocess.PIPE)
        self.stream = proc.stdin
        head = None
        main_ref = "refs/heads/main"

        # 1. import
        for b in range(0, len(chosen), IMPORT_BATCH):
            changes = []
            for rel, full in chosen[b:b + IMPORT_BATCH]:
                with open(full, "rb") as f:
                    data = f.read()
                self.files[rel] = data
                changes.append((rel, data))
            head = self.commit(main_ref, "import sources %d-%d" % (b, b + len(changes) - 1), changes, head)
        self.sorted_paths = sorted(self.files)
        self.ext_pools = {}
        for p in self.sorted_paths:
            self.ext_pools.setdefault(os.path.splitext(p)[1], []).append(p)
        self.crate_dirs = sorted({p.split("/")[0] for p in self.sorted_paths})
        evolvable = [p for p in self.sorted_paths]
        # ~100 files per evolution commit at full size; fewer for small targets so the plant commits do not
        # overshoot the target by much.
        avg = max(1, acc // max(1, len(chosen)))
        self.evolve_batch = max(5, min(EVOLVE_BATCH, self.target // (avg * 200)))
        print("imported %d files, %.1f MiB unique blobs" % (len(self.files), self.main_bytes() / 2 ** 20),
              file=sys.stderr)

        # 2. plant schedule: every kind N times; each plant gets a place (main / side / tag) and maybe a deletion.
        schedule = []
        n = 0
        for spec in (mode_b.GENERATORS_B if self.mode == "B" else GENERATORS):
            for i in range(4 if self.mode == "B" else 3):
                where = "side" if n % 10 == 7 else "tag" if n % 10 == 3 else "main"
                schedule.append((spec, i, where))
                n += 1
        main_plants = [s for s in schedule if s[2] == "main"]
        off_plants = [s for s in schedule if s[2] != "main"]

        # 3. evolution with plants in the first commits, deletions a while later.
        rev = 0
        pending = list(main_plants)
        planted_live = []   # (plant index, path, value lines) on main, candidates for deletion
        deletions_done = False
        delete_at = (len(main_plants) + PLANTS_PER_COMMIT - 1) // PLANTS_PER_COMMIT + 5
        side_base = tag_base = None
        new_file_counter = 0
        while True:
            rev += 1
            changes = {}
            for path in self.rng.sample(evolvable, min(self.evolve_batch, len(evolvable))):
                self.evolve_one(path, rev)
                changes[path] = True
            this_commit_plants = []
            if self.mode == "B" and rev == 1:
                self.plant_decoys_b(changes)
            for _ in range(PLANTS_PER_COMMIT):
                if not pending:
                    break
                spec, i, where = pending.pop(0)
                new_file_counter += 1
                path, content, items, ctx = self.plant(i, spec, "main", new_file_counter)
                self.files[path] = content
                if path not in self.ext_pools.get(os.path.splitext(path)[1], []) and ctx not in ("env", "json", "pem"):
                    pass
                changes[path] = True
                this_commit_plants.append((path, items, ctx))
            msg = "evolve %d" % rev
            deleted_now = []
            if not pending and not deletions_done and rev >= delete_at:
                # Delete about a third of the main plants: remove the planted lines again.
                cand = [p for p in self.plants if p["ref"] == "refs/heads/main" and p["deleted_in"] is None]
                groups = {}
                for p in cand:
                    groups.setdefault(p["group"], []).append(p)
                gids = sorted(groups)
                self.rng.shuffle(gids)
                for gid in gids[: len(gids) // 3]:
                    for p in groups[gid]:
                        self.remove_plant(p)
                        changes[p["path"]] = True
                        deleted_now.append(p)
                deletions_done = True
                msg = "evolve %d; remove hard-coded credentials" % rev
            head = self.commit(main_ref, msg, [(p, self.files[p]) for p in sorted(changes)], head)
            for path, items, ctx in this_commit_plants:
                gid = len({p["group"] for p in self.plants})
                for kind, name, value in items:
                    self.record(kind, value, path, ctx, head, "refs/heads/main", gid)
            for p in deleted_now:
                p["deleted_in_mark"] = head
                p["deleted_in"] = "pending"
            if rev == 3:
                side_base = head
            if rev == 6:
                tag_base = head
            if not pending and deletions_done and self.main_bytes() >= self.target:
                break

        # 4. side branch and tag: plants only there.
        for ref, base, kind in (("refs/heads/feature/side-experiments", side_base, "side"),
                                ("refs/tags/v0.9.0-rc1", tag_base, "tag")):
            snapshot = dict(self.files)  # side content must not leak into main's bookkeeping
            parent = base
            todo = [s for s in off_plants if s[2] == kind]
            while todo:
                batch, todo = todo[:4], todo[4:]
                changes = {}
                recs = []
                for spec, i, _ in batch:
                    new_file_counter += 1
                    path, content, items, ctx = self.plant(i, spec, kind, new_file_counter)
                    self.files[path] = content
                    changes[path] = content
                    recs.append((path, items, ctx))
                parent = self.commit(ref, "%s: experiment %d" % (kind, new_file_counter), sorted(changes.items()),
                                     parent, main=False)
                for path, items, ctx in recs:
                    gid = len({p["group"] for p in self.plants})
                    for k, name, value in items:
                        self.record(k, value, path, ctx, parent, ref, gid)
            self.files = snapshot
        # make HEAD point at main
        self.w(b"reset refs/heads/main\nfrom :%d\n\n" % head)
        self.stream.close()
        if proc.wait() != 0:
            raise SystemExit("git fast-import failed")
        print("fast-import done in %.0fs" % (time.time() - t0), file=sys.stderr)
        subprocess.run(["git", "-C", self.out, "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
        subprocess.run(["git", "-C", self.out, "reset", "-q", "--hard", "main"], check=True)

        marks = {}
        with open(marks_file) as f:
            for line in f:
                m, sha = line.split()
                marks[int(m[1:])] = sha
        os.unlink(marks_file)
        for p in self.plants:
            p["commit"] = marks[p.pop("commit_mark")]
            dm = p.pop("deleted_in_mark", None)
            p["deleted_in"] = marks[dm] if dm else None
            p["in_worktree"] = p["ref"] == "refs/heads/main" and p["deleted_in"] is None
            p["line_at_head"] = self.line_at_head(p) if p["in_worktree"] else None
            p.pop("remove_lines", None)
        self.write_outputs(t0)

    def record(self, kind, value, path, ctx, commit_mark, ref, gid):
        if isinstance(value, dict):
            value = value["private_key"].rstrip("\n")
        self.plants.append({"id": len(self.plants), "kind": kind, "value": value, "context": ctx, "path": path,
                            "ref": ref, "commit_mark": commit_mark, "deleted_in": None, "group": gid})

    def remove_plant(self, p):
        """Remove every line that carries (part of) the planted value from the file on main."""
        data = self.files[p["path"]]
        value_lines = [ln.encode() for ln in p["value"].split("\n") if len(ln) >= 8]
        # also escaped forms (JSON / .env / C keep PEM newlines as \n)
        escaped = p["value"].replace("\n", "\\n").encode()
        lines = data.split(b"\n")
        keep = []
        for ln in lines:
            if escaped in ln or any(v in ln for v in value_lines):
                continue
            keep.append(ln)
        self.files[p["path"]] = b"\n".join(keep)

    def line_at_head(self, p):
        data = self.files[p["path"]]
        first = p["value"].split("\n")[0]
        lines = data.split(b"\n")
        needles = [p["value"].replace("\n", "\\n").encode(), first.encode()]
        if first.startswith("-----BEGIN"):
            needles = [p["value"].split("\n")[1].encode()] if "\n" in p["value"] else needles
        for i, ln in enumerate(lines):
            if any(nd in ln for nd in needles):
                return i + 1
        return None

    def write_outputs(self, t0):
        all_bytes = sum(self.blob_sizes.values())
        main_bytes = self.main_bytes()
        out = subprocess.run(["git", "-C", self.out, "cat-file", "--batch-all-objects",
                              "--batch-check=%(objecttype) %(objectsize)"], check=True, capture_output=True,
                             text=True).stdout
        git_blob_bytes = git_blobs = 0
        for line in out.splitlines():
            t, s = line.split()
            if t == "blob":
                git_blobs += 1
                git_blob_bytes += int(s)
        tree = subprocess.run(["git", "-C", self.out, "ls-tree", "-r", "-l", "HEAD"], check=True,
                              capture_output=True, text=True).stdout
        head_bytes = head_files = 0
        for line in tree.splitlines():
            meta, _path = line.split("\t", 1)
            head_bytes += int(meta.split()[3])
            head_files += 1
        commits = int(subprocess.run(["git", "-C", self.out, "rev-list", "--all", "--count"], check=True,
                                     capture_output=True, text=True).stdout)
        stats = {
            "seed": self.seed, "target_bytes": self.target,
            "unique_blob_bytes_main": main_bytes, "unique_blobs_main": len(self.main_blobs),
            "unique_blob_bytes_all_refs": all_bytes, "unique_blobs_all_refs": len(self.blob_sizes),
            "git_cat_file_blob_bytes": git_blob_bytes, "git_cat_file_blobs": git_blobs,
            "bookkeeping_matches_git": git_blob_bytes == all_bytes and git_blobs == len(self.blob_sizes),
            "head_files": head_files, "head_bytes": head_bytes, "commits_all_refs": commits,
            "plants": len(self.plants), "plants_in_worktree": sum(p["in_worktree"] for p in self.plants),
            "plants_deleted": sum(p["deleted_in"] is not None for p in self.plants),
            "plants_side_branch_or_tag": sum(p["ref"] != "refs/heads/main" for p in self.plants),
            "kinds": len({p["kind"] for p in self.plants}),
            "head": subprocess.run(["git", "-C", self.out, "rev-parse", "HEAD"], check=True, capture_output=True,
                                   text=True).stdout.strip(),
            "seconds": round(time.time() - t0, 1),
        }
        # Beside the repository, never inside it: a scanner of the working tree (or of .git) must not see them.
        with open(os.path.join(self.base, "planted.json"), "w") as f:
            json.dump(self.plants, f, indent=1)
        if self.mode == "B":
            with open(os.path.join(self.base, "decoys.json"), "w") as f:
                json.dump(self.decoys, f, indent=1)
        stats["mode"] = self.mode
        with open(os.path.join(self.base, "generator-stats.json"), "w") as f:
            json.dump(stats, f, indent=1)
        print(json.dumps(stats, indent=1))
        if not stats["bookkeeping_matches_git"]:
            print("WARNING: generator bookkeeping and git cat-file disagree", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--size-mb", type=float, default=520, help="target unique blob MiB reachable from HEAD")
    ap.add_argument("--mode", choices=["A", "B"], default="A",
                    help="A: the tuning corpus (this file's GENERATORS/render); B: the held-out corpus (mode_b.py: "
                         "its own values, syntaxes, placements and host trees; never tuned against)")
    ap.add_argument("--seed", type=int, help="default 7 in mode A, 1109 in mode B")
    ap.add_argument("--source", action="append",
                    help="source root (repeatable); default: every ~/.cargo/registry/src/*/")
    a = ap.parse_args()
    roots = a.source or sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/")))
    if not roots:
        raise SystemExit("no source roots found")
    seed = a.seed if a.seed is not None else (1109 if a.mode == "B" else 7)
    Generator(a.out_dir, a.size_mb, seed, roots, a.mode).run()


if __name__ == "__main__":
    main()
