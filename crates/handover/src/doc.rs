//! The document as a few block kinds, rendered to Markdown and to one self-contained HTML page, so both say exactly
//! the same thing.

use launchready_envinv::render::esc;

/// One block of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    Subheading(String),
    Paragraph(String),
    List(Vec<String>),
    /// An ordered list of steps.
    Steps(Vec<String>),
    /// A task list the founder ticks.
    Tasks(Vec<String>),
    Table(Vec<String>, Vec<Vec<String>>),
}

impl Block {
    /// A table under the column titles `header`.
    pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> Block {
        Block::Table(header.iter().map(|h| h.to_string()).collect(), rows)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(doc: &Document) -> String {
    let mut out = format!("# {}\n", doc.title);
    for block in &doc.blocks {
        out.push('\n');
        match block {
            Block::Heading(text) => out.push_str(&format!("## {text}\n")),
            Block::Subheading(text) => out.push_str(&format!("### {text}\n")),
            Block::Paragraph(text) => out.push_str(&format!("{text}\n")),
            Block::List(items) => {
                for item in items {
                    out.push_str(&format!("- {item}\n"));
                }
            }
            Block::Steps(items) => {
                for (i, item) in items.iter().enumerate() {
                    out.push_str(&format!("{}. {item}\n", i + 1));
                }
            }
            Block::Tasks(items) => {
                for item in items {
                    out.push_str(&format!("- [ ] {item}\n"));
                }
            }
            Block::Table(head, rows) => {
                let line = |cells: &[String]| {
                    format!(
                        "| {} |\n",
                        cells
                            .iter()
                            .map(|c| md_cell(c))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    )
                };
                out.push_str(&line(head));
                out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
                for row in rows {
                    out.push_str(&line(row));
                }
            }
        }
    }
    out
}

/// Inline code in backticks becomes `<code>`, `**bold**` becomes `<strong>`; everything else is escaped text.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{}</code>", esc(part)));
        } else {
            // `**bold**` outside code, as the Markdown says it.
            for (j, piece) in esc(part).split("**").enumerate() {
                if j % 2 == 1 {
                    out.push_str(&format!("<strong>{piece}</strong>"));
                } else {
                    out.push_str(piece);
                }
            }
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}\
h1{font-size:1.7rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0;table-layout:fixed}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#f6f8fa}code{background:#f6f8fa;padding:0 .2rem;border-radius:3px;font-size:.9em}\
ul.tasks{list-style:none;padding-left:.5rem}ul.tasks li::before{content:'\\2610 ';}";

/// One page, no external resources: it can be mailed or printed as it is.
pub fn html(doc: &Document) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&doc.title),
        esc(&doc.title)
    );
    for block in &doc.blocks {
        match block {
            Block::Heading(text) => out.push_str(&format!("<h2>{}</h2>\n", inline(text))),
            Block::Subheading(text) => out.push_str(&format!("<h3>{}</h3>\n", inline(text))),
            Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>\n", inline(text))),
            Block::List(items) | Block::Steps(items) | Block::Tasks(items) => {
                let (open, close) = match block {
                    Block::Steps(_) => ("<ol>", "</ol>"),
                    Block::Tasks(_) => ("<ul class=\"tasks\">", "</ul>"),
                    _ => ("<ul>", "</ul>"),
                };
                out.push_str(open);
                out.push('\n');
                for item in items {
                    out.push_str(&format!("<li>{}</li>\n", inline(item)));
                }
                out.push_str(close);
                out.push('\n');
            }
            Block::Table(head, rows) => {
                out.push_str("<table>\n<tr>");
                for cell in head {
                    out.push_str(&format!("<th>{}</th>", inline(cell)));
                }
                out.push_str("</tr>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in row {
                        out.push_str(&format!("<td>{}</td>", inline(cell)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings_say_the_same_and_html_is_escaped() {
        let doc = Document {
            title: "Handover: a<b".into(),
            blocks: vec![
                Block::Heading("DNS map".into()),
                Block::Table(
                    vec!["Name".into(), "Record".into()],
                    vec![vec!["a|b".into(), "`TXT v=spf1`".into()]],
                ),
                Block::Tasks(vec!["**high** fix it".into()]),
            ],
        };
        let md = markdown(&doc);
        assert!(md.contains("| a\\|b | `TXT v=spf1` |"), "{md}");
        assert!(md.contains("- [ ] **high** fix it"), "{md}");
        let page = html(&doc);
        assert!(page.contains("<title>Handover: a&lt;b</title>"), "{page}");
        assert!(page.contains("<td><code>TXT v=spf1</code></td>"), "{page}");
        assert!(
            page.contains("<li><strong>high</strong> fix it</li>"),
            "{page}"
        );
    }
}
