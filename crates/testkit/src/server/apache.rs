//! Apache httpd (Debian's `apache2`, event MPM, mod_ssl, mod_http2) serving a lab scenario: one name-based
//! virtual host per site on a plain-HTTP port and on two HTTPS ports (`Protocols http/1.1` and
//! `Protocols h2 http/1.1`). Pages are mod_asis files — status, headers and body in one file, sent as written —
//! chosen by mod_rewrite, so any status carries any headers without a handler of our own.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use launchready_lab::Scenario;

use super::web::{self, Behaviour, Response, Vhost};
use super::{Pki, Ports, Process, ServerError, WebOptions, WebServer};

/// Where Debian installs the modules.
const MODULES: &str = "/usr/lib/apache2/modules";

/// The modules loaded, as `(name, file)`.
const LOAD: [(&str, &str); 8] = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("rewrite_module", "mod_rewrite.so"),
    ("headers_module", "mod_headers.so"),
    ("asis_module", "mod_asis.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.so"),
    ("ssl_module", "mod_ssl.so"),
    ("http2_module", "mod_http2.so"),
];

/// A running Apache; stopped on drop.
#[derive(Debug)]
pub struct Apache {
    ports: Ports,
    process: Process,
    dir: tempfile::TempDir,
}

impl Apache {
    /// Starts Apache serving `scenario`'s sites with certificates from `pki`. `Ok(None)` when apache2 is not
    /// installed (and `CI` is not `true`), after a skip message on stderr.
    pub fn start(
        scenario: &Scenario,
        pki: &Pki,
        options: &WebOptions,
    ) -> Result<Option<Apache>, ServerError> {
        let Some(binary) = super::locate("apache2", "apache2")? else {
            return Ok(None);
        };
        let vhosts = web::vhosts("apache2", scenario, pki, options)?;
        super::with_port_retries(|| {
            let dir = web::workdir("launchready-apache-")?;
            let ports = Ports::pick()?;
            let config = config(&vhosts, ports, options, dir.path())?;
            let conf = dir.path().join("apache2.conf");
            web::write(&conf, &config)?;
            let mut command = Command::new(&binary);
            command
                .arg("-d")
                .arg(dir.path())
                .arg("-f")
                .arg(&conf)
                .arg("-DFOREGROUND");
            let process = Process::start(
                "apache2",
                command,
                dir.path(),
                vec![dir.path().join("error.log")],
                &ports.addrs(),
            )?;
            Ok(Apache {
                ports,
                process,
                dir,
            })
        })
        .map(Some)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl WebServer for Apache {
    fn name(&self) -> &'static str {
        "apache2"
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
    dir: &Path,
) -> Result<String, ServerError> {
    let d = dir.display();
    let pages = dir.join("pages");
    let empty = dir.join("empty");
    for path in [&pages, &empty] {
        std::fs::create_dir_all(path)
            .map_err(|e| ServerError::io(format!("creating {}", path.display()), e))?;
    }
    let not_found = pages.join("not-found.asis");
    web::write(
        &not_found,
        "Status: 404 Not Found\nContent-Type: text/html; charset=utf-8\n\n<!doctype html>\n<title>Not found</title>\n<h1>Not found</h1>\n",
    )?;

    let mut c = String::new();
    let _ = writeln!(
        c,
        "ServerRoot \"{d}\"\nDefaultRuntimeDir \"{d}\"\nPidFile \"{d}/apache2.pid\"\nMutex file:{d} default\n\
         ErrorLog \"{d}/error.log\"\nLogLevel warn"
    );
    for (name, file) in LOAD {
        let _ = writeln!(c, "LoadModule {name} {MODULES}/{file}");
    }
    if options.compress {
        let _ = writeln!(
            c,
            "LoadModule filter_module {MODULES}/mod_filter.so\nLoadModule brotli_module {MODULES}/mod_brotli.so\n\
             AddOutputFilterByType BROTLI_COMPRESS text/html text/css application/json image/svg+xml text/plain"
        );
    }
    if web::running_as_root() {
        c.push_str("User nobody\nGroup nogroup\n");
    }
    let _ = writeln!(
        c,
        "ServerName localhost\n\
         # Stock production settings; with version numbers the audit reports headers.version_leak.\n\
         ServerTokens Prod\nServerSignature Off\nTraceEnable Off\nTimeout 10\n\
         StartServers 1\nServerLimit 2\nThreadsPerChild 25\nMaxRequestWorkers 50\nMinSpareThreads 5\nMaxSpareThreads 50\n\
         SSLSessionCache \"shmcb:{d}/ssl_scache(512000)\"\n\
         Protocols http/1.1\nDocumentRoot \"{}\"\n\
         <Directory \"{}\">\n  Require all granted\n  SetHandler send-as-is\n</Directory>",
        empty.display(),
        pages.display()
    );
    for ip in ports.hosts() {
        for port in [ports.http, ports.https_h1, ports.https_h2] {
            let _ = writeln!(c, "Listen {ip}:{port}");
        }
    }
    // One virtual host answers on the port at every listening address.
    let on = |port: u16| {
        ports
            .hosts()
            .iter()
            .map(|ip| format!("{ip}:{port}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut files = 0;
    for vhost in vhosts {
        let host = vhost.host;
        let _ = writeln!(c, "<VirtualHost {}>\n  ServerName {host}", on(ports.http));
        behaviour(&mut c, vhost, &vhost.http, "http", &pages, &mut files)?;
        c.push_str("</VirtualHost>\n");
        for (port, protocols) in [
            (ports.https_h1, "http/1.1"),
            (ports.https_h2, "h2 http/1.1"),
        ] {
            let _ = writeln!(
                c,
                "<VirtualHost {}>\n  ServerName {host}\n  Protocols {protocols}\n  SSLEngine on\n\
                 \x20 SSLCertificateFile \"{}\"\n  SSLCertificateKeyFile \"{}\"",
                on(port),
                vhost.cert.chain.display(),
                vhost.cert.key.display()
            );
            // Apache's default (`all -SSLv3`) leaves TLS 1.0 and 1.1 to OpenSSL's security level, which
            // refuses them at OpenSSL 3's default (1) but not at 0: a site lowered to 0 to load an old
            // certificate speaks TLS 1.0 again unless it names its protocols, as this one does.
            if options.legacy_protocols {
                c.push_str("  SSLProtocol all\n");
            } else {
                c.push_str("  SSLProtocol -all +TLSv1.2 +TLSv1.3\n");
            }
            if options.weak_openssl() {
                c.push_str("  SSLCipherSuite DEFAULT@SECLEVEL=0\n");
            }
            behaviour(&mut c, vhost, &vhost.https, "https", &pages, &mut files)?;
            c.push_str("</VirtualHost>\n");
        }
    }
    Ok(c)
}

fn behaviour(
    c: &mut String,
    vhost: &Vhost<'_>,
    behaviour: &Behaviour<'_>,
    scheme: &str,
    pages: &Path,
    files: &mut usize,
) -> Result<(), ServerError> {
    let host = vhost.host;
    c.push_str("  RewriteEngine on\n");
    if let Some(to) = vhost.mobile_redirect {
        let _ = writeln!(
            c,
            "  RewriteCond \"%{{HTTP_USER_AGENT}}\" \"{}\"\n  RewriteRule \"^\" \"{to}\" [R=302,L,NE,QSD]",
            web::MOBILE_UA_REGEX
        );
    }
    match behaviour {
        Behaviour::Redirect {
            status,
            to,
            preserve_path,
        } => {
            if *preserve_path {
                let _ = writeln!(
                    c,
                    "  RewriteRule \"^(.*)$\" \"{}$1\" [R={status},L,NE]",
                    to.trim_end_matches('/')
                );
            } else {
                let _ = writeln!(c, "  RewriteRule \"^\" \"{to}\" [R={status},L,NE,QSD]");
            }
        }
        Behaviour::Pages(list) => {
            for (path, response) in list {
                *files += 1;
                let file = pages.join(format!("{files}.asis"));
                web::write(&file, &asis(response, scheme, host))?;
                let _ = writeln!(
                    c,
                    "  RewriteRule \"^{}$\" \"{}\" [L]",
                    regex_escape(&web::decoded_path(path)),
                    file.display()
                );
            }
            let _ = writeln!(
                c,
                "  RewriteRule \"^\" \"{}\" [L]",
                pages.join("not-found.asis").display()
            );
        }
    }
    Ok(())
}

/// A mod_asis file: CGI-style headers (`Status` first), a blank line, the body.
fn asis(response: &Response<'_>, scheme: &str, host: &str) -> String {
    let mut text = format!(
        "Status: {}\nContent-Type: {}\n",
        response.status, response.content_type
    );
    if let Some(location) = response.location() {
        // mod_asis turns a Location that starts with `/` into an internal redirect (it serves the target's
        // page under the original URL) instead of sending it, so a relative target is written absolute; the
        // audit resolves the lab's relative Location to the same URL.
        let location = if location.starts_with('/') {
            format!("{scheme}://{host}{location}")
        } else {
            location.to_string()
        };
        let _ = writeln!(text, "Location: {location}");
    }
    for (name, value) in response.other_headers() {
        let _ = writeln!(text, "{name}: {value}");
    }
    text.push('\n');
    text.push_str(response.body);
    text
}

fn regex_escape(path: &str) -> String {
    let mut out = String::new();
    for ch in path.chars() {
        if "\\.+*?()|[]{}^$\"".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
