"""Generator mode B: the held-out corpus.

Written before any rule was tuned against it and kept apart from mode A on purpose: its own value generators, its
own syntax list (SYNTAX_B), its own placements (new application files in a dozen languages and config formats,
indented lines inside real Python/JavaScript host files, built bundles, client-exposed variables) and its own seed.
Nothing here is imported by mode A and nothing from mode A's GENERATORS/render is used here, so tuning the scanner
on mode A cannot leak into this corpus. Rules are never tuned against this mode's misses. Only the format building
blocks (alphabets, random strings, checksummed tokens, PEM armour) come from fakes.py, which both modes share.

Every value is a random, format-valid FAKE from the seeded RNG: none is a real credential.
"""

import base64
import json
import string
import uuid

from fakes import ALNUM, B64, B64URL, BASE32, HEX, LOWER_ALNUM, b64url_json, checksummed, pem, rs


def _jwt(rng, payload, alg="HS256"):
    return "%s.%s.%s" % (b64url_json({"alg": alg, "typ": "JWT"}), b64url_json(payload),
                         rs(rng, B64URL, 43 if alg == "HS256" else 342))


def _dbpw(rng):
    return rs(rng, ALNUM, 10) + rng.choice("-_.~") + rs(rng, ALNUM, 9)


# Value generators of mode B: (kind, name, value, role). `name` is the variable name as a developer of a membership
# site would write it; the renderer converts its case to the language's convention. `role` is "server" or "client"
# (client: the name carries a browser-exposed framework prefix).
def v_twilio(rng):
    return [("twilio_account_sid", "TWILIO_ACCOUNT_SID", "AC" + rs(rng, HEX, 32), "server"),
            ("twilio_auth_token_b", "TWILIO_AUTH_TOKEN", rs(rng, HEX, 32), "server")]


def v_postmark(rng):
    return [("postmark_token_b", "POSTMARK_API_TOKEN", str(uuid.UUID(int=rng.getrandbits(128), version=4)), "server")]


def v_mailgun_new(rng):
    return [("mailgun_key_b", "MAILGUN_API_KEY",
             "%s-%s-%s" % (rs(rng, HEX, 32), rs(rng, HEX, 8), rs(rng, HEX, 8)), "server")]


def v_sendgrid(rng):
    return [("sendgrid_b", "SENDGRID_KEY", "SG.%s.%s" % (rs(rng, B64URL, 22), rs(rng, B64URL, 43)), "server")]


def v_resend(rng):
    return [("resend_b", "RESEND_KEY", "re_%s_%s" % (rs(rng, ALNUM, 8), rs(rng, ALNUM, 24)), "server")]


def v_brevo(rng):
    return [("brevo_b", "BREVO_API_KEY", "xkeysib-%s-%s" % (rs(rng, HEX, 64), rs(rng, ALNUM, 16)), "server")]


def v_stripe_secret(rng):
    return [("stripe_secret_b", "STRIPE_SECRET_KEY", "sk_live_51" + rs(rng, ALNUM, 97), "server")]


def v_stripe_webhook(rng):
    return [("stripe_whsec_b", "STRIPE_WEBHOOK_SIGNING_SECRET", "whsec_" + rs(rng, ALNUM, 32), "server")]


def v_paypal(rng):
    return [("paypal_client_secret_b", "PAYPAL_CLIENT_SECRET", "E" + rs(rng, B64URL, 79), "server")]


def v_lemonsqueezy(rng):
    return [("lemonsqueezy_b", "LEMONSQUEEZY_API_KEY",
             _jwt(rng, {"aud": "1", "jti": rs(rng, HEX, 80), "iat": 1700000000, "nbf": 1700000000,
                        "sub": str(rng.randrange(10 ** 6)), "scopes": []}, alg="RS256"), "server")]


def v_supabase_service(rng):
    iat = 1700000000 + rng.randrange(10 ** 7)
    return [("supabase_service_b", "SUPABASE_SERVICE_ROLE_KEY",
             _jwt(rng, {"iss": "supabase", "ref": rs(rng, string.ascii_lowercase, 20), "role": "service_role",
                        "iat": iat, "exp": iat + 315360000}), "server")]


