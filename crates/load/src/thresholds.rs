//! Thresholds in k6's expression syntax: `p(95)<500`, `avg<200`, `max<=2s`, `rate_errors<0.01`, optionally scoped
//! to one step or flow (`step=checkout p(95)<500`) and marked `abortOnFail` to stop the run as soon as one fails.
//! Latencies are in milliseconds (a `s` or `ms` suffix is accepted) and judged on the corrected figures: what a
//! visitor arriving on schedule would have waited.

use crate::LoadError;
use crate::stats::{Latency, Series};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Scope {
    All,
    Step(String),
    Flow(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Percentile(f64),
    Avg,
    Med,
    Min,
    Max,
    /// Failed requests ÷ requests.
    RateErrors,
    /// Requests.
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
            Op::Eq => (actual - limit).abs() < f64::EPSILON,
            Op::Ne => (actual - limit).abs() >= f64::EPSILON,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// As written.
    pub source: String,
    pub scope: Scope,
    pub metric: Metric,
    pub op: Op,
    pub limit: f64,
    pub abort_on_fail: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThresholdOutcome {
    pub threshold: String,
    pub actual: f64,
    pub passed: bool,
    pub abort_on_fail: bool,
    /// Why it failed without a figure (no samples for its step).
    pub note: Option<String>,
}

fn bad(source: &str, why: &str) -> LoadError {
    LoadError::Usage(format!(
        "threshold `{source}`: {why} (examples: 'p(95)<500', 'step=checkout p(99)<1s', 'rate_errors<0.01', 'max<2000 abortOnFail')"
    ))
}

impl Threshold {
    pub fn parse(source: &str) -> Result<Threshold, LoadError> {
        let mut words: Vec<&str> = source.split_whitespace().collect();
        let mut abort_on_fail = false;
        if let Some(last) = words.last()
            && (last.eq_ignore_ascii_case("abortOnFail")
                || last.eq_ignore_ascii_case("abort_on_fail"))
        {
            abort_on_fail = true;
            words.pop();
        }
        let mut scope = Scope::All;
        if let Some(first) = words.first()
            && let Some((key, name)) = first.split_once('=')
            && !key.contains(['<', '>', '!'])
        {
            scope = match key {
                "step" => Scope::Step(name.to_string()),
                "flow" => Scope::Flow(name.to_string()),
                _ => {
                    return Err(bad(
                        source,
                        &format!("unknown scope `{key}`: use step=NAME or flow=NAME"),
                    ));
                }
            };
            if name.is_empty() {
                return Err(bad(source, "the scope names nothing"));
            }
            words.remove(0);
        }
        let expr: String = words.concat();
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let Some((at, text, op)) = ops
            .iter()
            .filter_map(|(text, op)| expr.find(text).map(|at| (at, *text, *op)))
            .min_by_key(|(at, text, _)| (*at, usize::MAX - text.len()))
        else {
            return Err(bad(source, "no comparison (<, <=, >, >=, ==, !=)"));
        };
        let (left, right) = (&expr[..at], &expr[at + text.len()..]);
        let metric = match left {
            "avg" => Metric::Avg,
            "med" => Metric::Med,
            "min" => Metric::Min,
            "max" => Metric::Max,
            "rate_errors" | "rate" | "http_req_failed" => Metric::RateErrors,
            "count" => Metric::Count,
            _ => {
                let Some(inner) = left.strip_prefix("p(").and_then(|l| l.strip_suffix(')')) else {
                    return Err(bad(source, &format!("unknown aggregation `{left}`")));
                };
                match inner.parse::<f64>() {
                    Ok(p) if (0.0..=100.0).contains(&p) => Metric::Percentile(p),
                    _ => {
                        return Err(bad(
                            source,
                            &format!("`{left}`: the percentile must be 0 to 100"),
                        ));
                    }
                }
            }
        };
        let latency = !matches!(metric, Metric::RateErrors | Metric::Count);
        let (number, factor) = if let Some(n) = right.strip_suffix("ms") {
            (n, 1.0)
        } else if let Some(n) = right.strip_suffix('s').filter(|_| latency) {
            (n, 1000.0)
        } else {
            (right, 1.0)
        };
        let limit = number
            .parse::<f64>()
            .map_err(|_| bad(source, &format!("`{right}` is not a number")))?
            * factor;
        Ok(Threshold {
            source: source.trim().to_string(),
            scope,
            metric,
            op,
            limit,
            abort_on_fail,
        })
    }

    /// Judges the threshold on the series it is scoped to (`None`: no such step or flow has samples).
    pub fn evaluate(&self, series: Option<&Series>) -> ThresholdOutcome {
        let outcome = |actual: f64, passed: bool, note: Option<String>| ThresholdOutcome {
            threshold: self.source.clone(),
            actual,
            passed,
            abort_on_fail: self.abort_on_fail,
            note,
        };
        let Some(series) = series.filter(|s| s.count() > 0) else {
            return outcome(
                0.0,
                false,
                Some("no requests were measured for it".to_string()),
            );
        };
        let h = &series.corrected;
        let actual = match self.metric {
            Metric::Percentile(p) => Latency::quantile(h, p),
            Metric::Avg => (h.mean() / 10.0).round() / 100.0,
            Metric::Med => Latency::quantile(h, 50.0),
            Metric::Min => crate::stats::ms(h.min()),
            Metric::Max => crate::stats::ms(h.max()),
            Metric::RateErrors => series.error_rate(),
            Metric::Count => series.count() as f64,
        };
        outcome(actual, self.op.holds(actual, self.limit), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn check(source: &str, scope: Scope, metric: Metric, op: Op, limit: f64, abort: bool) {
        let t = Threshold::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(
            (t.scope, t.metric, t.op, t.limit, t.abort_on_fail),
            (scope, metric, op, limit, abort),
            "{source}"
        );
    }

    #[test]
    fn k6_expressions_parse() {
        check(
            "p(95)<500",
            Scope::All,
            Metric::Percentile(95.0),
            Op::Lt,
            500.0,
            false,
        );
        check(
            "step=checkout p(95)<500",
            Scope::Step("checkout".into()),
            Metric::Percentile(95.0),
            Op::Lt,
            500.0,
            false,
        );
        check(
            "flow=login p(99.9) <= 1.5s",
            Scope::Flow("login".into()),
            Metric::Percentile(99.9),
            Op::Le,
            1500.0,
            false,
        );
        check(
            "rate_errors<0.01",
            Scope::All,
            Metric::RateErrors,
            Op::Lt,
            0.01,
            false,
        );
        check(
            "max<2000 abortOnFail",
            Scope::All,
            Metric::Max,
            Op::Lt,
            2000.0,
            true,
        );
        check("avg>=10ms", Scope::All, Metric::Avg, Op::Ge, 10.0, false);
        check("count>0", Scope::All, Metric::Count, Op::Gt, 0.0, false);
    }

    #[test]
    fn bad_thresholds_say_what_is_wrong() {
        for (source, says) in [
            ("p(95)", "no comparison"),
            ("p(150)<1", "0 to 100"),
            ("median<1", "unknown aggregation"),
            ("p(95)<fast", "not a number"),
            ("host=x p(95)<1", "unknown scope"),
        ] {
            let e = Threshold::parse(source)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(says), "{source}: {e}");
        }
    }

    #[test]
    fn thresholds_judge_the_corrected_figures() {
        let mut s = Series::new("checkout");
        for _ in 0..98 {
            s.record(Duration::from_millis(10), Duration::ZERO);
        }
        for _ in 0..2 {
            s.record(Duration::from_millis(10), Duration::from_secs(1));
        }
        let p99 = Threshold::parse("p(99)<500").expect("parses");
        let outcome = p99.evaluate(Some(&s));
        assert!(!outcome.passed, "{outcome:?}");
        let p95 = Threshold::parse("p(95)<500").expect("parses");
        assert!(p95.evaluate(Some(&s)).passed);
        assert!(!p95.evaluate(None).passed);
    }
}
