//! `--links FILE`: a list of old URLs (exported from an ad platform, a newsletter tool, a spreadsheet), one per
//! line; `#` starts a comment. Each must still land on a working page in at most one redirect.

use url::Url;

/// A line of the links file that is not an absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinksError {
    #[error("cannot read links file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}: `{text}` is not an absolute http(s) URL ({reason})")]
    Line {
        path: String,
        line: usize,
        text: String,
        reason: String,
    },
}

/// Parses the file's text; duplicates are kept once, in first-seen order.
pub fn parse_links(text: &str, path: &str) -> Result<Vec<Url>, LinksError> {
    let mut links: Vec<Url> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        // CSV exports often quote fields or add columns; the URL is the first field.
        let line = line
            .split([',', '\t'])
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"');
        if line.is_empty() {
            continue;
        }
        let fail = |reason: &str| LinksError::Line {
            path: path.to_string(),
            line: index + 1,
            text: line.to_string(),
            reason: reason.to_string(),
        };
        let url = Url::parse(line).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => fail("no scheme: write https://…"),
            other => fail(&other.to_string()),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(fail("only http and https links can be checked"));
        }
        if !links.contains(&url) {
            links.push(url);
        }
    }
    Ok(links)
}

/// Reads and parses a links file.
pub fn load_links(path: &std::path::Path) -> Result<Vec<Url>, LinksError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LinksError::Read {
        path: display.clone(),
        reason: e.to_string(),
    })?;
    parse_links(&text, &display)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urls_comments_csv_and_duplicates() {
        let text = "# exported from ads\nhttps://demo.test/spring-sale\n\n\"http://demo.test/bf\",clicks\nhttps://demo.test/spring-sale # again\n";
        let links = parse_links(text, "links.txt").unwrap();
        let links: Vec<_> = links.iter().map(Url::as_str).collect();
        assert_eq!(
            links,
            ["https://demo.test/spring-sale", "http://demo.test/bf"]
        );
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let err = parse_links("https://ok.test/\nwww.demo.test/sale\n", "links.txt").unwrap_err();
        assert_eq!(
            err.to_string(),
            "links.txt:2: `www.demo.test/sale` is not an absolute http(s) URL (no scheme: write https://…)"
        );
        let err = parse_links("ftp://demo.test/file\n", "l.txt").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("l.txt:1: `ftp://demo.test/file`"),
            "{err}"
        );
    }
}
