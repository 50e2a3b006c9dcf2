//! Text generated from the JSON schema of [`Config`] (derived by `schemars` from the structs
//! and their `///` docs): the commented default file and the reference in `docs/config.md`.
//! Keys appear in alphabetical order (the order of the schema's properties).

use serde_json::{Map, Value as Json};

use crate::load::{ENV_PREFIX, SECTIONS};
use crate::settings::Config;

/// One `[section]` as described by the schema.
struct Section<'a> {
    name: &'a str,
    description: &'a str,
    /// Key name → the key's schema.
    keys: Vec<(&'a str, &'a Map<String, Json>)>,
}

/// The JSON schema of [`Config`].
pub(crate) fn schema() -> Json {
    schemars::schema_for!(Config).to_value()
}

/// The sections in [`SECTIONS`] order, as found in `root`.
fn sections(root: &Json) -> Vec<Section<'_>> {
    SECTIONS
        .iter()
        .filter_map(|name| {
            let property = root.get("properties")?.get(*name)?.as_object()?;
            let def = resolve(root, property);
            let keys = def
                .get("properties")?
                .as_object()?
                .iter()
                .filter_map(|(key, schema)| Some((key.as_str(), schema.as_object()?)))
                .collect();
            Some(Section {
                name,
                description: text(property, "description"),
                keys,
            })
        })
        .collect()
}

/// The definition behind a `$ref`, or `schema` itself.
fn resolve<'a>(root: &'a Json, schema: &'a Map<String, Json>) -> &'a Map<String, Json> {
    schema
        .get("$ref")
        .and_then(Json::as_str)
        .and_then(|reference| reference.strip_prefix("#/$defs/"))
        .and_then(|name| root.get("$defs")?.get(name)?.as_object())
        .unwrap_or(schema)
}

/// A string member of `schema`, or "".
fn text<'a>(schema: &'a Map<String, Json>, member: &str) -> &'a str {
    schema.get(member).and_then(Json::as_str).unwrap_or("")
}

/// The values of an enum and their descriptions (`oneOf` of `const`s, or `enum`).
fn variants(def: &Map<String, Json>) -> Vec<(String, &str)> {
    if let Some(one_of) = def.get("oneOf").and_then(Json::as_array) {
        return one_of
            .iter()
            .filter_map(Json::as_object)
            .filter_map(|v| Some((v.get("const")?.as_str()?.to_owned(), text(v, "description"))))
            .collect();
    }
    def.get("enum")
        .and_then(Json::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(|v| Some((v.as_str()?.to_owned(), "")))
                .collect()
        })
        .unwrap_or_default()
}

/// A short human name for the type of a key.
fn type_name(root: &Json, schema: &Map<String, Json>) -> String {
    let def = resolve(root, schema);
    let choices = variants(def);
    if !choices.is_empty() {
        let names: Vec<String> = choices.iter().map(|(v, _)| format!("`\"{v}\"`")).collect();
        return format!("one of {}", names.join(", "));
    }
    match def.get("type") {
        Some(Json::String(name)) => single_type_name(root, name, def),
        Some(Json::Array(names)) => {
            let present: Vec<String> = names
                .iter()
                .filter_map(Json::as_str)
                .filter(|name| *name != "null")
                .map(|name| single_type_name(root, name, def))
                .collect();
            let optional = names.iter().any(|name| name == "null");
            let joined = present.join(" or ");
            if optional {
                format!("{joined}, optional")
            } else {
                joined
            }
        }
        _ => "any".to_owned(),
    }
}

fn single_type_name(root: &Json, name: &str, schema: &Map<String, Json>) -> String {
    match name {
        "array" => {
            let items = schema.get("items").and_then(Json::as_object);
            match items {
                Some(items) => format!("array of {}", type_name(root, items)),
                None => "array".to_owned(),
            }
        }
        "integer" | "number" => {
            let min = schema.get("minimum").and_then(Json::as_i64);
            let max = schema.get("maximum").and_then(Json::as_i64);
            match (min, max) {
                (Some(min), Some(max)) => format!("{name}, {min} to {max}"),
                (Some(min), None) if min > 0 => format!("{name}, at least {min}"),
                (_, Some(max)) => format!("{name}, at most {max}"),
                _ => name.to_owned(),
            }
        }
        other => other.to_owned(),
    }
}

/// A JSON value as TOML; `None` for `null` (TOML has none).
fn to_toml(value: &Json) -> Option<toml::Value> {
    Some(match value {
        Json::Null => return None,
        Json::Bool(b) => toml::Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Json::String(s) => toml::Value::String(s.clone()),
        Json::Array(items) => toml::Value::Array(items.iter().filter_map(to_toml).collect()),
        Json::Object(members) => toml::Value::Table(
            members
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), to_toml(v)?)))
                .collect(),
        ),
    })
}

