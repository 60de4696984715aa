//! Caddy serving a lab scenario from a generated Caddyfile: `auto_https off` and explicit `tls CERT KEY` (no ACME,
//! nothing leaves loopback), the admin endpoint off, storage and HOME in the temp dir, one site block per host
//! on a plain-HTTP port and on two HTTPS ports whose `servers` options allow `h1` only, or `h1 h2`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use super::web::{self, Behaviour, Kind, Response, Server, Setup, Vhost};
use super::{Launch, ServerError};

/// A running Caddy; stopped on drop.
pub type Caddy = Server<CaddyKind>;

/// Caddy's configuration and command line. Caddy speaks TLS through Go, which has no TLS 1.0/1.1 server support
/// worth testing, so `legacy_protocols` is refused; Go loads SHA-1 and RSA-1024 certificates without being
/// asked, so `seclevel0` needs nothing.
#[derive(Debug)]
pub struct CaddyKind;

impl Kind for CaddyKind {
    const PROGRAM: &'static str = "caddy";
    const CONFIG_FILE: &'static str = "Caddyfile";

    fn config(setup: Setup<'_>) -> Result<String, ServerError> {
        if setup.options.legacy_protocols {
            return Err(ServerError::Unsupported {
                server: "caddy".into(),
                reason: "TLS 1.0/1.1".into(),
            });
        }
        let encode = if setup.options.compress {
            "\tencode gzip\n"
        } else {
            ""
        };
        let mut c = String::new();
        let _ = writeln!(
            c,
            "{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {}\n\
             \t# No HTTP/3: it would add an Alt-Svc header and a UDP listener the lab has no counterpart for.\n\
             \tservers 127.0.0.1:{} {{\n\t\tprotocols h1\n\t}}\n\
             \tservers 127.0.0.1:{} {{\n\t\tprotocols h1\n\t}}\n\
             \tservers 127.0.0.1:{} {{\n\t\tprotocols h1 h2\n\t}}\n}}",
            setup.dir.join("storage").display(),
            setup.ports.http,
            setup.ports.https_h1,
            setup.ports.https_h2
        );
        for vhost in setup.vhosts {
            let host = vhost.host;
            let bind = setup.ports.hosts().join(" ").replace(['[', ']'], "");
            let _ = writeln!(
                c,
                "http://{host}:{} {{\n\tbind {bind}\n{encode}",
                setup.ports.http
            );
            mobile(&mut c, vhost);
            behaviour(&mut c, &vhost.http)?;
            c.push_str("}\n");
            let _ = writeln!(
                c,
                "https://{host}:{}, https://{host}:{} {{\n\tbind {bind}\n{encode}\ttls {} {}",
                setup.ports.https_h1,
                setup.ports.https_h2,
                quote(&vhost.cert.chain.display().to_string()),
                quote(&vhost.cert.key.display().to_string())
            );
            mobile(&mut c, vhost);
            behaviour(&mut c, &vhost.https)?;
            c.push_str("}\n");
        }
        Ok(c)
    }

    fn command(binary: &Path, conf: &Path, dir: &Path) -> Launch {
        let mut command = Command::new(binary);
        command
            .arg("run")
            .arg("--config")
            .arg(conf)
            .args(["--adapter", "caddyfile"])
            .current_dir(dir)
            .env("HOME", dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"));
        Launch {
            command,
            logs: vec![],
        }
    }
}

/// Phones get a 302 before any page: `redir` sorts ahead of `handle` in Caddy's directive order.
fn mobile(c: &mut String, vhost: &Vhost<'_>) {
    if let Some(to) = vhost.mobile_redirect {
        let _ = writeln!(
            c,
            "\t@mobile header_regexp User-Agent {}\n\tredir @mobile {} 302",
            quote(web::MOBILE_UA_REGEX),
            quote(to)
        );
    }
}

fn behaviour(c: &mut String, behaviour: &Behaviour<'_>) -> Result<(), ServerError> {
    match behaviour {
        Behaviour::Redirect {
            status,
            to,
            preserve_path,
        } => {
            let target = if *preserve_path {
                format!("{}{{uri}}", to.trim_end_matches('/'))
            } else {
                to.to_string()
            };
            let _ = writeln!(c, "\tredir {} {status}", quote(&target));
        }
        Behaviour::Pages(pages) => {
            for (i, (path, response)) in pages.iter().enumerate() {
                let _ = writeln!(c, "\t@page{i} path {}\n\thandle @page{i} {{", quote(path));
                page(c, response)?;
                c.push_str("\t}\n");
            }
            c.push_str("\thandle {\n\t\trespond 404\n\t}\n");
        }
    }
    Ok(())
}

fn page(c: &mut String, response: &Response<'_>) -> Result<(), ServerError> {
    let _ = writeln!(
        c,
        "\t\theader Content-Type {}",
        quote(response.content_type)
    );
    // `+` adds rather than replaces, which keeps repeated headers such as Set-Cookie.
    for (name, value) in &response.headers {
        let _ = writeln!(c, "\t\theader +{name} {}", quote(value));
    }
    if response.body.contains('`') {
        return Err(ServerError::Unsupported {
            server: "caddy".into(),
            reason: "a body with a backtick (Caddyfile backtick strings have no escapes)".into(),
        });
    }
    if response.body.is_empty() {
        let _ = writeln!(c, "\t\trespond {}", response.status);
    } else {
        let _ = writeln!(c, "\t\trespond `{}` {}", response.body, response.status);
    }
    Ok(())
}

/// A double-quoted Caddyfile token.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}
