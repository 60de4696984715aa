//! The restore plan: what to change so the live zone matches a snapshot again, ordered to avoid an outage —
//! lower the TTL of every set about to change and wait the old TTL out, put back what is missing, change the rest
//! back, raise the TTLs again, and only then remove what was added since. Rendered as steps, as the snapshot's
//! zone file (for a provider's import), as Cloudflare API calls, and as dnscontrol and octodns configs. Nothing
//! here writes DNS.

use crate::diff::{ChangeKind, diff};
use crate::{Rec, Snapshot, relative};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The TTL changed sets are lowered to before they change, so a mistake in the restore itself is short-lived.
pub const LOW_TTL: u32 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Add these values (the set does not exist).
    Create,
    /// Make the set exactly these values at this TTL.
    Replace,
    /// Remove the whole set.
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub op: Op,
    pub name: String,
    pub rtype: String,
    pub ttl: u32,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub title: String,
    pub why: String,
    /// Seconds to wait after this step before the next one.
    pub wait_seconds: Option<u32>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub domain: String,
    pub steps: Vec<Step>,
    /// Things the plan leaves to a person (nameserver changes at the registrar, SOA serials).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(|s| s.actions.is_empty())
    }
}

fn set_values(snapshot: &Snapshot, name: &str, rtype: &str) -> Vec<String> {
    snapshot
        .rrset(name, rtype)
        .map(|r| r.data.clone())
        .collect()
}

/// The plan that turns `current` back into `snapshot`.
pub fn restore_plan(snapshot: &Snapshot, current: &Snapshot) -> Plan {
    let changes = diff(current, snapshot);
    let mut lower = Vec::new();
    let mut create = Vec::new();
    let mut change_back = Vec::new();
    let mut raise = Vec::new();
    let mut remove = Vec::new();
    let mut notes = Vec::new();
    let mut longest_wait = 0;
    // A CNAME cannot share its name with anything: putting one back first removes what took its place (and
    // the other way round), in the same step, so no provider refuses the create.
    let conflicts: Vec<(String, String)> = changes
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .flat_map(|added| {
            changes.changes.iter().filter(move |removed| {
                removed.kind == ChangeKind::Removed
                    && removed.name == added.name
                    && (added.rtype == "CNAME") != (removed.rtype == "CNAME")
            })
        })
        .map(|c| (c.name.clone(), c.rtype.clone()))
        .collect();
    for change in &changes.changes {
        if change.rtype == "SOA" {
            notes.push("the SOA is the provider's to manage: its serial moves by itself when the records change".to_string());
            continue;
        }
        if change.rtype == "NS" && change.name == snapshot.domain {
            notes.push(format!(
                "nameservers of {} differ: change them at the registrar as well as in the zone ({})",
                snapshot.domain,
                change.meanings.join("; ")
            ));
        }
        let desired_ttl = change.ttl_after.unwrap_or(LOW_TTL);
        let current_ttl = change.ttl_before.unwrap_or(0);
        let values = set_values(snapshot, &change.name, &change.rtype);
        let action = |op, ttl, values: Vec<String>| Action {
            op,
            name: change.name.clone(),
            rtype: change.rtype.clone(),
            ttl,
            values,
        };
        match change.kind {
            ChangeKind::Added => {
                for (name, rtype) in conflicts.iter().filter(|(n, _)| *n == change.name) {
                    create.push(Action {
                        op: Op::Delete,
                        name: name.clone(),
                        rtype: rtype.clone(),
                        ttl: current.rrset(name, rtype).map(|r| r.ttl).max().unwrap_or(0),
                        values: set_values(current, name, rtype),
                    });
                }
                create.push(action(Op::Create, desired_ttl, values));
            }
            ChangeKind::Removed
                if conflicts.contains(&(change.name.clone(), change.rtype.clone())) => {}
            ChangeKind::Removed => remove.push(action(
                Op::Delete,
                current_ttl,
                set_values(current, &change.name, &change.rtype),
            )),
            ChangeKind::Changed => {
                if current_ttl > LOW_TTL {
                    lower.push(action(
                        Op::Replace,
                        LOW_TTL,
                        set_values(current, &change.name, &change.rtype),
                    ));
                    longest_wait = longest_wait.max(current_ttl);
                }
                let interim = if desired_ttl > LOW_TTL {
                    LOW_TTL
                } else {
                    desired_ttl
                };
                change_back.push(action(Op::Replace, interim, values.clone()));
                if interim != desired_ttl {
                    raise.push(action(Op::Replace, desired_ttl, values));
                }
            }
            ChangeKind::Ttl => raise.push(action(Op::Replace, desired_ttl, values)),
        }
    }
    notes.dedup();
    let mut steps = Vec::new();
    let mut push = |title: &str, why: String, wait: Option<u32>, actions: Vec<Action>| {
        if !actions.is_empty() {
            steps.push(Step {
                title: title.to_string(),
                why,
                wait_seconds: wait,
                actions,
            });
        }
    };
    push(
        "Lower the TTL of every record set about to change",
        format!(
            "resolvers hold the current values for up to {longest_wait}s; at {LOW_TTL}s a mistake in the restore fixes itself quickly. \
             If the current values are an outage right now, skip the wait and go on."
        ),
        (longest_wait > 0).then_some(longest_wait),
        lower,
    );
    push(
        "Put back the record sets that are missing",
        "nothing caches a record that does not exist beyond the SOA's negative TTL, so these are safe first".to_string(),
        None,
        create,
    );
    push(
        "Change the record sets back",
        format!(
            "at {LOW_TTL}s, so each takes effect within five minutes and can be corrected as fast"
        ),
        (!raise.is_empty()).then_some(LOW_TTL),
        change_back,
    );
    push(
        "Restore the snapshot's TTLs",
        "once the site and mail work again with the restored values".to_string(),
        None,
        raise,
    );
    push(
        "Remove the record sets added since the snapshot",
        "last, and only if adding them was the mistake: something may already depend on them"
            .to_string(),
        None,
        remove,
    );
    Plan {
        domain: snapshot.domain.clone(),
        steps,
        notes,
    }
}

