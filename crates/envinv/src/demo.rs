//! The demo project for `launchready env`: a small shop in several languages (TypeScript, Python, Ruby, Go,
//! Rust, PHP, Deno) with compose, a GitHub Actions workflow and a Fly config, flawed so that its inventory has
//! at least one finding of every kind. Key-shaped values are assembled when it is written, so no source file of
//! this repository holds one (the repository scans itself for secrets).

use std::path::Path;

fn key(prefix: &str, seed: &str) -> String {
    format!("{prefix}{}", seed.repeat(4))
}

/// The files, relative path and content.
pub fn files() -> Vec<(&'static str, String)> {
    let live = key("sk_live_", "Xq7vB2nL9pRt");
    let test = key("sk_test_", "Zr4kW8mN1sJy");
    let shared = format!(
        "postgres://app:{}@db.internal:5432/app",
        ["Sup3r", "S3cr3t", "Passw0rd"].concat()
    );
    vec![
        ("web/app.ts", "const api = process.env.API_URL;\nconst stripe = process.env.STRIPE_SECRET_KEY;\nconst pub = import.meta.env.VITE_STRIPE_SECRET_KEY;\nconst hook = 'https://hooks.slack.com/services/T000/B000/XXXX';\nconst base = 'http://localhost:3000/api';\n".into()),
        ("worker/main.py", "import os\nDB = os.environ['DATABASE_URL']\nSENTRY = os.getenv('SENTRY_DSN')\n".into()),
        ("billing/charge.rb", "Stripe.api_key = ENV.fetch('STRIPE_SECRET_KEY')\nMAILER = ENV['MAILGUN_API_KEY']\n".into()),
        ("cmd/server/main.go", "package main\nimport \"os\"\nfunc main() { _ = os.Getenv(\"SESSION_SECRET\") }\n".into()),
        ("tools/src/main.rs", "fn main() { let _ = std::env::var(\"DATABASE_URL\"); }\n".into()),
        ("legacy/index.php", format!("<?php $k = getenv('API_URL'); $stripe = \"{live}\";\n")),
        ("edge/handler.ts", "export default () => Deno.env.get(\"EDGE_TOKEN\");\n".into()),
        (".env", format!("API_URL=http://localhost:3000\nDATABASE_URL={shared}\nSTRIPE_SECRET_KEY={live}\nSESSION_SECRET=dev-session-secret-123456\nOLD_FEATURE_FLAG=on\n")),
        (".env.production", format!("API_URL=https://api.example.com\nDATABASE_URL={shared}\nSTRIPE_SECRET_KEY={test}\nSESSION_SECRET=prod-session-8f2b9c1d7e3a\nVITE_STRIPE_SECRET_KEY={live}\n")),
        (".env.example", "API_URL=\nDATABASE_URL=\nSTRIPE_SECRET_KEY=\n".into()),
        (".gitignore", "node_modules\n".into()),
        ("docker-compose.yml", "services:\n  web:\n    environment:\n      - API_URL=${API_URL}\n      - REDIS_URL=redis://redis:6379\n".into()),
        (".github/workflows/deploy.yml", "jobs:\n  deploy:\n    steps:\n      - run: deploy\n        env:\n          TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n".into()),
        ("fly.toml", "app = 'shop'\n[env]\n  LOG_LEVEL = 'info'\n".into()),
    ]
}

/// Writes the project under `root`. `.env.production` is the file a test commits to show `env.file_committed`.
pub fn write(root: &Path) -> std::io::Result<()> {
    for (path, text) in files() {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}
