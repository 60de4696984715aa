//! nginx serving a lab scenario: one master (and one worker) per test, every virtual host on one plain-HTTP port
//! and two HTTPS ports (`listen … ssl` for HTTP/1.1 only, `listen … ssl http2` for HTTP/2), pages answered by
//! `return` with `add_header … always`, so no file is served and no validator (ETag, Last-Modified) is added.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use super::web::{self, Behaviour, Kind, Response, Server, Setup, TlsDirectives, Vhost};
use super::{Launch, ServerError};

/// nginx reads a configuration token into a 4 KiB buffer; a longer `return` text is refused.
const MAX_TOKEN: usize = 3500;

const TLS: TlsDirectives = TlsDirectives {
    legacy_protocols: "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n",
    // nginx 1.22's default still lists TLS 1.0 and 1.1 (OpenSSL 3's default security level is what refuses
    // them, and level 0 does not), so a site is written with the modern set.
    modern_protocols: "ssl_protocols TLSv1.2 TLSv1.3;\n",
    seclevel0: "ssl_ciphers DEFAULT@SECLEVEL=0;\n",
};

/// A running nginx; stopped on drop.
pub type Nginx = Server<NginxKind>;

/// Nginx's configuration and command line.
#[derive(Debug)]
pub struct NginxKind;

impl Kind for NginxKind {
    const PROGRAM: &'static str = "nginx";
    const CONFIG_FILE: &'static str = "nginx.conf";

    fn config(setup: Setup<'_>) -> Result<String, ServerError> {
        let d = setup.dir.display();
        let mut c = String::new();
        let _ = write!(
            c,
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n\
             access_log off;\n\
             client_body_temp_path {d}/client_body;\nproxy_temp_path {d}/proxy;\nfastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
             # A stock production setting; with version numbers the audit reports headers.version_leak.\n\
             server_tokens off;\n\
             # Locations stay as the scenario wrote them (the lab sends relative ones verbatim).\n\
             absolute_redirect off;\n\
             # `return` texts interpolate variables: a literal dollar is written ${{dollar}}.\n\
             geo $dollar {{ default \"$\"; }}\n\
             # Phones, as the lab tells them apart, for sites that send them elsewhere.\n\
             map $http_user_agent $mobile {{ default 0; \"~{}\" 1; }}\n",
            web::MOBILE_UA_REGEX
        );
        if setup.options.compress {
            c.push_str(
                "gzip on;\ngzip_min_length 256;\ngzip_types text/css application/json image/svg+xml text/plain;\n",
            );
        }
        for vhost in setup.vhosts {
            let host = vhost.host;
            c.push_str("server {\n");
            for ip in setup.ports.hosts() {
                let _ = writeln!(c, "listen {ip}:{};", setup.ports.http);
            }
            let _ = writeln!(c, "server_name {host};");
            mobile(&mut c, vhost);
            behaviour(&mut c, &vhost.http)?;
            c.push_str("}\n");
            c.push_str("server {\n");
            for ip in setup.ports.hosts() {
                let _ = writeln!(
                    c,
                    "listen {ip}:{} ssl;\nlisten {ip}:{} ssl http2;",
                    setup.ports.https_h1, setup.ports.https_h2
                );
            }
            let _ = writeln!(
                c,
                "server_name {host};\nssl_certificate {};\nssl_certificate_key {};",
                vhost.cert.chain.display(),
                vhost.cert.key.display()
            );
            c.push_str(&setup.options.tls_directives(&TLS));
            mobile(&mut c, vhost);
            behaviour(&mut c, &vhost.https)?;
            c.push_str("}\n");
        }
        c.push_str("}\n");
        Ok(c)
    }

    fn command(binary: &Path, conf: &Path, dir: &Path) -> Launch {
        let error_log = dir.join("error.log");
        let mut command = Command::new(binary);
        command
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(conf)
            .arg("-e")
            .arg(&error_log)
            .args(["-g", "daemon off;"]);
        Launch {
            command,
            logs: vec![error_log],
        }
    }
}

/// The classic m-dot redirect: `if` at server level runs before any location is chosen.
fn mobile(c: &mut String, vhost: &Vhost<'_>) {
    if let Some(to) = vhost.mobile_redirect {
        let _ = writeln!(c, "if ($mobile) {{ return 302 {}; }}", quote(to));
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
                format!("{}${{request_uri}}", quote_inner(to.trim_end_matches('/')))
            } else {
                quote_inner(to)
            };
            let _ = writeln!(c, "location / {{ return {status} \"{target}\"; }}");
        }
        Behaviour::Pages(pages) => {
            for (path, response) in pages {
                let _ = writeln!(c, "location = {} {{", quote(&web::decoded_path(path)));
                page(c, response)?;
                c.push_str("}\n");
            }
            c.push_str("location / { return 404; }\n");
        }
    }
    Ok(())
}

fn page(c: &mut String, response: &Response<'_>) -> Result<(), ServerError> {
    // nginx matches `gzip_types` (and its own text/html rule) against the whole `default_type` string, so a
    // charset written there turns compression off; the `charset` directive adds it to the header instead.
    match response.content_type.split_once(';') {
        Some((mime, params)) if params.trim().to_ascii_lowercase().starts_with("charset=") => {
            let charset = params.trim()["charset=".len()..].trim_matches('"');
            let _ = writeln!(
                c,
                "default_type {};\ncharset {};\ncharset_types *;",
                quote(mime.trim()),
                quote(charset)
            );
        }
        _ => {
            let _ = writeln!(c, "default_type {};", quote(response.content_type));
        }
    }
    for (name, value) in response.other_headers() {
        let _ = writeln!(c, "add_header {} {} always;", quote(name), quote(value));
    }
    let status = response.status;
    if (300..400).contains(&status) {
        let Some(location) = response.location() else {
            return Err(ServerError::Unsupported {
                server: "nginx".into(),
                reason: format!("a {status} without Location"),
            });
        };
        let _ = writeln!(c, "return {status} {};", quote(location));
    } else {
        if response.body.len() > MAX_TOKEN {
            return Err(ServerError::Unsupported {
                server: "nginx".into(),
                reason: format!("a {} byte body in one `return`", response.body.len()),
            });
        }
        let _ = writeln!(c, "return {status} {};", quote(response.body));
    }
    Ok(())
}

/// A double-quoted nginx string whose text comes out verbatim.
fn quote(s: &str) -> String {
    format!("\"{}\"", quote_inner(s))
}

fn quote_inner(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "${dollar}")
}
