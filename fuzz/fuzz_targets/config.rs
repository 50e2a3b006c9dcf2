//! Parsing a configuration must never panic, whatever the text: every problem is an issue.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mailstead_config::Config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(errors) = Config::parse(text, Path::new("/nonexistent"), &[])
    {
        assert!(!errors.0.is_empty(), "an error always holds an issue");
    }
});
