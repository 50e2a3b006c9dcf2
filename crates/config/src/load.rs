//! Reading a configuration: TOML text → table → env overrides → one key at a time into the
//! section structs → semantic validation → resolved paths and secrets.
//!
//! serde stops at the first error, but `mailstead config check` must report every problem.
//! So the text is first parsed into a `toml::Table` (only a syntax error stops here), and each
//! key of each section is then deserialized on its own, as a one-key table, into its section
//! struct: every field has a default, so the other fields are filled in, and
//! `deny_unknown_fields` reports a key that does not exist. The keys that pass are then
//! deserialized together.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use mailstead_types::{Domain, Secret};
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::error::{ConfigErrors, ConfigIssue};
use crate::settings::Config;
use crate::validate::validate;

/// The section names, in the order of the file written by [`crate::default_toml`].
pub(crate) const SECTIONS: [&str; 14] = [
    "server",
    "store",
    "blobs",
    "http",
    "smtp",
    "submission",
    "imap",
    "queue",
    "dns",
    "filter",
    "greylist",
    "auth",
    "tls",
    "log",
];

/// Prefix of every environment variable mailstead reads.
pub(crate) const ENV_PREFIX: &str = "MAILSTEAD_";

/// Secret files larger than this are refused (a secret is a line, not a document).
const SECRET_FILE_MAX_BYTES: u64 = 64 * 1024;

/// Where an overridden key came from: the variable (used as the issue path) and its raw
/// text (tried as a plain string when its TOML reading does not fit the field).
struct EnvOrigin {
    var: String,
    raw: String,
}

/// `(section, key)` → the environment variable that set it.
type Origins = HashMap<(String, String), EnvOrigin>;

impl Config {
    /// Reads `path`, applies `MAILSTEAD_<SECTION>_<KEY>` overrides from the process
    /// environment, validates, reads the `*_file` secrets and makes every path absolute
    /// (relative paths are taken from the directory holding `path`).
    ///
    /// Every problem is collected: the error holds all issues, not just the first.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigIssue::new(
                path.display().to_string(),
                format!("cannot read the configuration file: {e}"),
            )])
        })?;
        // Variables whose name or value is not UTF-8 cannot be ours to read; skip them
        // rather than panic as `std::env::vars` would.
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        Self::parse(&text, &base_dir_of(path), &env)
    }

    /// Like [`Config::load`], from `text`, with an explicit environment (`env`, name/value
    /// pairs; only `MAILSTEAD_<SECTION>_<KEY>` names are used) and the directory that
    /// relative paths are resolved against.
    pub fn parse(
        text: &str,
        base_dir: &Path,
        env: &[(String, String)],
    ) -> Result<Config, ConfigErrors> {
        let mut table: Table = match text.parse() {
            Ok(table) => table,
            Err(e) => return Err(ConfigErrors(vec![syntax_issue(text, &e)])),
        };
        let mut issues = Vec::new();
        let origins = apply_env(&mut table, env, &mut issues);

        // "section.key" of every key that failed, so that validation does not pile a
        // second, misleading issue on a key already reported.
        let mut failed = BTreeSet::new();
        let mut config = Config::default();
        for (name, value) in table {
            let mut check = SectionCheck {
                section: &name,
                origins: &origins,
                issues: &mut issues,
                failed: &mut failed,
            };
            match name.as_str() {
                "server" => config.server = check.run(value),
                "store" => config.store = check.run(value),
                "blobs" => config.blobs = check.run(value),
                "http" => config.http = check.run(value),
                "smtp" => config.smtp = check.run(value),
                "imap" => config.imap = check.run(value),
                "submission" => config.submission = check.run(value),
                "queue" => config.queue = check.run(value),
                "dns" => config.dns = check.run(value),
                "filter" => config.filter = check.run(value),
                "greylist" => config.greylist = check.run(value),
                "auth" => config.auth = check.run(value),
                "tls" => config.tls = check.run(value),
                "log" => config.log = check.run(value),
                _ => issues.push(ConfigIssue::new(
                    name.as_str(),
                    format!("unknown section, expected one of {}", SECTIONS.join(", ")),
                )),
            }
        }

        validate(&config, &failed, &mut issues);
        normalize_hostname(&mut config);
        resolve_paths(&mut config, base_dir);
        resolve_secrets(&mut config, &failed, &mut issues);

        if issues.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(issues))
        }
    }
}

/// The directory holding the configuration file, absolute when the current directory is
/// known.
fn base_dir_of(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new(""));
    if parent.is_absolute() {
        return parent.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(parent),
        Err(_) => parent.to_path_buf(),
    }
}

/// One issue for a TOML syntax error, located by line and column (both from 1).
fn syntax_issue(text: &str, error: &toml::de::Error) -> ConfigIssue {
    let path = match error.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            format!("line {line}, column {column}")
        }
        None => "syntax".to_owned(),
    };
    ConfigIssue::new(path, format!("invalid TOML: {}", error.message()))
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    // Count characters, not bytes: skip UTF-8 continuation bytes.
    let column = before
        .get(line_start..)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, column)
}

