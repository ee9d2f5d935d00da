//! Saved analyst queries: the documented `.sql` files under `sql/saved/`, embedded in the
//! binary.
//!
//! Each file opens with a comment header that is its documentation and its contract:
//!
//! ```text
//! -- name: coverage_by_province
//! -- purpose: one line, shown by `tunggal sql --saved`
//! -- param region = '': what the parameter means (the quoted text is its default)
//! -- column province_code: what the result column means
//! -- (any other comment lines: notes)
//! ```
//!
//! The one idea to hold in mind: a parameter is written `$name` in the SQL and is replaced by
//! a quoted SQL string literal (`'…'`, quotes doubled) before DataFusion sees the text, so a
//! value can never be anything but a string; the SQL casts it where it needs a date or a
//! number. The notebooks do the same substitution in Python (`notebooks/tunggal_lake.py`),
//! so a saved query means the same thing in the shell, a notebook and a test.

use std::collections::BTreeMap;

use thiserror::Error;

/// Every saved query file, by file name, embedded at build time. A unit test checks that
/// this list and the folder `sql/saved/` agree.
const FILES: &[(&str, &str)] = &[
    (
        "adjudication_backlog.sql",
        include_str!("../saved/adjudication_backlog.sql"),
    ),
    (
        "adjudication_throughput.sql",
        include_str!("../saved/adjudication_throughput.sql"),
    ),
    (
        "coverage_by_province.sql",
        include_str!("../saved/coverage_by_province.sql"),
    ),
    (
        "coverage_by_regency.sql",
        include_str!("../saved/coverage_by_regency.sql"),
    ),
    (
        "duplicates_by_region.sql",
        include_str!("../saved/duplicates_by_region.sql"),
    ),
    (
        "duplicates_by_service_point.sql",
        include_str!("../saved/duplicates_by_service_point.sql"),
    ),
    (
        "match_scores.sql",
        include_str!("../saved/match_scores.sql"),
    ),
    (
        "personalization_by_regency.sql",
        include_str!("../saved/personalization_by_regency.sql"),
    ),
    (
        "reject_reasons.sql",
        include_str!("../saved/reject_reasons.sql"),
    ),
    (
        "sla_by_service_point.sql",
        include_str!("../saved/sla_by_service_point.sql"),
    ),
];

/// What can be wrong with a saved query or the parameters given to it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SavedError {
    /// No saved query has this name.
    #[error("no saved query named {name:?}; `tunggal sql --saved` lists them")]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// A parameter was given that the query does not declare.
    #[error("saved query {query} has no parameter {param:?} (it takes: {declared})")]
    UnknownParam {
        /// The query.
        query: String,
        /// The parameter given.
        param: String,
        /// The declared parameters, comma-separated.
        declared: String,
    },
    /// A `--param` argument is not of the form `name=value`.
    #[error("parameter {0:?} is not of the form name=value")]
    BadParam(String),
    /// The header of a saved query file is malformed (a bug in the file, caught by tests).
    #[error("saved query file {file}: {reason}")]
    BadHeader {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// One declared parameter of a saved query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Name, written `$name` in the SQL.
    pub name: String,
    /// Value used when none is given.
    pub default: String,
    /// What it means.
    pub meaning: String,
}

/// One documented result column of a saved query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// What it means.
    pub meaning: String,
}

/// A saved query: its header, parsed, and its SQL text (header included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedQuery {
    /// Name (the file name without `.sql`).
    pub name: String,
    /// One line: what it answers.
    pub purpose: String,
    /// Declared parameters, in header order.
    pub params: Vec<Param>,
    /// Documented result columns, in header order.
    pub columns: Vec<Column>,
    /// The whole file.
    pub sql: String,
}

impl SavedQuery {
    /// Parses a saved query file; `file` is its file name (`<name>.sql`).
    pub fn parse(file: &str, text: &str) -> Result<SavedQuery, SavedError> {
        let bad = |reason: &str| SavedError::BadHeader {
            file: file.to_string(),
            reason: reason.to_string(),
        };
        let mut name = None;
        let mut purpose = None;
        let mut params = Vec::new();
        let mut columns = Vec::new();
        for line in text.lines() {
            let Some(comment) = line.trim().strip_prefix("--") else {
                break;
            };
            let comment = comment.trim();
            if let Some(v) = comment.strip_prefix("name:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = comment.strip_prefix("purpose:") {
                purpose = Some(v.trim().to_string());
            } else if let Some(v) = comment.strip_prefix("param ") {
                let (decl, meaning) = v.split_once(':').ok_or_else(|| bad("param needs ':'"))?;
                let (pname, default) = decl
                    .split_once('=')
                    .ok_or_else(|| bad("param needs '= default'"))?;
                let default = default.trim();
                let default = default
                    .strip_prefix('\'')
                    .and_then(|d| d.strip_suffix('\''))
                    .ok_or_else(|| bad("param default must be quoted '…'"))?;
                params.push(Param {
                    name: pname.trim().to_string(),
                    default: default.replace("''", "'"),
                    meaning: meaning.trim().to_string(),
                });
            } else if let Some(v) = comment.strip_prefix("column ") {
                let (cname, meaning) = v.split_once(':').ok_or_else(|| bad("column needs ':'"))?;
                columns.push(Column {
                    name: cname.trim().to_string(),
                    meaning: meaning.trim().to_string(),
                });
            }
        }
        let name = name.ok_or_else(|| bad("no '-- name:' line"))?;
        if Some(name.as_str()) != file.strip_suffix(".sql") {
            return Err(bad("'-- name:' differs from the file name"));
        }
        let purpose = purpose.ok_or_else(|| bad("no '-- purpose:' line"))?;
        if columns.is_empty() {
            return Err(bad("no '-- column' lines"));
        }
        Ok(SavedQuery {
            name,
            purpose,
            params,
            columns,
            sql: text.to_string(),
        })
    }

