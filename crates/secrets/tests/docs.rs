//! Keeps `docs/secrets.md` honest: every built-in rule is listed with its finding id and severity.

use launchready_secrets::report::finding_id;
use launchready_secrets::rules::RuleSet;

const DOC: &str = include_str!("../../../docs/secrets.md");

#[test]
fn every_builtin_rule_is_documented_with_its_severity() {
    let rules = RuleSet::builtin();
    assert!(
        rules.len() >= 50,
        "the built-in set shrank to {}",
        rules.len()
    );
    for rule in rules.rules() {
        let row = format!(
            "| `{}` | {} |",
            finding_id(&rule.id),
            rule.severity.as_str()
        );
        assert!(DOC.contains(&row), "docs/secrets.md lacks the row {row}");
    }
}
