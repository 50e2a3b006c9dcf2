//! `docs/config.md` is generated from the config structs; these tests fail when it is stale
//! or when a setting has no documentation.

use mailstead_config::{Config, reference_markdown};
use serde_json::Value;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md");

#[test]
fn docs_config_md_matches_the_structs() {
    let expected = reference_markdown();
    if std::env::var_os("MAILSTEAD_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(DOC, &expected).expect("write docs/config.md");
        return;
    }
    let committed = std::fs::read_to_string(DOC).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/config.md is stale (or missing); regenerate it with:\n    \
         MAILSTEAD_BLESS=1 cargo test -p mailstead-config --test reference_doc"
    );
}

/// Walks every schema object; `at` is a readable location for the failure message.
fn undocumented(at: &str, schema: &Value, missing: &mut Vec<String>) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            let described = property
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if !described {
                missing.push(format!("{at}.{key}"));
            }
            undocumented(&format!("{at}.{key}"), property, missing);
        }
    }
    if let Some(variants) = object.get("oneOf").and_then(Value::as_array) {
        for (i, variant) in variants.iter().enumerate() {
            if variant
                .get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                missing.push(format!("{at}.oneOf[{i}]"));
            }
        }
    }
    if let Some(defs) = object.get("$defs").and_then(Value::as_object) {
        for (name, def) in defs {
            undocumented(name, def, missing);
        }
    }
}

#[test]
fn every_schema_property_has_a_description() {
    let schema = schemars::schema_for!(Config).to_value();
    let mut missing = Vec::new();
    undocumented("Config", &schema, &mut missing);
    assert!(
        missing.is_empty(),
        "settings without a `///` doc: {missing:?}"
    );
    // The walk must have seen the sections' keys, or it proves nothing.
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .map_or(0, |d| d.len());
    assert!(
        defs >= 6,
        "expected the section structs in $defs, found {defs}"
    );
}

#[test]
fn reference_has_a_table_row_for_every_key() {
    let doc = reference_markdown();
    for key in [
        "`hostname`",
        "`postgres_password_file`",
        "`listen`",
        "`cert_path`",
        "`format`",
        "`tls_listen`",
        "`plaintext_auth_on_loopback`",
        "`window_secs`",
    ] {
        assert!(
            doc.contains(&format!("| {key} |")),
            "{key} missing from the reference"
        );
    }
}
