//! The in-process lab harness: a started `Lab`, a `Net` pointed at it, a manifest, and audits run against them.
