//! Status badges as SVG, shields.io's flat style: a grey label on the left, the status and uptime on a coloured
//! right half. Text widths are estimated from Verdana's average advance at 11 px, as shields does without a font.

/// A check's status as a badge shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Up,
    Down,
    /// Up now, but with an open incident or below the uptime target.
    Degraded,
    Unknown,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Down => "down",
            Status::Degraded => "degraded",
            Status::Unknown => "no data",
        }
    }

    pub fn colour(self) -> &'static str {
        match self {
            Status::Up => "#44cc11",
            Status::Down => "#e05d44",
            Status::Degraded => "#dfb317",
            Status::Unknown => "#9f9f9f",
        }
    }
}

/// Approximate width in pixels of `text` in 11 px Verdana.
fn text_width(text: &str) -> u32 {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | '|' | '!' | '\'' => 4,
            'f' | 't' | 'r' | ' ' | '(' | ')' | '-' => 5,
            'm' | 'w' | 'M' | 'W' | '%' => 10,
            c if c.is_ascii_uppercase() => 8,
            _ => 7,
        })
        .sum()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The message a badge shows: the status word, and the uptime when there is one.
pub fn message(status: Status, uptime: Option<f64>) -> String {
    match uptime {
        Some(u) if status != Status::Unknown => format!("{} {}", status.word(), percent(u)),
        _ => status.word().to_string(),
    }
}

/// Uptime with as many decimals as it takes not to round 99.95 up to 100.
pub fn percent(uptime: f64) -> String {
    if uptime >= 100.0 {
        "100%".to_string()
    } else if uptime >= 99.0 {
        format!("{:.2}%", (uptime * 100.0).floor() / 100.0)
    } else {
        format!("{:.1}%", (uptime * 10.0).floor() / 10.0)
    }
}

/// A flat badge: `label | message` with the message on `colour`.
pub fn svg(label: &str, message: &str, colour: &str) -> String {
    let left = text_width(label) + 10;
    let right = text_width(message) + 10;
    let total = left + right;
    let (label, message) = (escape(label), escape(message));
    let colour = escape(colour);
    // Text is drawn at 10x and scaled down, as shields does, so positions stay integers.
    let lx = left * 5;
    let rx = left * 10 + right * 5;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {message}\">\
<title>{label}: {message}</title>\
<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
<clipPath id=\"r\"><rect width=\"{total}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
<g clip-path=\"url(#r)\"><rect width=\"{left}\" height=\"20\" fill=\"#555\"/><rect x=\"{left}\" width=\"{right}\" height=\"20\" fill=\"{colour}\"/><rect width=\"{total}\" height=\"20\" fill=\"url(#s)\"/></g>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"110\">\
<text x=\"{lx}\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" transform=\"scale(.1)\">{label}</text>\
<text x=\"{lx}\" y=\"140\" transform=\"scale(.1)\">{label}</text>\
<text x=\"{rx}\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" transform=\"scale(.1)\">{message}</text>\
<text x=\"{rx}\" y=\"140\" transform=\"scale(.1)\">{message}</text></g></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_never_rounds_up_to_a_perfect_record() {
        assert_eq!(percent(100.0), "100%");
        assert_eq!(percent(99.999), "99.99%");
        assert_eq!(percent(99.5), "99.50%");
        assert_eq!(percent(87.06), "87.0%");
        assert_eq!(message(Status::Up, Some(100.0)), "up 100%");
        assert_eq!(message(Status::Unknown, Some(100.0)), "no data");
    }

    #[test]
    fn a_badge_grows_with_its_text_and_escapes_it() {
        let short = svg("landing", "up", Status::Up.colour());
        let long = svg(
            "route:checkout",
            "degraded 97.5%",
            Status::Degraded.colour(),
        );
        let width = |s: &str| {
            s.split("width=\"")
                .nth(1)
                .and_then(|w| w.split('"').next())
                .and_then(|w| w.parse::<u32>().ok())
                .unwrap()
        };
        assert!(width(&long) > width(&short));
        assert!(long.contains("fill=\"#dfb317\""));
        assert!(svg("<x>", "a&b", "#fff").contains("&lt;x&gt;: a&amp;b"));
    }
}
