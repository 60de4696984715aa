//! Dovecot, the IMAP server most test inboxes run, serving IMAPS on a loopback port from a generated config with
//! passwd-file users and Maildir folders in a temp dir. It runs in the foreground (`dovecot -F`) and
//! unprivileged: as the calling user, or as `nobody` when the tests run as root (every file it reads or writes is
//! then handed to that user). Mail is delivered the Maildir way: written under `tmp/`, renamed into `new/`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::daemon::{Daemon, Service};
use super::run_as::RunAs;
use super::{CertFiles, Launch, Pki, ServerError, web};

/// A running Dovecot; stopped on drop.
pub type Dovecot = Daemon<DovecotService>;

/// Dovecot's configuration for one certificate and a set of accounts.
#[derive(Debug)]
pub struct DovecotService {
    binary: PathBuf,
    host: String,
    /// Kept for its root, the test's `--ca-file`.
    pki: Pki,
    cert: CertFiles,
    users: Vec<ImapUser>,
    run_as: RunAs,
}

/// The account a test logs in with.
#[derive(Debug, Clone)]
pub struct ImapUser {
    pub name: String,
    pub password: String,
}

impl Service for DovecotService {
    const PROGRAM: &'static str = "dovecot";

    fn launch(&self, dir: &Path, addr: SocketAddr) -> Result<Launch, ServerError> {
        copy(&self.cert.chain, &dir.join("cert.pem"))?;
        copy(&self.cert.key, &dir.join("key.pem"))?;
        let mut passwd = String::new();
        for user in &self.users {
            let _ = writeln!(passwd, "{}:{{PLAIN}}{}::::::", user.name, user.password);
            for sub in ["new", "cur", "tmp"] {
                let folder = maildir(dir, &user.name).join(sub);
                std::fs::create_dir_all(&folder)
                    .map_err(|e| ServerError::io(format!("creating {}", folder.display()), e))?;
            }
        }
        web::write(&dir.join("users"), &passwd)?;
        for sub in ["run", "state"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| ServerError::io("creating dovecot directories", e))?;
        }
        let (user, group) = self.run_as.names(Self::PROGRAM)?;
        let conf_file = dir.join("dovecot.conf");
        web::write(&conf_file, &config(dir, addr.port(), &user, &group))?;
        self.run_as.chown_tree(dir)?;
        let mut command = Command::new(&self.binary);
        command.arg("-F").arg("-c").arg(&conf_file);
        self.run_as.command(&mut command);
        Ok(Launch {
            command,
            logs: vec![dir.join("dovecot.log")],
        })
    }
}

impl Dovecot {
    /// Starts Dovecot answering IMAPS as `host` (a certificate from the openssl test PKI) for `users`.
    /// `Ok(None)` when dovecot or openssl is not installed (and `CI` is not `true`), after a skip message.
    pub fn start(host: &str, users: &[ImapUser]) -> Result<Option<Dovecot>, ServerError> {
        let Some(binary) = super::locate("dovecot", "dovecot-imapd")? else {
            return Ok(None);
        };
        let Some(pki) = Pki::new()? else {
            return Ok(None);
        };
        if let Some(user) = users
            .iter()
            .find(|user| user.name.contains(':') || user.password.contains(':'))
        {
            return Err(ServerError::Unsupported {
                server: "dovecot".into(),
                reason: format!("a ':' in the account {:?}", user.name),
            });
        }
        let cert = pki.for_spec(host, &launchready_lab::CertSpec::Valid)?;
        Daemon::launch(DovecotService {
            binary,
            host: host.to_string(),
            pki,
            cert,
            users: users.to_vec(),
            run_as: RunAs::unprivileged("dovecot")?,
        })
        .map(Some)
    }

    /// The name its certificate is for.
    pub fn host(&self) -> &str {
        &self.service().host
    }

    /// The root that issued its certificate (`--ca-file`).
    pub fn ca_file(&self) -> &Path {
        self.service().pki.root_file()
    }

    /// `imaps://USER@HOST:PORT`, the manifest's `[mailbox] imap` form (the user percent-encoded).
    pub fn url(&self, user: &str) -> String {
        let user: String = user
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'+' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("imaps://{user}@{}:{}", self.host(), self.addr().port())
    }

    /// Delivers `message` into `user`'s inbox, as a local delivery agent would.
    pub fn deliver(&self, user: &str, message: &[u8]) -> Result<(), ServerError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}.{n}.launchready", std::process::id());
        let root = maildir(self.dir(), user);
        let tmp = root.join("tmp").join(&name);
        std::fs::write(&tmp, message)
            .map_err(|e| ServerError::io(format!("writing {}", tmp.display()), e))?;
        self.service().run_as.chown(&tmp)?;
        let new = root.join("new").join(&name);
        std::fs::rename(&tmp, &new)
            .map_err(|e| ServerError::io(format!("delivering {}", new.display()), e))
    }
}

fn maildir(dir: &Path, user: &str) -> PathBuf {
    dir.join("home").join(user).join("Maildir")
}

fn copy(from: &Path, to: &Path) -> Result<(), ServerError> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| ServerError::io(format!("copying {}", from.display()), e))
}

fn config(dir: &Path, port: u16, user: &str, group: &str) -> String {
    let d = dir.display();
    // Unprivileged mode: every service runs as the one user, nothing is chrooted.
    let mut conf = format!(
        "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
         protocols = imap\nlisten = 127.0.0.1\n\
         ssl = required\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\nssl_min_protocol = TLSv1.2\n\
         default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n\
         first_valid_uid = 1\nauth_mechanisms = plain\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
         userdb {{\n  driver = static\n  args = uid={user} gid={group} home={d}/home/%u\n}}\n\
         mail_location = maildir:~/Maildir\n\
         service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = 0\n  }}\n  \
         inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n\
         service anvil {{\n  chroot =\n}}\n\
         service auth-worker {{\n  user = $default_internal_user\n}}\n"
    );
    // Debian ships DH parameters; without them Dovecot 2.3 warns on every DHE handshake.
    if Path::new("/usr/share/dovecot/dh.pem").is_file() {
        conf.push_str("ssl_dh = </usr/share/dovecot/dh.pem\n");
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_runs_every_service_as_one_user_without_chroot() {
        let conf = config(Path::new("/tmp/x"), 1993, "me", "mine");
        assert!(conf.contains("default_login_user = me"));
        assert!(conf.contains("port = 1993"));
        assert!(conf.contains("chroot =\n"));
        assert!(conf.contains("ssl = required"));
    }
}
