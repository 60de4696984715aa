//! Servers on one loopback port (NSD, Dovecot, PostgreSQL, Alertmanager, ChromeDriver): a [`Daemon`] runs one
//! [`Service`], which says only what is its own — how to configure and run it, when it serves, how it prefers
//! to be stopped. Finding the binary is each module's (their packages put them in different places), starting
//! it is `Running::start`'s, the same as for the web servers.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use super::{Launch, Probe, Running, ServerError};

/// What one single-port server does its own way.
pub trait Service: fmt::Debug {
    /// The program's name, for messages and its scratch directory's name.
    const PROGRAM: &'static str;

    /// Writes what the server reads into its scratch directory `dir` and says how to run it on `addr`.
    fn launch(&self, dir: &Path, addr: SocketAddr) -> Result<Launch, ServerError>;

    /// Whether it serves yet; asked once its port accepts connections, until it does. `dir` is its scratch
    /// directory.
    fn ready(&self, _dir: &Path, _addr: SocketAddr) -> Result<Probe, ServerError> {
        Ok(Probe::Ready)
    }

    /// Asks it to stop before its process group is ended, when a plain SIGTERM is not how it stops well.
    fn stop(&self, _dir: &Path) {}
}

/// A running single-port server; stopped on drop.
#[derive(Debug)]
pub struct Daemon<S: Service> {
    service: S,
    running: Running<SocketAddr>,
}

impl<S: Service> Daemon<S> {
    /// Starts `service` on a free loopback port (retried while the port turns out taken) and waits until it
    /// serves.
    pub(crate) fn launch(service: S) -> Result<Self, ServerError> {
        let running = Running::start(
            S::PROGRAM,
            |dir, addr| service.launch(dir, addr),
            |dir, addr| service.ready(dir, addr),
        )?;
        Ok(Daemon { service, running })
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.listen
    }

    /// The scratch directory: configuration, logs and data.
    pub fn dir(&self) -> &Path {
        self.running.dir.path()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.running.process.log()
    }

    pub(crate) fn service(&self) -> &S {
        &self.service
    }
}

impl<S: Service> Drop for Daemon<S> {
    fn drop(&mut self) {
        self.service.stop(self.running.dir.path());
    }
}
