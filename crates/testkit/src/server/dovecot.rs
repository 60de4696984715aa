//! Dovecot, the IMAP server most test inboxes run, serving IMAPS on a loopback port from a generated config with
//! passwd-file users and Maildir folders in a temp dir. It runs in the foreground (`dovecot -F`) and
//! unprivileged: as the calling user, or as `nobody` when the tests run as root (every file it reads or writes is
//! then handed to that user). Mail is delivered the Maildir way: written under `tmp/`, renamed into `new/`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Process, ServerError, web};

/// A running Dovecot; stopped on drop.
#[derive(Debug)]
pub struct Dovecot {
    addr: SocketAddr,
    host: String,
    ca_file: PathBuf,
    owner: Option<(u32, u32)>,
    process: Process,
    dir: tempfile::TempDir,
}

/// The account a test logs in with.
#[derive(Debug, Clone)]
pub struct ImapUser {
    pub name: String,
    pub password: String,
}

impl Dovecot {
    /// Starts Dovecot answering IMAPS as `host` (a certificate from the openssl test PKI) for `users`.
    /// `Ok(None)` when dovecot or openssl is not installed (and `CI` is not `true`), after a skip message.
    pub fn start(host: &str, users: &[ImapUser]) -> Result<Option<Dovecot>, ServerError> {
        let Some(binary) = super::locate("dovecot", "dovecot-imapd")? else {
            return Ok(None);
        };
        let Some(pki) = super::Pki::new()? else {
            return Ok(None);
        };
        let cert = pki.for_spec(host, &launchready_lab::CertSpec::Valid)?;
        let owner = if web::running_as_root() {
            Some(account("nobody")?)
        } else {
            None
        };
        super::with_port_retries(|| {
            let dir = web::workdir("launchready-dovecot-")?;
            let path = dir.path();
            let ca_file = path.join("ca.pem");
            copy(pki.root_file(), &ca_file)?;
            copy(&cert.chain, &path.join("cert.pem"))?;
            copy(&cert.key, &path.join("key.pem"))?;
            let mut passwd = String::new();
            for user in users {
                if user.name.contains(':') || user.password.contains(':') {
                    return Err(ServerError::Unsupported {
                        server: "dovecot".into(),
                        reason: format!("a ':' in the account {:?}", user.name),
                    });
                }
                let _ = writeln!(passwd, "{}:{{PLAIN}}{}::::::", user.name, user.password);
                for sub in ["new", "cur", "tmp"] {
                    let folder = maildir(path, &user.name).join(sub);
                    std::fs::create_dir_all(&folder).map_err(|e| {
                        ServerError::io(format!("creating {}", folder.display()), e)
                    })?;
                }
            }
            web::write(&path.join("users"), &passwd)?;
            for sub in ["run", "state"] {
                std::fs::create_dir_all(path.join(sub))
                    .map_err(|e| ServerError::io("creating dovecot directories", e))?;
            }
            let port = super::free_port()?;
            let (user, group) = match owner {
                Some(_) => ("nobody".to_string(), primary_group_name("nobody")?),
                None => current_names()?,
            };
            let conf = config(path, port, &user, &group);
            let conf_file = path.join("dovecot.conf");
            web::write(&conf_file, &conf)?;
            if let Some((uid, gid)) = owner {
                chown_tree(path, uid, gid)?;
            }
            let mut command = Command::new(&binary);
            command.arg("-F").arg("-c").arg(&conf_file);
            if let Some((uid, gid)) = owner {
                use std::os::unix::process::CommandExt as _;
                command.uid(uid).gid(gid);
            }
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let log = path.join("dovecot.log");
            let process = Process::start("dovecot", command, path, vec![log], &[addr])?;
            Ok(Dovecot {
                addr,
                host: host.to_string(),
                ca_file,
                owner,
                process,
                dir,
            })
        })
        .map(Some)
    }

    /// The IMAPS listener.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The name its certificate is for.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The root that issued its certificate (`--ca-file`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
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
        format!("imaps://{user}@{}:{}", self.host, self.addr.port())
    }

    /// Delivers `message` into `user`'s inbox, as a local delivery agent would.
    pub fn deliver(&self, user: &str, message: &[u8]) -> Result<(), ServerError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}.{n}.launchready", std::process::id());
        let root = maildir(self.dir.path(), user);
        let tmp = root.join("tmp").join(&name);
        std::fs::write(&tmp, message)
            .map_err(|e| ServerError::io(format!("writing {}", tmp.display()), e))?;
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&tmp, Some(uid), Some(gid))
                .map_err(|e| ServerError::io(format!("chown {}", tmp.display()), e))?;
        }
        let new = root.join("new").join(&name);
        std::fs::rename(&tmp, &new)
            .map_err(|e| ServerError::io(format!("delivering {}", new.display()), e))
    }

    pub fn log(&self) -> String {
        self.process.log()
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

/// The uid and primary gid of a named account, from /etc/passwd.
fn account(name: &str) -> Result<(u32, u32), ServerError> {
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| ServerError::io("reading /etc/passwd", e))?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .and_then(|f| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))
        .ok_or_else(|| ServerError::Unsupported {
            server: "dovecot".into(),
            reason: format!("no {name} account in /etc/passwd to run as"),
        })
}

fn group_name(gid: u32) -> Result<String, ServerError> {
    let groups = std::fs::read_to_string("/etc/group")
        .map_err(|e| ServerError::io("reading /etc/group", e))?;
    groups
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(gid))
        .and_then(|f| f.first().map(|s| s.to_string()))
        .ok_or_else(|| ServerError::Unsupported {
            server: "dovecot".into(),
            reason: format!("no group {gid} in /etc/group"),
        })
}

fn primary_group_name(user: &str) -> Result<String, ServerError> {
    group_name(account(user)?.1)
}

/// The calling user's and primary group's names.
fn current_names() -> Result<(String, String), ServerError> {
    let uid = rustix::process::getuid().as_raw();
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| ServerError::io("reading /etc/passwd", e))?;
    let (name, gid) = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.get(2).and_then(|u| u.parse::<u32>().ok()) == Some(uid))
        .and_then(|f| Some((f.first()?.to_string(), f.get(3)?.parse::<u32>().ok()?)))
        .ok_or_else(|| ServerError::Unsupported {
            server: "dovecot".into(),
            reason: format!("uid {uid} has no /etc/passwd entry"),
        })?;
    Ok((name, group_name(gid)?))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<(), ServerError> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| ServerError::io(format!("chown {}", path.display()), e))?;
    if path.is_dir() {
        let entries = std::fs::read_dir(path)
            .map_err(|e| ServerError::io(format!("listing {}", path.display()), e))?;
        for entry in entries.flatten() {
            chown_tree(&entry.path(), uid, gid)?;
        }
    }
    Ok(())
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
