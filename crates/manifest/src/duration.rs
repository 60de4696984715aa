//! Durations as people write them: `10s`, `1m30s`, `500ms`, `2h`, or a bare number of seconds (`10`, `0.5`).
//! One parser serves every flag and every manifest key that takes a time, so they all accept the same forms.

use std::time::Duration;

/// Why a duration was refused; the message names the text and shows the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a duration: {reason} (write e.g. 10s, 1m30s, 500ms, or a number of seconds)"
)]
pub struct DurationError {
    pub input: String,
    pub reason: String,
}

/// Parses a human duration. A bare number is seconds and may have a fraction; otherwise the units are
/// humantime's (`ms`, `s`, `m`, `h`, `d`, and their long forms), summed when several are given.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let text = input.trim();
    let error = |reason: &str| DurationError {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    if text.is_empty() {
        return Err(error("it is empty"));
    }
    if text.starts_with('-') {
        return Err(error("it is negative"));
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| error("it is out of range"));
    }
    humantime::parse_duration(text).map_err(|e| error(&e.to_string()))
}

/// Formats a duration the way [`parse_duration`] reads it back, for messages (`1m30s`, `500ms`).
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration)
        .to_string()
        .replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_forms_and_bare_seconds() {
        let cases = [
            ("10s", 10_000),
            ("1m30s", 90_000),
            ("1m 30s", 90_000),
            ("500ms", 500),
            ("2h", 7_200_000),
            ("10", 10_000),
            ("0.25", 250),
            (" 3s ", 3_000),
        ];
        for (text, millis) in cases {
            assert_eq!(
                parse_duration(text).map(|d| d.as_millis()),
                Ok(millis),
                "{text}"
            );
        }
    }

    #[test]
    fn refusals_name_the_text() {
        for text in ["", "-1", "-5s", "ten seconds", "10 parsecs", "1e400"] {
            let error = parse_duration(text).expect_err(text);
            assert!(error.to_string().contains(&format!("`{text}`")), "{error}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for text in ["1m30s", "500ms", "10s", "2h"] {
            let duration = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }
    }
}
