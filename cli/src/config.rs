//! `tunggal.toml`: a configuration file for every flag, so that a deployment names its store,
//! case store, key paths and log format once instead of on every command line.
//!
//! Precedence is **flag > environment variable > file > built-in default**. clap stays the
//! one definition of the flags: before it parses, each value of the file becomes the default
//! of the matching flag (`Command::mut_arg(…).default_value(…)`), and clap already prefers a
//! flag on the command line and then its environment variable to a default.
//!
//! The file is the one named by `--config PATH`, else by `TUNGGAL_CONFIG`, else
//! `./tunggal.toml` when there is one. Its top level holds the global flags (`store`,
//! `log_format`, `verbose`); a `[verb]` table holds the flags of that verb (`[nightly]`,
//! `[serve-sql]`), and `[verb.sub]` those of a sub-verb (`[export.check]`). Keys are the long
//! flag names, with `_` or `-`. An unknown key is an error naming the key and the verb, so a
//! typo never silently falls back to a default.
//!
//! Secrets never go in the file (it is often world-readable, copied, committed): a key that
//! names a password, token, secret or credential, or a value that is key material (a PEM
//! block, 64 hex digits), is refused; give secrets by environment or as a path to a file of
//! mode 0600 (`signing_key = "/etc/tunggal/dc.key"` is a path, and allowed).

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use figment::providers::{Format, Toml};
use figment::value::{Dict, Value};
use figment::Figment;

/// Environment variable naming the configuration file (as `--config` does).
pub const CONFIG_ENV: &str = "TUNGGAL_CONFIG";

/// The file read from the working directory when neither `--config` nor `TUNGGAL_CONFIG`
/// names one.
pub const DEFAULT_FILE: &str = "tunggal.toml";

/// Parts of a key name that mark a secret, refused in the file.
const SECRET_WORDS: [&str; 6] = [
    "password",
    "token",
    "secret",
    "credential",
    "access-key",
    "private-key",
];