/// `current` with every action applied: what the zone holds once the plan has run. The plan is correct when
/// this equals the snapshot.
pub fn apply(plan: &Plan, current: &Snapshot) -> Snapshot {
    let mut result = current.clone();
    for action in plan.steps.iter().flat_map(|s| s.actions.iter()) {
        result
            .records
            .retain(|r| !(r.name == action.name && r.rtype == action.rtype));
        if action.op != Op::Delete {
            for value in &action.values {
                result.records.push(Rec::new(
                    &action.name,
                    action.ttl,
                    &action.rtype,
                    value.clone(),
                ));
            }
        }
    }
    result.normalize();
    result
}

/// The plan as numbered steps with zone-file lines (`-` what goes, `+` what comes).
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "{}: the live zone already matches the snapshot; nothing to restore",
            plan.domain
        );
    } else {
        let _ = writeln!(
            out,
            "Restore plan for {} (nothing has been changed; apply it yourself)",
            plan.domain
        );
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "\n{}. {}\n   why: {}", i + 1, step.title, step.why);
        for action in &step.actions {
            let sign = if action.op == Op::Delete { '-' } else { '+' };
            let verb = match action.op {
                Op::Create => "create",
                Op::Replace => "set",
                Op::Delete => "delete",
            };
            let _ = writeln!(out, "   {verb} {} {}", action.name, action.rtype);
            for value in &action.values {
                let _ = writeln!(
                    out,
                    "     {sign} {} {} IN {} {value}",
                    relative(&action.name, &plan.domain),
                    action.ttl,
                    action.rtype
                );
            }
        }
        if let Some(wait) = step.wait_seconds {
            let _ = writeln!(out, "   then wait {wait}s before the next step");
        }
    }
    for note in &plan.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    out
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Cloudflare's record body for one value (`content`, or `data` for structured types, `priority` for MX).
pub fn cloudflare_body(action: &Action, value: &str) -> serde_json::Value {
    let fqdn = |v: &str| v.trim_end_matches('.').to_string();
    let parts: Vec<&str> = value.split_whitespace().collect();
    let mut body =
        serde_json::json!({ "type": action.rtype, "name": action.name, "ttl": action.ttl });
    match action.rtype.as_str() {
        "MX" => {
            body["priority"] = serde_json::json!(
                parts
                    .first()
                    .and_then(|p| p.parse::<u16>().ok())
                    .unwrap_or(10)
            );
            body["content"] = serde_json::json!(fqdn(parts.get(1).copied().unwrap_or_default()));
        }
        "TXT" => body["content"] = serde_json::json!(crate::zone::txt_strings(value).concat()),
        "CAA" => {
            let mut split = value.splitn(3, ' ');
            let flags: u8 = split.next().and_then(|f| f.parse().ok()).unwrap_or(0);
            let tag = split.next().unwrap_or_default();
            let v = crate::zone::txt_strings(split.next().unwrap_or_default()).concat();
            body["data"] = serde_json::json!({ "flags": flags, "tag": tag, "value": v });
        }
        "SRV" => {
            let n = |i: usize| {
                parts
                    .get(i)
                    .and_then(|p| p.parse::<u16>().ok())
                    .unwrap_or(0)
            };
            body["data"] = serde_json::json!({ "priority": n(0), "weight": n(1), "port": n(2), "target": fqdn(parts.get(3).copied().unwrap_or_default()) });
        }
        "CNAME" | "NS" | "PTR" => body["content"] = serde_json::json!(fqdn(value)),
        _ => body["content"] = serde_json::json!(value),
    }
    body
}

