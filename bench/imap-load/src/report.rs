//! JSON lines on stdout, written by hand (no serde for a dozen fields).

use std::fmt::Write as _;

/// One JSON object, built field by field, printed as one line.
pub struct Line(String);

impl Line {
    /// A line starting with `tool`, `cmd`, `label` and `addr`.
    pub fn new(cmd: &str, label: &str, addr: &str) -> Line {
        let mut l = Line(String::from("{"));
        l = l
            .str("tool", "imap-load")
            .str("cmd", cmd)
            .str("label", label);
        l.str("addr", addr)
    }

    fn key(&mut self, k: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        let _ = write!(self.0, "\"{k}\":");
    }

    pub fn str(mut self, k: &str, v: &str) -> Line {
        self.key(k);
        self.0.push('"');
        for c in v.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.0, "\\u{:04x}", c as u32);
                }
                c => self.0.push(c),
            }
        }
        self.0.push('"');
        self
    }

    pub fn num(mut self, k: &str, v: impl std::fmt::Display) -> Line {
        self.key(k);
        let _ = write!(self.0, "{v}");
        self
    }

    /// Milliseconds with one decimal.
    pub fn ms(self, k: &str, d: std::time::Duration) -> Line {
        let v = (d.as_secs_f64() * 10_000.0).round() / 10.0;
        self.num(k, v)
    }

    pub fn bool(self, k: &str, v: bool) -> Line {
        self.num(k, v)
    }

    /// A value that is JSON already (checked only for being an object or a number).
    pub fn raw(self, k: &str, v: &str) -> Line {
        let v = v.trim();
        if v.starts_with('{') && v.ends_with('}') {
            self.num(k, v)
        } else {
            self.str(k, v)
        }
    }

    pub fn print(mut self) {
        self.0.push('}');
        println!("{}", self.0);
    }
}