def v_auth0_jwt(rng):
    return [("auth0_m2m_jwt_b", "AUTH0_MGMT_TOKEN",
             _jwt(rng, {"iss": "https://acme-%s.us.auth0.com/" % rs(rng, LOWER_ALNUM, 6),
                        "sub": rs(rng, ALNUM, 32) + "@clients", "aud": "https://acme.us.auth0.com/api/v2/",
                        "iat": 1700000000, "gty": "client-credentials"}), "server")]


def v_auth0_secret(rng):
    return [("auth0_client_secret_b", "AUTH0_CLIENT_SECRET", rs(rng, B64URL, 64), "server")]


def v_clerk(rng):
    return [("clerk_secret_b", "CLERK_SECRET_KEY", "sk_live_" + rs(rng, ALNUM, 40), "server")]


def v_nextauth(rng):
    return [("nextauth_secret_b", "NEXTAUTH_SECRET",
             base64.b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode(), "server")]


def v_session_hex(rng):
    return [("session_hex_b", "COOKIE_SECRET", rs(rng, HEX, 64), "server")]


def v_django(rng):
    return [("django_secret_b", "SECRET_KEY", rs(rng, string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)", 50),
             "server")]


def v_b64_signing(rng):
    return [("b64_signing_key_b", "SIGNING_KEY",
             base64.b64encode(bytes(rng.getrandbits(8) for _ in range(48))).decode(), "server")]


def v_openai(rng):
    return [("openai_b", "OPENAI_API_KEY", "sk-proj-" + rs(rng, B64URL, 74) + "T3BlbkFJ" + rs(rng, B64URL, 74),
             "server")]


def v_anthropic(rng):
    return [("anthropic_b", "ANTHROPIC_KEY", "sk-ant-api03-" + rs(rng, B64URL, 93) + "AA", "server")]


def v_aws(rng):
    return [("aws_key_id_b", "AWS_ACCESS_KEY_ID", "AKIA" + rs(rng, BASE32, 16), "server"),
            ("aws_secret_b", "AWS_SECRET_ACCESS_KEY", rs(rng, B64, 40), "server")]


def v_github(rng):
    return [("github_b", "GH_TOKEN", checksummed(rng, "ghp_"), "server")]


def v_algolia_admin(rng):
    return [("algolia_admin_b", "ALGOLIA_ADMIN_API_KEY", rs(rng, HEX, 32), "server")]


def v_pusher(rng):
    return [("pusher_secret_b", "PUSHER_APP_SECRET", rs(rng, HEX, 20), "server")]


def v_cloudinary(rng):
    return [("cloudinary_url_b", "CLOUDINARY_URL", "cloudinary://%s:%s@acme-media"
             % (rs(rng, "0123456789", 15), rs(rng, B64URL, 27)), "server")]


def v_postgres(rng):
    return [("postgres_b", "DATABASE_URL", "postgresql://members_%s:%s@db.%s.supabase.co:5432/postgres"
             % (rs(rng, string.ascii_lowercase, 4), _dbpw(rng), rs(rng, string.ascii_lowercase, 20)), "server")]


def v_mongo(rng):
    return [("mongo_b", "MONGO_URL", "mongodb+srv://api_%s:%s@members.%s.mongodb.net/prod?retryWrites=true"
             % (rs(rng, string.ascii_lowercase, 4), _dbpw(rng), rs(rng, LOWER_ALNUM, 5)), "server")]


def v_amqp(rng):
    return [("amqp_b", "RABBITMQ_URL", "amqps://worker:%s@rabbit.%s.cloudamqp.com/vhost"
             % (_dbpw(rng), rs(rng, string.ascii_lowercase, 8)), "server")]


def v_smtp_password(rng):
    return [("smtp_password_b", "SMTP_PASSWORD", rs(rng, ALNUM, 12) + rng.choice("!$%") + rs(rng, ALNUM, 7),
             "server")]


def v_pkcs8(rng):
    return [("pkcs8_key_b", "JWT_PRIVATE_KEY",
             pem(rng, "PRIVATE KEY", "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQ", 1624), "server")]