/// Writes `MAILSTEAD_<SECTION>_<KEY>` variables into `table`. Only variables whose
/// `<SECTION>` is a known section are overrides; other `MAILSTEAD_*` names (such as
/// `MAILSTEAD_CONFIG`) are left alone. The value is read as a TOML value (`v = <raw>`), and
/// as a plain string when that fails.
fn apply_env(
    table: &mut Table,
    env: &[(String, String)],
    issues: &mut Vec<ConfigIssue>,
) -> Origins {
    let mut origins = Origins::new();
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let Some((section, key)) = SECTIONS.iter().find_map(|section| {
            let key = rest
                .strip_prefix(section.to_ascii_uppercase().as_str())?
                .strip_prefix('_')?;
            Some((*section, key.to_ascii_lowercase()))
        }) else {
            continue;
        };
        if key.is_empty() {
            issues.push(ConfigIssue::new(
                var.as_str(),
                format!("names no key: expected {ENV_PREFIX}<SECTION>_<KEY>"),
            ));
            continue;
        }
        let entry = table
            .entry(section)
            .or_insert_with(|| Value::Table(Table::new()));
        // A section that is not a table is reported when the section is checked.
        if let Some(section_table) = entry.as_table_mut() {
            section_table.insert(key.clone(), env_value(raw));
            origins.insert(
                (section.to_owned(), key),
                EnvOrigin {
                    var: var.clone(),
                    raw: raw.clone(),
                },
            );
        }
    }
    origins
}

/// `raw` read as a TOML value, else as a string.
fn env_value(raw: &str) -> Value {
    match format!("v = {raw}").parse::<Table>() {
        // A raw value with a newline could add keys; then it was not one value.
        Ok(mut table) if table.len() == 1 => table
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_owned())),
        _ => Value::String(raw.to_owned()),
    }
}

/// Checks the keys of one section one at a time.
struct SectionCheck<'a> {
    section: &'a str,
    origins: &'a Origins,
    issues: &'a mut Vec<ConfigIssue>,
    failed: &'a mut BTreeSet<String>,
}

impl SectionCheck<'_> {
    /// The section struct built from the keys that deserialize; an issue for each other key.
    fn run<T: DeserializeOwned + Default>(&mut self, value: Value) -> T {
        let section = self.section;
        let Value::Table(keys) = value else {
            self.issues.push(ConfigIssue::new(
                section,
                format!("expected a table [{section}], found {}", value.type_str()),
            ));
            return T::default();
        };
        let mut good = Table::new();
        for (key, value) in keys {
            let origin = self.origins.get(&(section.to_owned(), key.clone()));
            match check_key::<T>(section, &key, value, origin) {
                Ok(value) => {
                    good.insert(key, value);
                }
                Err(issues) => {
                    self.failed.insert(format!("{section}.{key}"));
                    self.issues.extend(issues);
                }
            }
        }
        // Each key deserialized on its own, so together they do too; keep the defaults and
        // report the section if that ever fails.
        good.try_into().unwrap_or_else(|e: toml::de::Error| {
            self.issues
                .push(ConfigIssue::new(section, e.message().to_owned()));
            T::default()
        })
    }
}

/// The value to keep for `section.key`, or the issues it has. For a key set from the
/// environment, the raw text as a string and as a comma-separated list are tried too, so
/// `MAILSTEAD_STORE_POSTGRES_PASSWORD=1234` is a string and
/// `MAILSTEAD_HTTP_LISTEN=127.0.0.1:80,[::1]:80` a list.
fn check_key<T: DeserializeOwned>(
    section: &str,
    key: &str,
    value: Value,
    origin: Option<&EnvOrigin>,
) -> Result<Value, Vec<ConfigIssue>> {
    let first_error = match deserialize_key::<T>(key, value.clone()) {
        Ok(()) => return Ok(value),
        Err(e) => e,
    };
    if let Some(origin) = origin {
        let as_string = Value::String(origin.raw.clone());
        let as_list = Value::Array(
            origin
                .raw
                .split(',')
                .map(|item| Value::String(item.trim().to_owned()))
                .collect(),
        );
        for candidate in [as_string, as_list] {
            if deserialize_key::<T>(key, candidate.clone()).is_ok() {
                return Ok(candidate);
            }
        }
    }

    let (path, suffix) = match origin {
        Some(origin) => (origin.var.clone(), format!(" (overrides {section}.{key})")),
        None => (format!("{section}.{key}"), String::new()),
    };
    // For a list, name the items that are wrong: `http.listen[1]`.
    let mut issues = Vec::new();
    if let Value::Array(items) = &value {
        for (i, item) in items.iter().enumerate() {
            if let Err(e) = deserialize_key::<T>(key, Value::Array(vec![item.clone()])) {
                issues.push(ConfigIssue::new(
                    format!("{path}[{i}]"),
                    format!("{e}{suffix}"),
                ));
            }
        }
    }
    if issues.is_empty() {
        issues.push(ConfigIssue::new(path, format!("{first_error}{suffix}")));
    }
    Err(issues)
}

