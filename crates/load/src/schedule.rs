//! The arrival schedule of the open model: when iteration *n* is meant to start, as an offset from the start of
//! the run. Rates ramp linearly within a stage (k6's ramping-arrival-rate), and every instant is computed from
//! the start, never from the previous one, so the schedule cannot drift however far the generator falls behind.

use crate::LoadError;
use serde::Serialize;
use std::time::Duration;

/// Iterations per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate(pub f64);

impl Rate {
    /// `50/s`, `3000/m`, `10/h`, or a bare number (per second).
    pub fn parse(text: &str) -> Result<Rate, LoadError> {
        let text = text.trim();
        let (number, per) = match text.split_once('/') {
            Some((n, unit)) => (n.trim(), unit.trim()),
            None => (text, "s"),
        };
        let seconds = match per {
            "s" | "1s" | "sec" | "second" => 1.0,
            "m" | "1m" | "min" | "minute" => 60.0,
            "h" | "1h" | "hour" => 3600.0,
            _ => {
                return Err(LoadError::Usage(format!(
                    "rate `{text}`: the unit after `/` must be s, m or h (e.g. 50/s)"
                )));
            }
        };
        match number.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(Rate(n / seconds)),
            _ => Err(LoadError::Usage(format!(
                "rate `{text}`: expected a non-negative number of iterations, e.g. 50/s"
            ))),
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 >= 1.0 || self.0 == 0.0 {
            write!(f, "{}/s", trim(self.0))
        } else {
            write!(f, "{}/m", trim(self.0 * 60.0))
        }
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One stage: over `duration`, the rate moves linearly from the previous stage's target to `target`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stage {
    #[serde(serialize_with = "crate::report::ser_secs")]
    pub duration: Duration,
    pub target: Rate,
}

/// A whole open-model schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub start_rate: Rate,
    pub stages: Vec<Stage>,
}

impl Schedule {
    /// `--rate R --duration D`.
    pub fn constant(rate: Rate, duration: Duration) -> Schedule {
        Schedule {
            start_rate: rate,
            stages: vec![Stage {
                duration,
                target: rate,
            }],
        }
    }