def v_ec_key(rng):
    return [("ec_key_b", "APPLE_SIGNING_KEY", pem(rng, "EC PRIVATE KEY", "MHcCAQEEI", 164), "server")]


# Client-exposed: a secret in a variable the framework ships to the browser.
def v_next_public(rng):
    return [("client_next_public_b", "NEXT_PUBLIC_STRIPE_SECRET_KEY", "sk_live_51" + rs(rng, ALNUM, 97), "client")]


def v_vite(rng):
    return [("client_vite_b", "VITE_OPENAI_API_KEY",
             "sk-proj-" + rs(rng, B64URL, 74) + "T3BlbkFJ" + rs(rng, B64URL, 74), "client")]


def v_react_app(rng):
    return [("client_react_app_b", "REACT_APP_SENDGRID_API_KEY",
             "SG.%s.%s" % (rs(rng, B64URL, 22), rs(rng, B64URL, 43)), "client")]


def v_expo(rng):
    return [("client_expo_b", "EXPO_PUBLIC_SUPABASE_SERVICE_KEY",
             _jwt(rng, {"iss": "supabase", "ref": rs(rng, string.ascii_lowercase, 20), "role": "service_role",
                        "iat": 1710000000, "exp": 2025000000}), "client")]


def v_sveltekit(rng):
    return [("client_sveltekit_b", "PUBLIC_MAILGUN_KEY",
             "%s-%s-%s" % (rs(rng, HEX, 32), rs(rng, HEX, 8), rs(rng, HEX, 8)), "client")]


GENERATORS_B = [v_twilio, v_postmark, v_mailgun_new, v_sendgrid, v_resend, v_brevo, v_stripe_secret, v_stripe_webhook,
                v_paypal, v_lemonsqueezy, v_supabase_service, v_auth0_jwt, v_auth0_secret, v_clerk, v_nextauth,
                v_session_hex, v_django, v_b64_signing, v_openai, v_anthropic, v_aws, v_github, v_algolia_admin,
                v_pusher, v_cloudinary, v_postgres, v_mongo, v_amqp, v_smtp_password, v_pkcs8, v_ec_key,
                v_next_public, v_vite, v_react_app, v_expo, v_sveltekit]