/// Deserializes a table holding only `key = value` into `T`; the error is serde's message.
fn deserialize_key<T: DeserializeOwned>(key: &str, value: Value) -> Result<(), String> {
    let mut table = Table::new();
    table.insert(key.to_owned(), value);
    table
        .try_into::<T>()
        .map(drop)
        .map_err(|e| e.message().to_owned())
}

/// Stores `server.hostname` in its ASCII, lower-case form (`Bücher.Example` →
/// `xn--bcher-kva.example`): it goes on the wire as the HELO name. An invalid name was
/// reported by validation and is left as written.
fn normalize_hostname(config: &mut Config) {
    if let Ok(domain) = config.server.hostname.parse::<Domain>() {
        config.server.hostname = domain.as_str().to_owned();
    }
}

/// Makes every configured path absolute: relative paths are taken from `base_dir`. Unset
/// optional paths stay unset; the accessors default them under the resolved `data_dir`.
fn resolve_paths(config: &mut Config, base_dir: &Path) {
    config.server.data_dir = base_dir.join(&config.server.data_dir);
    let optional_paths = [
        &mut config.store.sqlite_path,
        &mut config.store.postgres_password_file,
        &mut config.blobs.path,
        &mut config.http.api_token_file,
        &mut config.tls.cert_path,
        &mut config.tls.key_path,
        &mut config.queue.smarthost_password_file,
        &mut config.queue.tls_extra_roots_file,
    ];
    for path in optional_paths.into_iter().flatten() {
        *path = base_dir.join(&*path);
    }
}

/// Reads `postgres_password_file` and `api_token_file` into their inline fields.
fn resolve_secrets(config: &mut Config, failed: &BTreeSet<String>, issues: &mut Vec<ConfigIssue>) {
    let store = &mut config.store;
    resolve_secret(
        "store.postgres_password",
        &mut store.postgres_password,
        store.postgres_password_file.as_deref(),
        failed,
        issues,
    );
    let queue = &mut config.queue;
    resolve_secret(
        "queue.smarthost_password",
        &mut queue.smarthost_password,
        queue.smarthost_password_file.as_deref(),
        failed,
        issues,
    );
    let http = &mut config.http;
    resolve_secret(
        "http.api_token",
        &mut http.api_token,
        http.api_token_file.as_deref(),
        failed,
        issues,
    );
}

/// One secret that may be given inline (`key`) or in a file (`key_file`), not both.
fn resolve_secret(
    key: &str,
    inline: &mut Option<Secret<String>>,
    file: Option<&Path>,
    failed: &BTreeSet<String>,
    issues: &mut Vec<ConfigIssue>,
) {
    let file_key = format!("{key}_file");
    if failed.contains(key) || failed.contains(&file_key) {
        return;
    }
    match (inline.as_ref(), file) {
        (Some(_), Some(_)) => {
            let (_, short) = key.split_once('.').unwrap_or(("", key));
            issues.push(ConfigIssue::new(
                key,
                format!("set either {short} or {short}_file, not both"),
            ));
        }
        (None, Some(path)) => match read_secret_file(path) {
            Ok(secret) if secret.is_empty() => issues.push(ConfigIssue::new(
                file_key,
                format!("{} is empty", path.display()),
            )),
            Ok(secret) => *inline = Some(Secret::new(secret)),
            Err(message) => issues.push(ConfigIssue::new(file_key, message)),
        },
        (Some(secret), None) if secret.expose().is_empty() => {
            issues.push(ConfigIssue::new(key, "must not be empty"));
        }
        _ => {}
    }
}

/// The content of a secret file without one trailing newline (`\n` or `\r\n`), as Docker
/// and Kubernetes secrets are often written with `echo`.
fn read_secret_file(path: &Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    // A FIFO or device (`/dev/stdin`, `/dev/zero`) would block or never end.
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let mut bytes = Vec::new();
    file.take(SECRET_FILE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > SECRET_FILE_MAX_BYTES {
        return Err(format!(
            "{} is larger than {SECRET_FILE_MAX_BYTES} bytes",
            path.display()
        ));
    }
    let mut text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one_and_in_characters() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // "bé = " is 6 bytes but 5 characters.
        assert_eq!(line_column(text, 12), (2, 6));
        assert_eq!(line_column(text, 999), (3, 1));
    }

    #[test]
    fn env_value_is_toml_when_it_parses_and_a_string_otherwise() {
        assert_eq!(env_value("42"), Value::Integer(42));
        assert_eq!(env_value("\"x\""), Value::String("x".into()));
        assert_eq!(env_value("postgres"), Value::String("postgres".into()));
        assert_eq!(env_value("1\nw = 2"), Value::String("1\nw = 2".into()));
    }
}
