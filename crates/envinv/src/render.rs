//! The inventory table in Markdown, HTML and JSON: variable, where it is read, each environment's fingerprint,
//! secret or not, owner, notes and who can rotate it. Never a value.

use crate::Row;
use std::fmt::Write as _;

fn environments(row: &Row) -> String {
    if row.environments.is_empty() {
        return "none".to_string();
    }
    row.environments
        .iter()
        .map(|(env, print)| format!("{env} `{print}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn used(row: &Row) -> String {
    match row.used_in.len() {
        0 => "not read".to_string(),
        1..=3 => row.used_in.join(", "),
        n => format!("{} and {} more", row.used_in[..3].join(", "), n - 3),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown table, one row per variable.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "# Environment variable inventory\n\nValues are never shown: equal fingerprints mean equal values.\n\n",
    );
    out.push_str("| Variable | Used in | Environments (fingerprint) | Secret | Owner | Notes | Who can rotate it |\n|---|---|---|---|---|---|---|\n");
    for row in rows {
        let secret = match (row.secret, row.client_exposed) {
            (true, true) => "yes, client-exposed!",
            (true, false) => "yes",
            (false, true) => "no (client-exposed)",
            (false, false) => "no",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {secret} | {} | {} | {} |",
            row.name,
            cell(&used(row)),
            cell(&environments(row)),
            cell(row.owner.as_deref().unwrap_or("—")),
            cell(row.notes.as_deref().unwrap_or("")),
            cell(&row.rotate)
        );
    }
    out
}

/// Text escaped for HTML content and attribute values; the handover page shares it.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One self-contained HTML page.
pub fn html(rows: &[Row]) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Environment variable inventory</title>\
         <style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}code{font-size:.9em}.secret{color:#a00}</style>\
         </head><body><h1>Environment variable inventory</h1><p>Values are never shown: equal fingerprints mean equal values.</p>\n\
         <table><thead><tr><th>Variable</th><th>Used in</th><th>Environments (fingerprint)</th><th>Secret</th><th>Owner</th><th>Notes</th><th>Who can rotate it</th></tr></thead><tbody>\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&row.name),
            esc(&used(row)),
            esc(&environments(row)).replace('`', ""),
            if row.secret { " class=\"secret\"" } else { "" },
            if row.secret { "yes" } else { "no" },
            esc(row.owner.as_deref().unwrap_or("—")),
            esc(row.notes.as_deref().unwrap_or("")),
            esc(&row.rotate)
        );
    }
    out.push_str("</tbody></table></body></html>\n");
    out
}

/// The rows as JSON.
pub fn json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".to_string()) + "\n"
}