/// The default column of the reference: the `x-default-doc` text, the default as TOML, or
/// "unset".
fn default_cell(schema: &Map<String, Json>) -> String {
    let doc = text(schema, "x-default-doc");
    if !doc.is_empty() {
        return doc.to_owned();
    }
    match schema.get("default").and_then(to_toml) {
        Some(value) => format!("`{value}`"),
        None => "unset".to_owned(),
    }
}

/// Text fit for one markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// `text` as `#` comment lines.
fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// The commented TOML written on first run (`mailstead serve` without a configuration file):
/// every section and key with its documentation; keys with a default are set to it, keys that
/// are unset by default are shown commented out with an example. `hostname` fills in
/// `server.hostname`. Parsing the result gives the defaults.
pub fn default_toml(hostname: &str) -> String {
    let root = schema();
    let mut config = Config::default();
    config.server.hostname = hostname.to_owned();
    // Serializing plain data with string keys cannot fail; an empty table would only leave
    // every key commented out (and the round-trip test would catch it).
    let values = toml::Table::try_from(&config).unwrap_or_default();

    let mut out = String::new();
    comment(
        &mut out,
        &format!(
            "mailstead configuration, written on first run with the defaults.\n\
             Every key is optional; keys left in comments are unset.\n\
             Relative paths are taken from the directory of this file.\n\
             Any key can be set from the environment as {ENV_PREFIX}<SECTION>_<KEY>,\n\
             e.g. {ENV_PREFIX}STORE_BACKEND=postgres. Reference: docs/config.md.\n\
             `mailstead config check` reports every problem in this file."
        ),
    );
    for section in sections(&root) {
        out.push('\n');
        comment(&mut out, section.description);
        out.push_str(&format!("[{}]\n", section.name));
        let section_values = values.get(section.name).and_then(toml::Value::as_table);
        for (key, schema) in &section.keys {
            out.push('\n');
            comment(&mut out, text(schema, "description"));
            for (value, description) in variants(resolve(&root, schema)) {
                comment(&mut out, &format!("  \"{value}\": {description}"));
            }
            match section_values.and_then(|values| values.get(*key)) {
                Some(value) => out.push_str(&format!("{key} = {value}\n")),
                None => {
                    let example = schema
                        .get("examples")
                        .and_then(Json::as_array)
                        .and_then(|examples| examples.first())
                        .and_then(to_toml);
                    match example {
                        Some(example) => out.push_str(&format!("# {key} = {example}\n")),
                        None => out.push_str(&format!("# {key} =\n")),
                    }
                }
            }
        }
    }
    out
}

/// The configuration reference (`docs/config.md`): for each section a table of key, type,
/// default and description, generated from the JSON schema.
pub fn reference_markdown() -> String {
    let root = schema();
    let mut out = String::from(
        "# Configuration reference\n\
         \n\
         <!-- Generated by mailstead_config::reference_markdown(); do not edit.\n     \
         Regenerate with: MAILSTEAD_BLESS=1 cargo test -p mailstead-config -->\n\
         \n\
         mailstead reads one TOML file: `--config FILE`, else `$MAILSTEAD_CONFIG`, else\n\
         `./mailstead.toml`. `mailstead serve` writes a commented one with the defaults when\n\
         there is none. Every key is optional. Relative paths are taken from the directory of\n\
         the file.\n\
         \n\
         Any key can be set from the environment as `MAILSTEAD_<SECTION>_<KEY>`, for example\n\
         `MAILSTEAD_STORE_BACKEND=postgres` or `MAILSTEAD_HTTP_LISTEN='[\"127.0.0.1:8081\"]'`.\n\
         The value is read as a TOML value, else as a plain string. The environment wins over\n\
         the file.\n\
         \n\
         Secrets (`store.postgres_password`, `http.api_token`) can be given in a file instead\n\
         (`*_file`; one trailing newline is ignored). Set one of the two, not both.\n\
         \n\
         `mailstead config check` reports every problem at once, each with its path.\n",
    );
    for section in sections(&root) {
        out.push_str(&format!("\n## `[{}]`\n\n", section.name));
        out.push_str(section.description);
        out.push_str("\n\n| key | type | default | description |\n|---|---|---|---|\n");
        for (key, schema) in &section.keys {
            let mut description = text(schema, "description").to_owned();
            for (value, about) in variants(resolve(&root, schema)) {
                description.push_str(&format!(" `\"{value}\"`: {about}"));
            }
            out.push_str(&format!(
                "| `{key}` | {} | {} | {} |\n",
                cell(&type_name(&root, schema)),
                cell(&default_cell(schema)),
                cell(&description),
            ));
        }
    }
    out
}
