//! The account a server runs as. Dovecot and PostgreSQL refuse to run as root, and test runners in containers
//! often are root: then the server runs as `nobody` and every file it reads or writes is handed to that user;
//! otherwise it runs as the caller.

use std::path::Path;
use std::process::Command;

use super::{ServerError, web};

/// Who a server runs as: `Some((uid, gid))` to switch to, or `None` for the calling user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunAs(Option<(u32, u32)>);

impl RunAs {
    /// `nobody` when this process is root, else the caller. `server` names the server in the error.
    pub(crate) fn unprivileged(server: &str) -> Result<RunAs, ServerError> {
        if !web::running_as_root() {
            return Ok(RunAs(None));
        }
        let (_, uid, gid) =
            passwd(|name, _| name == "nobody")?.ok_or_else(|| ServerError::Unsupported {
                server: server.into(),
                reason: "no nobody account in /etc/passwd to run as (it refuses root)".into(),
            })?;
        Ok(RunAs(Some((uid, gid))))
    }

    /// Makes `command` run as this user.
    pub(crate) fn command(self, command: &mut Command) {
        if let Some((uid, gid)) = self.0 {
            use std::os::unix::process::CommandExt as _;
            command.uid(uid).gid(gid);
        }
    }

    /// Hands `path` to this user.
    pub(crate) fn chown(self, path: &Path) -> Result<(), ServerError> {
        match self.0 {
            Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| ServerError::io(format!("chown {}", path.display()), e)),
            None => Ok(()),
        }
    }

    /// Hands `path` and everything below it to this user.
    pub(crate) fn chown_tree(self, path: &Path) -> Result<(), ServerError> {
        self.chown(path)?;
        if self.0.is_some() && path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| ServerError::io(format!("listing {}", path.display()), e))?;
            for entry in entries.flatten() {
                self.chown_tree(&entry.path())?;
            }
        }
        Ok(())
    }

    /// The user's and its primary group's names, as configuration files name them.
    pub(crate) fn names(self, server: &str) -> Result<(String, String), ServerError> {
        let uid = self
            .0
            .map_or_else(|| rustix::process::getuid().as_raw(), |(uid, _)| uid);
        let unsupported = |reason: String| ServerError::Unsupported {
            server: server.into(),
            reason,
        };
        let (name, _, gid) = passwd(|_, entry| entry == uid)?
            .ok_or_else(|| unsupported(format!("uid {uid} has no /etc/passwd entry")))?;
        let groups = std::fs::read_to_string("/etc/group")
            .map_err(|e| ServerError::io("reading /etc/group", e))?;
        let group = groups
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(gid))
            .and_then(|f| f.first().map(|s| s.to_string()))
            .ok_or_else(|| unsupported(format!("no group {gid} in /etc/group")))?;
        Ok((name, group))
    }
}

/// The first `/etc/passwd` entry (name, uid, primary gid) that `wanted(name, uid)` picks.
fn passwd(wanted: impl Fn(&str, u32) -> bool) -> Result<Option<(String, u32, u32)>, ServerError> {
    let text = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| ServerError::io("reading /etc/passwd", e))?;
    Ok(text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        let name = *fields.first()?;
        let uid = fields.get(2)?.parse().ok()?;
        let gid = fields.get(3)?.parse().ok()?;
        wanted(name, uid).then(|| (name.to_string(), uid, gid))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_and_group_have_names() {
        let run_as = RunAs::unprivileged("test").expect("an account to run as");
        let (user, group) = run_as.names("test").expect("names");
        assert!(!user.is_empty() && !group.is_empty());
        if web::running_as_root() {
            assert_eq!(user, "nobody");
        }
    }
}