/// The configuration file that applies to this command line, if any: `--config PATH` (or
/// `--config=PATH`), else `TUNGGAL_CONFIG`, else `./tunggal.toml` when it exists. A file
/// named explicitly must exist.
pub fn locate(args: &[OsString]) -> Result<Option<PathBuf>> {
    let mut explicit = None;
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--config" {
            explicit = iter.next().map(PathBuf::from);
        } else if let Some(path) = text.strip_prefix("--config=") {
            explicit = Some(PathBuf::from(path));
        }
    }
    let explicit = explicit.or_else(|| {
        std::env::var_os(CONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    match explicit {
        Some(path) if path.is_file() => Ok(Some(path)),
        Some(path) => bail!("configuration file {} does not exist", path.display()),
        None => {
            let default = PathBuf::from(DEFAULT_FILE);
            Ok(default.is_file().then_some(default))
        }
    }
}

/// The command line definition with the values of the configuration file (if any) as the
/// defaults of their flags. Errors name the file, the section and the key.
pub fn apply(command: clap::Command, args: &[OsString]) -> Result<clap::Command> {
    let Some(path) = locate(args)? else {
        return Ok(command);
    };
    // Read here rather than by `Toml::file`, which looks for a relative name in every parent
    // folder too: `./tunggal.toml` means this folder only.
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading configuration file {}", path.display()))?;
    let table: Dict = Figment::from(Toml::string(&text))
        .extract()
        .with_context(|| format!("configuration file {}", path.display()))?;
    let file = path.display().to_string();
    apply_section(command, &table, &[], &file)
}

/// Applies one table of the file to the command it names (`verbs` is the path of verbs from
/// the top, empty for the top level).
fn apply_section(
    mut command: clap::Command,
    table: &Dict,
    verbs: &[String],
    file: &str,
) -> Result<clap::Command> {
    let section = if verbs.is_empty() {
        "the top level".to_string()
    } else {
        format!("[{}]", verbs.join("."))
    };
    for (key, value) in table {
        let name = key.replace('_', "-");
        if let Value::Dict(_, sub_table) = value {
            let Some(sub) = command.find_subcommand(&name).cloned() else {
                bail!(
                    "{file}: unknown section [{}]: `tunggal {}` has no verb {name:?}",
                    verbs
                        .iter()
                        .chain([key])
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("."),
                    verbs.join(" ")
                );
            };
            let mut path = verbs.to_vec();
            path.push(name.clone());
            let sub = apply_section(sub, sub_table, &path, file)?;
            command = command.mut_subcommand(&name, |_| sub);
            continue;
        }
        if name == "config" || name == "help" || name == "version" {
            bail!("{file}: {key} cannot be set in the configuration file ({section})");
        }
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(name.as_str()))
            .cloned()
        else {
            // Not a flag, but worth saying why it can never be one (AWS credentials, say).
            if SECRET_WORDS.iter().any(|w| name.contains(w)) {
                bail!(
                    "{file}: {key} in {section} is a secret: give it by environment or a \
                     file path, never in the configuration file"
                );
            }
            let verb = if verbs.is_empty() {
                "tunggal (global flags)".to_string()
            } else {
                format!("tunggal {}", verbs.join(" "))
            };
            bail!("{file}: unknown key {key:?} in {section}: `{verb}` has no --{name} flag");
        };
        let values = scalars(value).with_context(|| format!("{file}: {key} in {section}"))?;
        refuse_secret(&arg, &name, &values)
            .with_context(|| format!("{file}: {key} in {section}"))?;
        // Checked here with the flag's own parser: clap would only check a default later (in
        // a debug build, by panicking).
        for v in &values {
            let probe = clap::Command::new("tunggal.toml").arg(
                clap::Arg::new("value")
                    .long("value")
                    .action(clap::ArgAction::Set)
                    .allow_hyphen_values(true)
                    .value_parser(arg.get_value_parser().clone()),
            );
            let parsed = probe.try_get_matches_from(["tunggal.toml", "--value", v.as_str()]);
            if parsed.is_err() {
                let possible: Vec<String> = arg
                    .get_possible_values()
                    .iter()
                    .map(|p| p.get_name().to_string())
                    .collect();
                let hint = if possible.is_empty() {
                    String::new()
                } else {
                    format!(" (one of: {})", possible.join(", "))
                };
                bail!("{file}: {key} in {section}: {v:?} is not a valid --{name}{hint}");
            }
        }
        let values: Vec<&'static str> = values
            .into_iter()
            .map(|v| &*Box::leak(v.into_boxed_str()))
            .collect();
        command = command.mut_arg(arg.get_id().clone(), |a| {
            if values.len() == 1 {
                a.default_value(values[0])
            } else {
                a.default_values(values)
            }
        });
    }
    Ok(command)
}

/// The value of a key as the text(s) one would type after the flag.
fn scalars(value: &Value) -> Result<Vec<String>> {
    let json = serde_json::to_value(value)?;
    let one = |v: &serde_json::Value| -> Result<String> {
        Ok(match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            other => bail!("expected a string, number or boolean, found {other}"),
        })
    };
    match &json {
        serde_json::Value::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        serde_json::Value::Array(_) => bail!("an empty list sets nothing: leave the key out"),
        v => Ok(vec![one(v)?]),
    }
}

/// Refuses a secret in the file: by the flag's name or value name, or by a value that is key
/// material.
fn refuse_secret(arg: &clap::Arg, name: &str, values: &[String]) -> Result<()> {
    let by_env = arg
        .get_env()
        .map(|e| format!(" ({})", e.to_string_lossy()))
        .unwrap_or_default();
    // `--user NAME:PASSWORD` carries a password although its name does not say so.
    let value_names = arg
        .get_value_names()
        .unwrap_or_default()
        .iter()
        .map(|v| v.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    // `--metrics-token-file PATH` names where a secret lives, not the secret: a path is fine.
    let names_a_path = name.ends_with("-file");
    if !names_a_path
        && SECRET_WORDS
            .iter()
            .any(|w| name.contains(w) || value_names.contains(w))
    {
        bail!(
            "--{name} is a secret: give it by environment{by_env} or a file path, never in \
             the configuration file"
        );
    }
    let key_material = |v: &String| {
        v.contains("-----BEGIN") || (v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
    };
    if values.iter().any(key_material) {
        bail!(
            "the value of --{name} is key material: give the path of a file of mode 0600 that \
             holds it (here or in the environment{by_env}), never the key itself"
        );
    }
    Ok(())
}
