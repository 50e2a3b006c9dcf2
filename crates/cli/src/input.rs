//! Reading values a person types: passwords (never from argv) and sizes.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use mailstead_types::Secret;

use crate::cli::PasswordSource;

/// Reads a password: from `--password-file` (`-` = stdin), else a prompt (asked twice)
/// when stdin is a terminal, else the first line of stdin.
pub fn read_password(source: &PasswordSource, what: &str) -> anyhow::Result<Secret<String>> {
    let pw = match &source.password_file {
        Some(p) if p.as_os_str() == "-" => first_line(std::io::stdin().lock())?,
        Some(p) => {
            let f = std::fs::File::open(p)
                .with_context(|| format!("cannot read password file {}", p.display()))?;
            first_line(std::io::BufReader::new(f))?
        }
        None if std::io::stdin().is_terminal() => {
            let a = rpassword::prompt_password(format!("{what}: "))?;
            let b = rpassword::prompt_password(format!("{what} (again): "))?;
            if a != b {
                bail!("the two passwords differ");
            }
            a
        }
        None => first_line(std::io::stdin().lock())?,
    };
    if pw.is_empty() {
        bail!("empty password");
    }
    Ok(Secret::new(pw))
}

fn first_line(mut r: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    r.read_line(&mut line).context("cannot read the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Parses `500M`, `2G`, `1024`, `10k` (binary multiples) into bytes.
/// A quota: `unlimited` (or `none`) or a size as [`parse_size`] reads it.
pub fn parse_quota(s: &str) -> Result<crate::cli::Quota, String> {
    if s.trim().eq_ignore_ascii_case("unlimited") || s.trim().eq_ignore_ascii_case("none") {
        return Ok(crate::cli::Quota::Unlimited);
    }
    parse_size(s).map(crate::cli::Quota::Bytes)
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size unit {c:?} (use K, M, G or T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 500M or 2G"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10k"), Ok(10 * 1024));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn first_line_strips_line_ending_only() {
        assert_eq!(
            first_line(&b"  pass word \r\nrest"[..]).unwrap(),
            "  pass word "
        );
    }
}