/// The plan as a shell script of Cloudflare API calls (curl and jq), one block per step, for the user to read
/// and run.
pub fn render_cloudflare(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#!/bin/sh\n# Restore plan for {d} as Cloudflare API calls. Read it before running it.\n\
         # Needs a token with Zone.DNS edit on {d}: CLOUDFLARE_API_TOKEN=... sh this-file\nset -eu\n\
         : \"${{CLOUDFLARE_API_TOKEN:?set CLOUDFLARE_API_TOKEN}}\"\nAPI=https://api.cloudflare.com/client/v4\n\
         cf() {{ curl -fsS -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\" -H 'Content-Type: application/json' \"$@\"; }}\n\
         ZONE_ID=$(cf \"$API/zones?name={d}\" | jq -r '.result[0].id')\n\
         ids() {{ cf \"$API/zones/$ZONE_ID/dns_records?name=$1&type=$2&per_page=100\" | jq -r '.result[].id'; }}",
        d = plan.domain
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "\n# {}. {} — {}", i + 1, step.title, step.why);
        for action in &step.actions {
            if action.op != Op::Create {
                let _ = writeln!(
                    out,
                    "for id in $(ids {} {}); do cf -X DELETE \"$API/zones/$ZONE_ID/dns_records/$id\" >/dev/null; done",
                    action.name, action.rtype
                );
            }
            if action.op != Op::Delete {
                for value in &action.values {
                    let body = cloudflare_body(action, value).to_string();
                    let _ = writeln!(
                        out,
                        "cf -X POST \"$API/zones/$ZONE_ID/dns_records\" --data {} >/dev/null",
                        shell_quote(&body)
                    );
                }
            }
        }
        if let Some(wait) = step.wait_seconds {
            let _ = writeln!(
                out,
                "echo 'waiting {wait}s for caches to expire'; sleep {wait}"
            );
        }
    }
    out
}

