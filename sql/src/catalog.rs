//! The table reference the shell's `\d` shows: docs/tables.md, embedded and cut into one
//! entry per table.
//!
//! docs/tables.md is the one place where tables and columns are explained; the shell prints
//! its text as it is, so the page and `\d` can never disagree. A table is documented either by
//! a section headed ``## `name` — summary`` (everything up to the next `##` heading is its
//! entry) or by a bullet ``- `name`: …`` (with its continuation lines) under another heading.

/// docs/tables.md as built into the binary.
pub const TABLES_MD: &str = include_str!("../../docs/tables.md");

/// One documented table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDoc {
    /// SQL name.
    pub name: String,
    /// One line: the heading's text after the name, or the start of the bullet.
    pub summary: String,
    /// The entry as written in docs/tables.md (heading or bullet included).
    pub text: String,
}

/// Every table documented in docs/tables.md, in page order.
pub fn tables() -> Vec<TableDoc> {
    parse(TABLES_MD)
}

/// The documentation of `name`, if docs/tables.md has it.
pub fn table(name: &str) -> Option<TableDoc> {
    tables().into_iter().find(|t| t.name == name)
}

/// Parses a page written like docs/tables.md (see the module docs).
pub fn parse(markdown: &str) -> Vec<TableDoc> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut docs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(heading) = line.strip_prefix("## ") {
            if let Some((name, summary)) = backticked_name(heading) {
                let end = (i + 1..lines.len())
                    .find(|&j| lines[j].starts_with("## ") || lines[j].starts_with("# "))
                    .unwrap_or(lines.len());
                let summary = summary
                    .trim_start_matches([' ', '—', '-', ':'])
                    .trim()
                    .to_string();
                docs.push(TableDoc {
                    name,
                    summary,
                    text: lines[i..end].join("\n").trim_end().to_string(),
                });
                i = end;
                continue;
            }
        } else if let Some(bullet) = line.strip_prefix("- ") {
            if let Some((name, rest)) = backticked_name(bullet) {
                if rest.starts_with(':') {
                    let end = (i + 1..lines.len())
                        .find(|&j| !lines[j].starts_with("  ") || lines[j].trim().is_empty())
                        .unwrap_or(lines.len());
                    let text = lines[i..end].join("\n");
                    let summary = rest.trim_start_matches(':').trim();
                    let summary = summary
                        .split_once(" — ")
                        .map_or(summary, |(head, _)| head)
                        .trim_end_matches([',', ':'])
                        .to_string();
                    docs.push(TableDoc {
                        name,
                        summary,
                        text,
                    });
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    docs
}

/// `` `name` rest`` → (name, rest) when the text starts with a back-ticked identifier.
fn backticked_name(text: &str) -> Option<(String, &str)> {
    let inner = text.strip_prefix('`')?;
    let (name, rest) = inner.split_once('`')?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((name.to_string(), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lake_and_reference_table_is_documented() {
        let names: Vec<String> = tables().into_iter().map(|t| t.name).collect();
        for table in lake::Table::ALL {
            assert!(
                names.iter().any(|n| n == table.name()),
                "{} missing from docs/tables.md: {names:?}",
                table.name()
            );
        }
        for name in [
            lake::reference::REGIONS,
            lake::reference::RESIDENTS,
            lake::reference::STATIONS,
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing");
        }
    }

    #[test]
    fn a_section_runs_to_the_next_heading_and_keeps_its_column_table() {
        let doc = table("packets").unwrap();
        assert!(doc.text.starts_with("## `packets`"), "{}", doc.text);
        assert!(doc.text.contains("| `reason_code` |"));
        assert!(!doc.text.contains("## `enrollments`"));
        assert!(!doc.summary.is_empty());
        assert!(TABLES_MD.contains(&doc.text));
    }

    #[test]
    fn bullets_document_tables_too() {
        let md = "## Others\n\n- `a`: first — more\n  continued\n- `b`: second\n\nafter\n";
        let docs = parse(md);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].name, "a");
        assert_eq!(docs[0].summary, "first");
        assert_eq!(docs[0].text, "- `a`: first — more\n  continued");
        assert_eq!(docs[1].text, "- `b`: second");
    }
}
