//! Real servers from the operating system (nginx, Apache, Caddy, nsd) started for a test on loopback ports with
//! generated configs, waited for, and stopped on drop.