# ------------------------------------------------------------------------------------------------------------------
# SYNTAX_B: (syntax id, file kind, template). Templates take {name} in the case the syntax wants ({NAME} SCREAMING,
# {name} lower snake, {camel} camelCase, {Pascal} PascalCase, {dotted} dotted.lower) and {v} the value (single line;
# multi-line values use the syntaxes whose id ends in "_ml").
# File kinds: "newfile:<path pattern>" creates/extends an application file, "host:<ext>" inserts into a real host file
# of that extension (indented like the line above).
SYNTAX_B = [
    ("rust_static", "newfile:services/api/src/config.rs", 'static {NAME}: &str = "{v}";'),
    ("rust_pub_const", "newfile:services/api/src/secrets.rs", 'pub const {NAME}: &str = "{v}";'),
    ("rust_env_fallback", "newfile:services/worker/src/main.rs",
     '    let {name} = std::env::var("{NAME}").unwrap_or_else(|_| "{v}".to_string());'),
    ("ts_typed_const", "newfile:apps/web/src/lib/{file}.ts", "const {camel}: string = '{v}';"),
    ("ts_export_const", "newfile:apps/web/src/config/{file}.ts", "export const {NAME} = '{v}';"),
    ("ts_env_or", "newfile:apps/web/src/server/{file}.ts", "const {camel} = process.env.{NAME} || '{v}';"),
    ("ts_env_nullish", "newfile:apps/web/src/app/api/{file}/route.ts", 'const {camel} = process.env.{NAME} ?? "{v}";'),
    ("vite_meta_env", "newfile:apps/site/src/{file}.js", 'const {camel} = import.meta.env.{NAME} || "{v}";'),
    ("js_object_prop", "newfile:apps/web/lib/{file}.js", "export default {{\n  {camel}: '{v}',\n}};"),
    ("js_module_exports", "newfile:server/config/{file}.js", "module.exports = {{ {camel}: \"{v}\" }};"),
    ("py_getenv_default", "newfile:backend/app/settings.py", '{NAME} = os.getenv("{NAME}", "{v}")'),
    ("py_environ_get", "newfile:backend/app/integrations/{file}.py", '{name} = os.environ.get("{NAME}", "{v}")'),
    ("py_pydantic_field", "newfile:backend/app/core/config.py", '    {name}: str = "{v}"'),
    ("py_dict_literal", "host:py", '    "{name}": "{v}",'),
    ("py_indented_assign", "host:py", '        {name} = "{v}"'),
    ("js_host_fallback", "host:js", "  const {camel} = process.env.{NAME} || \"{v}\";"),
    ("java_static_final", "newfile:backend/src/main/java/com/acme/members/{Pascal}Config.java",
     'public class {Pascal}Config {{\n    private static final String {NAME} = "{v}";\n}}'),
    ("kotlin_val", "newfile:android/app/src/main/java/com/acme/members/{Pascal}.kt", 'val {camel} = "{v}"'),
    ("kotlin_const_val", "newfile:android/app/src/main/java/com/acme/members/Keys.kt",
     'const val {NAME} = "{v}"'),
    ("csharp_const", "newfile:src/Acme.Members.Api/{Pascal}Settings.cs",
     'public static class {Pascal}Settings\n{{\n    public const string {Pascal} = "{v}";\n}}'),
    ("swift_let", "newfile:ios/Members/Config/{Pascal}.swift", 'let {camel} = "{v}"'),
    ("swift_static_let", "newfile:ios/Members/Config/Secrets.swift", '    static let {camel} = "{v}"'),
    ("go_short_decl", "newfile:cmd/members/{file}.go", '\t{camel} := "{v}"'),
    ("go_var", "newfile:internal/config/{file}.go", 'var {camel} = "{v}"'),
    ("ruby_env_fetch", "newfile:config/initializers/{file}.rb", '{NAME} = ENV.fetch("{NAME}", "{v}")'),
    ("ruby_env_or", "newfile:config/initializers/{file}.rb", '{Pascal}.api_key = ENV["{NAME}"] || "{v}"'),
    ("php_define", "newfile:public/wp-config.php", "define('{NAME}', '{v}');"),
    ("php_env_default", "newfile:config/services.php", "    '{name}' => env('{NAME}', '{v}'),"),
    ("shell_default", "newfile:scripts/deploy.sh", ': "${{{NAME}:={v}}}"'),
    ("shell_export", "newfile:scripts/{file}.sh", 'export {NAME}="{v}"'),
    ("compose_fallback", "newfile:docker-compose.yml", "      {NAME}: ${{{NAME}:-{v}}}"),
    ("compose_list", "newfile:deploy/docker-compose.prod.yml", "      - {NAME}={v}"),
    ("dockerfile_env", "newfile:Dockerfile", "ENV {NAME}={v}"),
    ("properties", "newfile:backend/src/main/resources/application-prod.properties", "{dotted}={v}"),
    ("appsettings_json", "newfile:src/Acme.Members.Api/appsettings.Production.json", '{{\n  "{Pascal}": "{v}"\n}}'),
    ("terraform", "newfile:infra/{file}.tf", '  {name} = "{v}"'),
    ("yaml_plain", "newfile:k8s/{file}-config.yaml", "  {name}: {v}"),
    ("toml_quoted", "newfile:config/{file}.toml", '{name} = "{v}"'),
    ("dotenv_local", "newfile:.env.local", "{NAME}={v}"),
    ("dotenv_quoted", "newfile:apps/web/.env", "{NAME}='{v}'"),
    ("workflow_env", "newfile:.github/workflows/deploy.yml", "        {NAME}: {v}"),
    ("curl_readme", "newfile:docs/api.md", '```bash\ncurl -H "Authorization: Bearer {v}" https://api.acme.test/v1/members\n```'),
    ("bundle_minified", "newfile:apps/web/dist/assets/index-{hash}.js",
     'var Xe=Object.defineProperty;const Qt={{{camel}:"{v}",region:"us-east-1"}};function Zn(e){{return fetch(e,{{headers:Qt}})}}'),
    # multi-line values (PEM)
    ("py_triple_ml", "newfile:backend/app/keys.py", '{NAME} = """{v}"""'),
    ("js_template_ml", "newfile:apps/web/src/server/{file}.ts", "export const {camel} = `{v}`;"),
    ("json_escaped_ml", "newfile:config/{file}.json", '{{\n  "{camel}": {vjson}\n}}'),
    ("yaml_block_ml", "newfile:k8s/{file}-secret.yaml",
     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {file}\nstringData:\n  {name}: |\n{vindent}"),
    ("keyfile_ml", "newfile:certs/{file}.key", "{v}"),
    ("env_quoted_ml", "newfile:.env.production.local", '{NAME}="{vesc}"'),
]

# Syntaxes a client-exposed variable is placed in (framework env files, Vite/Next code, bundles).
CLIENT_SYNTAXES = ["dotenv_local", "dotenv_quoted", "ts_env_or", "vite_meta_env", "bundle_minified", "ts_export_const"]

# Decoys: look-alikes that are not secrets. A finding on one of them is a false alarm.
DECOYS_B = [
    ("placeholder", "newfile:apps/web/.env.example", "STRIPE_SECRET_KEY=sk_live_your_key_here"),
    ("placeholder", "newfile:apps/web/.env.example", "OPENAI_API_KEY=<your-openai-key>"),
    ("placeholder", "newfile:backend/app/settings.py", 'SENDGRID_API_KEY = os.getenv("SENDGRID_API_KEY", "changeme")'),
    ("env_ref", "newfile:apps/web/src/server/stripe.ts", "const stripeSecretKey = process.env.STRIPE_SECRET_KEY!;"),
    ("env_ref", "newfile:docker-compose.yml", "      DATABASE_URL: ${DATABASE_URL}"),
    ("ci_ref", "newfile:.github/workflows/deploy.yml", "        VERCEL_TOKEN: ${{ secrets.VERCEL_TOKEN }}"),
    ("identifier", "newfile:services/api/src/config.rs", 'static TOKEN_HEADER_NAME: &str = "x_session_token_header";'),
    ("expression", "newfile:apps/web/src/lib/auth.ts", "const sessionSecret = getSecretFromVault(config.secretName);"),
    ("public_by_design", "newfile:apps/web/.env.local", "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY=pk_live_"
                                                       "51Hx0000000000000000000000000000000000000000000000"),
    ("settings", "newfile:apps/admin/.env", "NODE_ENV=production\nPORT=3000\nLOG_LEVEL=debug\nTZ=UTC"),
    ("url_query", "newfile:docs/api.md", "See https://api.acme.test/v1/search?token_type=bearer&page=2&per_page=50"),
]


def _case(name):
    parts = name.lower().split("_")
    return {
        "NAME": name,
        "name": name.lower(),
        "camel": parts[0] + "".join(p.capitalize() for p in parts[1:]),
        "Pascal": "".join(p.capitalize() for p in parts),
        "dotted": ".".join(parts),
        "file": "-".join(parts[:2]),
    }


def render_b(syntax, name, value, rng):
    """(path, text) for one value in one SYNTAX_B syntax."""
    sid, where, tpl = syntax
    fields = _case(name)
    fields["hash"] = rs(rng, HEX, 8)
    fields["v"] = value
    fields["vjson"] = json.dumps(value)
    fields["vesc"] = value.replace("\n", "\\n")
    fields["vindent"] = "\n".join("    " + ln for ln in value.split("\n"))
    text = tpl.format(**fields)
    path = where.split(":", 1)[1].format(**fields) if where.startswith("newfile:") else None
    return path, text


def syntaxes_for(value, role):
    multiline = "\n" in value
    if multiline:
        return [s for s in SYNTAX_B if s[0].endswith("_ml")]
    if role == "client":
        return [s for s in SYNTAX_B if s[0] in CLIENT_SYNTAXES]
    return [s for s in SYNTAX_B if not s[0].endswith("_ml")]