    /// The SQL with every `$param` replaced by its value from `given` or its default, as a
    /// quoted string literal. A name in `given` that the query does not declare is an error.
    pub fn bind(&self, given: &BTreeMap<String, String>) -> Result<String, SavedError> {
        for key in given.keys() {
            if !self.params.iter().any(|p| &p.name == key) {
                return Err(SavedError::UnknownParam {
                    query: self.name.clone(),
                    param: key.clone(),
                    declared: self
                        .params
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let value_of = |name: &str| -> Option<&str> {
            let param = self.params.iter().find(|p| p.name == name)?;
            Some(
                given
                    .get(name)
                    .map_or(param.default.as_str(), |v| v.as_str()),
            )
        };
        Ok(substitute(&self.sql, value_of))
    }
}

/// Replaces each `$identifier` for which `value_of` has a value by that value as a quoted SQL
/// string literal; other text (and undeclared `$…`) is left as it is.
fn substitute<'a>(sql: &str, value_of: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let len = after
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(after.len(), |(i, _)| i);
        match value_of(&after[..len]) {
            Some(value) if len > 0 => {
                out.push('\'');
                out.push_str(&value.replace('\'', "''"));
                out.push('\'');
            }
            _ => {
                out.push('$');
                out.push_str(&after[..len]);
            }
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// Every saved query, sorted by name.
pub fn all() -> Vec<SavedQuery> {
    FILES
        .iter()
        .map(|(file, text)| {
            SavedQuery::parse(file, text).unwrap_or_else(|e| {
                // The files are embedded and their headers are checked by unit tests, so this
                // is a build defect, not a user error.
                panic!("{e}")
            })
        })
        .collect()
}

/// The saved query called `name`.
pub fn get(name: &str) -> Result<SavedQuery, SavedError> {
    all()
        .into_iter()
        .find(|q| q.name == name)
        .ok_or_else(|| SavedError::Unknown {
            name: name.to_string(),
        })
}

/// Parses `name=value` arguments (as given to `--param`) into a map.
pub fn parse_params(args: &[String]) -> Result<BTreeMap<String, String>, SavedError> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| SavedError::BadParam(a.clone()))
        })
        .collect()
}

/// The listing `tunggal sql --saved` prints: one line per query, name and purpose, then its
/// parameters indented.
pub fn listing() -> String {
    let queries = all();
    let width = queries.iter().map(|q| q.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for q in &queries {
        out.push_str(&format!("{:width$}  {}\n", q.name, q.purpose));
        for p in &q.params {
            let default = if p.default.is_empty() {
                String::new()
            } else {
                format!(" (default {})", p.default)
            };
            out.push_str(&format!(
                "{:width$}    --param {}=…{default}: {}\n",
                "", p.name, p.meaning
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_the_saved_folder_is_embedded_and_well_formed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("saved");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = FILES.iter().map(|(f, _)| f.to_string()).collect();
        assert_eq!(on_disk, embedded);
        for q in all() {
            assert!(!q.purpose.is_empty(), "{}", q.name);
            for p in &q.params {
                assert!(
                    q.sql.contains(&format!("${}", p.name)),
                    "{} declares {} but never uses it",
                    q.name,
                    p.name
                );
            }
        }
    }

    #[test]
    fn binding_quotes_values_and_falls_back_to_defaults() {
        let q = SavedQuery::parse(
            "t.sql",
            "-- name: t\n-- purpose: p\n-- param region = '33': r\n-- column a: x\n\
             SELECT $region AS a, $regionx AS b, '$' AS c",
        )
        .unwrap();
        assert_eq!(q.params[0].default, "33");
        let sql = q.bind(&BTreeMap::new()).unwrap();
        assert!(
            sql.ends_with("SELECT '33' AS a, $regionx AS b, '$' AS c"),
            "{sql}"
        );
        let given = parse_params(&["region=O'Brien".to_string()]).unwrap();
        let sql = q.bind(&given).unwrap();
        assert!(sql.contains("SELECT 'O''Brien' AS a"), "{sql}");
        let wrong = parse_params(&["reg=1".to_string()]).unwrap();
        assert!(matches!(
            q.bind(&wrong),
            Err(SavedError::UnknownParam { .. })
        ));
        assert!(parse_params(&["novalue".to_string()]).is_err());
    }

    #[test]
    fn a_header_whose_name_differs_from_the_file_is_refused() {
        let err = SavedQuery::parse(
            "a.sql",
            "-- name: b\n-- purpose: p\n-- column x: y\nSELECT 1",
        );
        assert!(matches!(err, Err(SavedError::BadHeader { .. })));
    }

    #[test]
    fn listing_shows_every_query_with_its_purpose() {
        let text = listing();
        for q in all() {
            assert!(text.contains(&q.name) && text.contains(&q.purpose));
        }
        assert!(text.contains("--param region="));
    }
}
