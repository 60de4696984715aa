//! The `[deploy]` and `[[access]]` tables as users meet them: commands kept as written, the version endpoint
//! joined to the canonical URL, one entry per service, and errors located at the value at fault.

use launchready_manifest::AccessKind;

mod common;

use common::{parse, rejects};

#[test]
fn no_tables_mean_no_deploy_and_an_empty_inventory() {
    let manifest = parse("").unwrap();
    assert_eq!(manifest.deploy, None);
    assert!(manifest.access.is_empty());
}

#[test]
fn deploy_and_access_are_read() {
    let manifest = parse(
        "[deploy]\nbuild = \"npm run build\"\nrollback = \"./scripts/rollback.sh\"\nversion_url = \"/version\"\nrunbook = \"docs/deploy.md\"\n\n[[access]]\nservice = \"Cloudflare\"\nkind = \"dns\"\nowner = \"ana@example.com\"\nbackup_owner = \"ben@example.com\"\ncredential = \"1Password: Launch/Cloudflare\"\ntwo_factor = true\n\n[[access]]\nservice = \"Stripe\"\n",
    )
    .unwrap();
    let deploy = manifest.deploy.unwrap();
    assert_eq!(deploy.build.as_deref(), Some("npm run build"));
    assert_eq!(deploy.rollback.as_deref(), Some("./scripts/rollback.sh"));
    assert_eq!(
        deploy.version_url.unwrap().as_str(),
        "https://www.example.com/version"
    );
    assert_eq!(manifest.access.len(), 2);
    assert_eq!(manifest.access[0].kind, AccessKind::Dns);
    assert_eq!(manifest.access[0].two_factor, Some(true));
    assert_eq!(manifest.access[1].kind, AccessKind::Other);
    assert_eq!(manifest.access[1].owner, None);
}

#[test]
fn mistakes_are_located_with_a_way_out() {
    rejects("[deploy]\n", 4, 1, &["[deploy] says nothing"]);
    rejects(
        "[deploy]\nrollback = \"\"\n",
        5,
        12,
        &["`rollback` must be one non-empty command line"],
    );
    rejects(
        "[deploy]\nrolback = \"x\"\n",
        5,
        1,
        &["rolback", "rollback"],
    );
    rejects(
        "[[access]]\nservice = \"Cloudflare\"\nkind = \"nameservers\"\n",
        6,
        8,
        &["unknown access kind", "did you mean `dns`?"],
    );
    rejects(
        "[[access]]\nservice = \"Stripe\"\n[[access]]\nservice = \"stripe\"\n",
        7,
        11,
        &["listed twice", "first given at"],
    );
    rejects(
        "[[access]]\nservice = \"Stripe\"\ncredential = \"sk_live_abc\"\n",
        6,
        14,
        &["looks like a secret", "1Password"],
    );
    rejects(
        "[[access]]\nservice = \"Stripe\"\ntwofa = true\n",
        6,
        1,
        &["twofa", "two_factor"],
    );
}
