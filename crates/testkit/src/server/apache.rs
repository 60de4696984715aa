//! Apache httpd (Debian's `apache2`, event MPM, mod_ssl, mod_http2) serving a lab scenario: one name-based
//! virtual host per site on a plain-HTTP port and on two HTTPS ports (`Protocols http/1.1` and
//! `Protocols h2 http/1.1`). Pages are mod_asis files — status, headers and body in one file, sent as written —
//! chosen by mod_rewrite, so any status carries any headers without a handler of our own.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use super::web::{self, Behaviour, Kind, Response, Server, Setup, TlsDirectives, Vhost};
use super::{Launch, ServerError};

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

// Apache's default (`all -SSLv3`) leaves TLS 1.0 and 1.1 to OpenSSL's security level, which refuses them at
// OpenSSL 3's default (1) but not at 0: a site lowered to 0 to load an old certificate speaks TLS 1.0 again
// unless it names its protocols, as this one does.
const TLS: TlsDirectives = TlsDirectives {
    legacy_protocols: "  SSLProtocol all\n",
    modern_protocols: "  SSLProtocol -all +TLSv1.2 +TLSv1.3\n",
    seclevel0: "  SSLCipherSuite DEFAULT@SECLEVEL=0\n",
};

/// A running Apache; stopped on drop.
pub type Apache = Server<Httpd>;

/// Apache's configuration and command line.
#[derive(Debug)]
pub struct Httpd;

impl Kind for Httpd {
    const PROGRAM: &'static str = "apache2";
    const CONFIG_FILE: &'static str = "apache2.conf";

    fn config(setup: Setup<'_>) -> Result<String, ServerError> {
        let d = setup.dir.display();
        let pages = setup.dir.join("pages");
        let empty = setup.dir.join("empty");
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
        if setup.options.compress {
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
        for ip in setup.ports.hosts() {
            for port in [setup.ports.http, setup.ports.https_h1, setup.ports.https_h2] {
                let _ = writeln!(c, "Listen {ip}:{port}");
            }
        }
        // One virtual host answers on the port at every listening address.
        let on = |port: u16| {
            setup
                .ports
                .hosts()
                .iter()
                .map(|ip| format!("{ip}:{port}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut files = 0;
        for vhost in setup.vhosts {
            let host = vhost.host;
            let _ = writeln!(
                c,
                "<VirtualHost {}>\n  ServerName {host}",
                on(setup.ports.http)
            );
            behaviour(&mut c, vhost, &vhost.http, "http", &pages, &mut files)?;
            c.push_str("</VirtualHost>\n");
            for (port, protocols) in [
                (setup.ports.https_h1, "http/1.1"),
                (setup.ports.https_h2, "h2 http/1.1"),
            ] {
                let _ = writeln!(
                    c,
                    "<VirtualHost {}>\n  ServerName {host}\n  Protocols {protocols}\n  SSLEngine on\n\
                     \x20 SSLCertificateFile \"{}\"\n  SSLCertificateKeyFile \"{}\"",
                    on(port),
                    vhost.cert.chain.display(),
                    vhost.cert.key.display()
                );
                c.push_str(&setup.options.tls_directives(&TLS));
                behaviour(&mut c, vhost, &vhost.https, "https", &pages, &mut files)?;
                c.push_str("</VirtualHost>\n");
            }
        }
        Ok(c)
    }

    fn command(binary: &Path, conf: &Path, dir: &Path) -> Launch {
        let mut command = Command::new(binary);
        command
            .arg("-d")
            .arg(dir)
            .arg("-f")
            .arg(conf)
            .arg("-DFOREGROUND");
        Launch {
            command,
            logs: vec![dir.join("error.log")],
        }
    }
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