fn js(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// The snapshot as a dnscontrol `dnsconfig.js` (declarative: `dnscontrol preview` shows the difference, `push`
/// applies it). Apex NS records are left to dnscontrol's NAMESERVER handling.
pub fn render_dnscontrol(snapshot: &Snapshot) -> String {
    let mut out = format!(
        "// {d} as in the snapshot taken {t}. Preview with `dnscontrol preview`, apply with `dnscontrol push`.\n\
         // To avoid an outage, first push with TTL(300) on the sets that change, wait out their old TTL, then push this.\n\
         var REG_NONE = NewRegistrar(\"none\");\nvar DSP = NewDnsProvider(\"provider\");\n\nD({}, REG_NONE, DnsProvider(DSP),\n",
        js(&snapshot.domain),
        d = snapshot.domain,
        t = snapshot.taken_at
    );
    let mut lines = Vec::new();
    for rec in &snapshot.records {
        let label = js(&relative(&rec.name, &snapshot.domain));
        let ttl = format!("TTL({})", rec.ttl);
        let parts: Vec<&str> = rec.data.split_whitespace().collect();
        let line = match rec.rtype.as_str() {
            "SOA" => continue,
            "NS" if rec.name == snapshot.domain => continue,
            "A" | "AAAA" | "CNAME" if rec.proxied == Some(true) => {
                format!(
                    "{}({label}, {}, {ttl}, CF_PROXY_ON)",
                    rec.rtype,
                    js(&rec.data)
                )
            }
            "A" | "AAAA" | "CNAME" | "NS" | "PTR" => {
                format!("{}({label}, {}, {ttl})", rec.rtype, js(&rec.data))
            }
            "MX" => format!(
                "MX({label}, {}, {}, {ttl})",
                parts.first().unwrap_or(&"10"),
                js(parts.get(1).unwrap_or(&"."))
            ),
            "TXT" => format!("TXT({label}, {}, {ttl})", js(&rec.txt_value())),
            "CAA" => {
                let mut split = rec.data.splitn(3, ' ');
                let flags = split.next().unwrap_or("0");
                let tag = split.next().unwrap_or_default();
                let value = crate::zone::txt_strings(split.next().unwrap_or_default()).concat();
                let critical = if flags == "128" { ", CAA_CRITICAL" } else { "" };
                format!("CAA({label}, {}, {}{critical}, {ttl})", js(tag), js(&value))
            }
            "SRV" => format!(
                "SRV({label}, {}, {ttl})",
                parts.join(", ").replacen(
                    parts.last().unwrap_or(&""),
                    &js(parts.last().unwrap_or(&"")),
                    1
                )
            ),
            other => format!(
                "// {other} {label} {} — not expressible here, add by hand",
                rec.data
            ),
        };
        lines.push(format!("    {line}"));
    }
    out.push_str(&lines.join(",\n"));
    out.push_str("\n);\n");
    out
}

/// The snapshot as an octodns YAML zone config (`octodns-sync --doit` applies it; without `--doit` it only
/// shows the plan).
pub fn render_octodns(snapshot: &Snapshot) -> String {
    let mut out = format!(
        "# {d} as in the snapshot taken {t}; octodns YamlProvider zone file ({d}.yaml).\n# To avoid an outage, sync first with ttl: 300 on the sets that change, wait out their old TTL, then sync this.\n---\n",
        d = snapshot.domain,
        t = snapshot.taken_at
    );
    let mut names: Vec<&str> = snapshot.records.iter().map(|r| r.name.as_str()).collect();
    names.dedup();
    for name in names {
        let label = match relative(name, &snapshot.domain).as_str() {
            "@" => String::new(),
            other => other.to_string(),
        };
        let mut types: Vec<&str> = snapshot
            .records
            .iter()
            .filter(|r| r.name == name)
            .map(|r| r.rtype.as_str())
            // The SOA and the apex NS belong to the provider; octodns manages neither.
            .filter(|t| *t != "SOA" && !(*t == "NS" && name == snapshot.domain))
            .collect();
        types.dedup();
        if types.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}:", js(&label));
        for rtype in types {
            let recs: Vec<&Rec> = snapshot.rrset(name, rtype).collect();
            let ttl = recs.iter().map(|r| r.ttl).max().unwrap_or(LOW_TTL);
            let _ = writeln!(out, "  - type: {rtype}\n    ttl: {ttl}");
            if recs.iter().any(|r| r.proxied == Some(true)) {
                let _ = writeln!(
                    out,
                    "    octodns:\n      cloudflare:\n        proxied: true"
                );
            }
            let _ = writeln!(out, "    values:");
            for rec in recs {
                let parts: Vec<&str> = rec.data.split_whitespace().collect();
                let value = match rtype {
                    "MX" => format!(
                        "{{preference: {}, exchange: {}}}",
                        parts.first().unwrap_or(&"10"),
                        js(parts.get(1).unwrap_or(&"."))
                    ),
                    // octodns wants semicolons escaped in TXT values.
                    "TXT" => js(&rec.txt_value().replace(';', "\\;")),
                    "CAA" => {
                        let mut split = rec.data.splitn(3, ' ');
                        let flags = split.next().unwrap_or("0");
                        let tag = split.next().unwrap_or_default();
                        let value =
                            crate::zone::txt_strings(split.next().unwrap_or_default()).concat();
                        format!(
                            "{{flags: {flags}, tag: {}, value: {}}}",
                            js(tag),
                            js(&value)
                        )
                    }
                    "SRV" => format!(
                        "{{priority: {}, weight: {}, port: {}, target: {}}}",
                        parts.first().unwrap_or(&"0"),
                        parts.get(1).unwrap_or(&"0"),
                        parts.get(2).unwrap_or(&"0"),
                        js(parts.get(3).unwrap_or(&"."))
                    ),
                    _ => js(&rec.data),
                };
                let _ = writeln!(out, "      - {value}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn zone(body: &str) -> Snapshot {
        crate::zone::parse(&format!(
            "$ORIGIN p.test.\n@ 300 IN SOA ns1.p.test. h.p.test. 1 2 3 4 5\n@ 300 IN NS ns1.p.test.\nns1 300 IN A 192.0.2.53\n{body}"
        ))
        .unwrap()
    }

    #[test]
    fn a_cname_coming_back_first_removes_what_took_its_place() {
        let snapshot = zone("www 300 IN CNAME cdn.example.net.\n");
        let current = zone("www 3600 IN A 203.0.113.9\n");
        let plan = restore_plan(&snapshot, &current);
        assert_eq!(plan.steps.len(), 1, "{plan:#?}");
        let ops: Vec<(Op, &str, u32)> = plan.steps[0]
            .actions
            .iter()
            .map(|a| (a.op, a.rtype.as_str(), a.ttl))
            .collect();
        assert_eq!(ops, [(Op::Delete, "A", 3600), (Op::Create, "CNAME", 300)]);
        assert!(crate::diff::diff(&snapshot, &apply(&plan, &current)).is_empty());
    }

    #[test]
    fn octodns_leaves_out_the_soa_and_apex_ns_and_names_with_nothing_else() {
        let text = render_octodns(&zone(
            "www 300 IN A 192.0.2.1\n@ 300 IN TXT \"v=spf1 -all; x\"\n",
        ));
        assert!(
            !text.contains("SOA") && !text.contains("type: NS"),
            "{text}"
        );
        assert!(
            text.contains(
                "\"www\":\n  - type: A\n    ttl: 300\n    values:\n      - \"192.0.2.1\""
            ),
            "{text}"
        );
        assert!(text.contains(r#"- "v=spf1 -all\\; x""#), "{text}");
        let bare = render_octodns(&zone(""));
        assert!(!bare.contains("\"\":"), "{bare}");
    }
}