    /// `--stages 30s:10/s,2m:200/s,30s:0/s`, ramping from `start` (0 unless `--rate` is also given).
    pub fn parse_stages(text: &str, start: Rate) -> Result<Schedule, LoadError> {
        let mut stages = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((duration, rate)) = part.split_once(':') else {
                return Err(LoadError::Usage(format!(
                    "stage `{part}`: expected DURATION:RATE, e.g. 30s:10/s"
                )));
            };
            let duration = humantime::parse_duration(duration.trim()).map_err(|e| {
                LoadError::Usage(format!("stage `{part}`: bad duration `{duration}`: {e}"))
            })?;
            stages.push(Stage {
                duration,
                target: Rate::parse(rate)?,
            });
        }
        if stages.is_empty() {
            return Err(LoadError::Usage(
                "--stages names no stage; expected e.g. 30s:10/s,2m:200/s,30s:0/s".to_string(),
            ));
        }
        Ok(Schedule {
            start_rate: start,
            stages,
        })
    }

    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    pub fn peak(&self) -> Rate {
        let peak = self
            .stages
            .iter()
            .map(|s| s.target.0)
            .fold(self.start_rate.0, f64::max);
        Rate(peak)
    }

    /// How many iterations the whole schedule starts.
    pub fn total(&self) -> u64 {
        let mut from = self.start_rate.0;
        let mut total = 0.0;
        for stage in &self.stages {
            total += (from + stage.target.0) / 2.0 * stage.duration.as_secs_f64();
            from = stage.target.0;
        }
        total.ceil() as u64
    }

    /// When iteration `n` (0-based) is meant to start; `None` once the schedule has no more.
    pub fn arrival(&self, n: u64) -> Option<Duration> {
        let n = n as f64;
        let mut before = 0.0;
        let mut offset = 0.0;
        let mut from = self.start_rate.0;
        for stage in &self.stages {
            let length = stage.duration.as_secs_f64();
            let to = stage.target.0;
            let count = (from + to) / 2.0 * length;
            if n < before + count {
                let m = n - before;
                // N(τ) = from·τ + (to − from)/(2T)·τ² = m, in the form that stays exact when the ramp is flat
                // or starts from zero.
                let a = if length > 0.0 {
                    (to - from) / (2.0 * length)
                } else {
                    0.0
                };
                let tau = if m <= 0.0 {
                    0.0
                } else {
                    2.0 * m / (from + (from * from + 4.0 * a * m).max(0.0).sqrt())
                };
                return Some(Duration::from_secs_f64(offset + tau.clamp(0.0, length)));
            }
            before += count;
            offset += length;
            from = to;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Option<Duration>) -> f64 {
        d.map(|d| d.as_secs_f64()).unwrap_or(-1.0)
    }

    #[test]
    fn rates_parse_with_units() {
        assert_eq!(Rate::parse("50/s").ok(), Some(Rate(50.0)));
        assert_eq!(Rate::parse("120/m").ok(), Some(Rate(2.0)));
        assert_eq!(Rate::parse("7").ok(), Some(Rate(7.0)));
        assert!(Rate::parse("5/d").is_err());
        assert!(Rate::parse("-1/s").is_err());
    }

    #[test]
    fn a_constant_rate_spaces_arrivals_evenly_and_ends() {
        let s = Schedule::constant(Rate(10.0), Duration::from_secs(2));
        assert_eq!(s.total(), 20);
        assert!((secs(s.arrival(0)) - 0.0).abs() < 1e-9);
        assert!((secs(s.arrival(5)) - 0.5).abs() < 1e-9);
        assert!((secs(s.arrival(19)) - 1.9).abs() < 1e-9);
        assert_eq!(s.arrival(20), None);
    }

    #[test]
    fn a_ramp_from_zero_follows_the_area_under_the_rate() {
        // 0 → 10/s over 10 s: 50 iterations, N(t) = t²/2, so the 8th starts at t = 4 s.
        let s = Schedule::parse_stages("10s:10/s", Rate(0.0)).expect("stages");
        assert_eq!(s.total(), 50);
        assert!((secs(s.arrival(8)) - 4.0).abs() < 1e-9);
        assert_eq!(s.arrival(50), None);
    }

    #[test]
    fn stages_chain_ramp_up_plateau_and_ramp_down() {
        let s = Schedule::parse_stages("2s:10/s,3s:10/s,2s:0/s", Rate(0.0)).expect("stages");
        assert_eq!(s.total(), 10 + 30 + 10);
        // The first plateau arrival is at the end of the ramp.
        assert!((secs(s.arrival(10)) - 2.0).abs() < 1e-9);
        assert!((secs(s.arrival(39)) - 4.9).abs() < 1e-9);
        // Ramp-down: N(τ) = 10τ − 2.5τ²; the 45th overall is the 5th of the stage, at τ = 2 − √2.
        assert!((secs(s.arrival(45)) - (5.0 + 2.0 - 2f64.sqrt())).abs() < 1e-9);
        let mut last = 0.0;
        for n in 0..50 {
            let t = secs(s.arrival(n));
            assert!(t >= last, "arrival {n} at {t} before {last}");
            last = t;
        }
    }

    #[test]
    fn ten_thousand_per_second_does_not_drift() {
        let s = Schedule::constant(Rate(10_000.0), Duration::from_secs(60));
        let t = secs(s.arrival(599_999));
        assert!((t - 59.9999).abs() < 1e-6, "{t}");
    }

    #[test]
    fn bad_stages_are_usage_errors() {
        assert!(Schedule::parse_stages("30s", Rate(0.0)).is_err());
        assert!(Schedule::parse_stages("forever:1/s", Rate(0.0)).is_err());
        assert!(Schedule::parse_stages("", Rate(0.0)).is_err());
    }
}
