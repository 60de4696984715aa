//! nginx serving a lab scenario: one master (and one worker) per test, every virtual host on one plain-HTTP port
//! and two HTTPS ports (`listen … ssl` for HTTP/1.1 only, `listen … ssl http2` for HTTP/2), pages answered by
//! `return` with `add_header … always`, so no file is served and no validator (ETag, Last-Modified) is added.

use std::fmt::Write as _;
use std::process::Command;

use launchready_lab::Scenario;

use super::web::{self, Behaviour, Response, Vhost};
use super::{Pki, Ports, Process, ServerError, WebOptions, WebServer};

/// nginx reads a configuration token into a 4 KiB buffer; a longer `return` text is refused.
const MAX_TOKEN: usize = 3500;

/// A running nginx; stopped on drop.
#[derive(Debug)]
pub struct Nginx {
    ports: Ports,
    // Declared before the directory so the process stops before its files go.
    process: Process,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx serving `scenario`'s sites with certificates from `pki`. `Ok(None)` when nginx is not
    /// installed (and `CI` is not `true`), after a skip message on stderr.
    pub fn start(
        scenario: &Scenario,
        pki: &Pki,
        options: &WebOptions,
    ) -> Result<Option<Nginx>, ServerError> {
        let Some(binary) = super::locate("nginx", "nginx")? else {
            return Ok(None);
        };
        let vhosts = web::vhosts("nginx", scenario, pki, options)?;
        super::with_port_retries(|| {
            let dir = web::workdir("launchready-nginx-")?;
            let ports = Ports::pick()?;
            let config = config(&vhosts, ports, options, dir.path())?;
            let conf = dir.path().join("nginx.conf");
            web::write(&conf, &config)?;
            let error_log = dir.path().join("error.log");
            let mut command = Command::new(&binary);
            command
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                .arg("-e")
                .arg(&error_log)
                .args(["-g", "daemon off;"]);
            let process = Process::start(
                "nginx",
                command,
                dir.path(),
                vec![error_log],
                &ports.addrs(),
            )?;
            Ok(Nginx {
                ports,
                process,
                dir,
            })
        })
        .map(Some)
    }

    /// The directory holding the configuration and logs.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl WebServer for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn ports(&self) -> Ports {
        self.ports
    }

    fn log(&self) -> String {
        self.process.log()
    }
}

fn config(
    vhosts: &[Vhost<'_>],
    ports: Ports,
    options: &WebOptions,
    dir: &std::path::Path,
) -> Result<String, ServerError> {
    let d = dir.display();
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
    if options.compress {
        c.push_str(
            "gzip on;\ngzip_min_length 256;\ngzip_types text/css application/json image/svg+xml text/plain;\n",
        );
    }
    for vhost in vhosts {
        let host = vhost.host;
        c.push_str("server {\n");
        for ip in ports.hosts() {
            let _ = writeln!(c, "listen {ip}:{};", ports.http);
        }
        let _ = writeln!(c, "server_name {host};");
        mobile(&mut c, vhost);
        behaviour(&mut c, &vhost.http)?;
        c.push_str("}\n");
        c.push_str("server {\n");
        for ip in ports.hosts() {
            let _ = writeln!(
                c,
                "listen {ip}:{} ssl;\nlisten {ip}:{} ssl http2;",
                ports.https_h1, ports.https_h2
            );
        }
        let _ = writeln!(
            c,
            "server_name {host};\nssl_certificate {};\nssl_certificate_key {};",
            vhost.cert.chain.display(),
            vhost.cert.key.display()
        );
        if options.legacy_protocols {
            c.push_str("ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n");
        } else {
            // nginx 1.22's default still lists TLS 1.0 and 1.1 (OpenSSL 3's default security level is what
            // refuses them, and level 0 does not), so a site is written with the modern set.
            c.push_str("ssl_protocols TLSv1.2 TLSv1.3;\n");
        }
        if options.weak_openssl() {
            c.push_str("ssl_ciphers DEFAULT@SECLEVEL=0;\n");
        }
        mobile(&mut c, vhost);
        behaviour(&mut c, &vhost.https)?;
        c.push_str("}\n");
    }
    c.push_str("}\n");
    Ok(c)
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
