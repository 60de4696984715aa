//! The `[smoke]` table and `[[flow]]` list as users meet them: what valid entries mean, and where the errors for
//! bad ones point.

use launchready_manifest::Smoke;
use std::path::PathBuf;
use std::time::Duration;

mod common;

use common::{parse, rejects};

#[test]
fn absent_tables_mean_the_defaults() {
    let manifest = parse("").unwrap();
    assert_eq!(manifest.smoke, Smoke::default());
    assert_eq!(manifest.smoke.homepage_budget, Duration::from_secs(1));
    assert!(manifest.flows.is_empty());
}

#[test]
fn paths_join_the_canonical_url_and_urls_stay_as_written() {
    let manifest = parse(
        "[smoke]\nhomepage_budget = \"800ms\"\nversion_url = \"/version\"\nwebhook = \"https://hooks.example.com/payments\"\n",
    )
    .unwrap();
    assert_eq!(manifest.smoke.homepage_budget, Duration::from_millis(800));
    assert_eq!(
        manifest.smoke.version_url.as_ref().map(url::Url::as_str),
        Some("https://www.example.com/version")
    );
    assert_eq!(
        manifest.smoke.webhook.as_ref().map(url::Url::as_str),
        Some("https://hooks.example.com/payments")
    );
    let seconds = parse("[smoke]\nhomepage_budget = 2\n").unwrap();
    assert_eq!(seconds.smoke.homepage_budget, Duration::from_secs(2));
}

#[test]
fn flows_are_named_by_their_stem_and_found_beside_the_manifest() {
    let manifest = parse(
        "[[flow]]\nfile = \"flows/login-to-members.hurl\"\n\n[[flow]]\nfile = \"/abs/reset.hurl\"\nname = \"password reset\"\n",
    )
    .unwrap();
    let names: Vec<&str> = manifest.flows.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["login-to-members", "password reset"]);
    assert_eq!(
        manifest.flow_path(&manifest.flows[0]),
        PathBuf::from("site/flows/login-to-members.hurl")
    );
    assert_eq!(
        manifest.flow_path(&manifest.flows[1]),
        PathBuf::from("/abs/reset.hurl")
    );
}

#[test]
fn mistakes_are_located_with_a_way_out() {
    rejects(
        "[smoke]\nhomepage_budjet = \"1s\"\n",
        5,
        1,
        &[
            "unknown key `homepage_budjet` in [smoke]",
            "did you mean `homepage_budget`?",
        ],
    );
    rejects(
        "[[flow]]\nfile = \"a.hurl\"\nnmae = \"x\"\n",
        6,
        1,
        &["unknown key `nmae` in [[flow]]", "did you mean `name`?"],
    );
    rejects(
        "[[flows]]\nfile = \"a.hurl\"\n",
        4,
        3,
        &[
            "unknown key `flows` at the top level",
            "did you mean `flow`?",
        ],
    );
    rejects(
        "[smoke]\nhomepage_budget = \"fast\"\n",
        5,
        19,
        &["`homepage_budget`", "use a duration from 10ms to 1m"],
    );
    rejects(
        "[smoke]\nhomepage_budget = \"5m\"\n",
        5,
        19,
        &["`homepage_budget` is 5m, outside the allowed range"],
    );
    rejects(
        "[smoke]\nversion_url = \"version\"\n",
        5,
        15,
        &[
            "`version_url` `version` is neither a path nor a URL",
            "e.g. \"/version\"",
        ],
    );
    rejects(
        "[smoke]\nwebhook = \"/hooks/pay#x\"\n",
        5,
        11,
        &["`webhook`: route path `/hooks/pay#x` has a fragment"],
    );
    rejects(
        "[smoke]\nwebhook = \"ftp://example.com/hook\"\n",
        5,
        11,
        &["ftp"],
    );
    rejects("[[flow]]\nfile = \"\"\n", 5, 8, &["the flow file is empty"]);
    rejects(
        "[[flow]]\nfile = \"a/login.hurl\"\n[[flow]]\nfile = \"b/login.hurl\"\n",
        7,
        8,
        &["flow `login` is listed twice", "first given at"],
    );
}
