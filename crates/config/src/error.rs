//! Configuration problems, reported all at once.

use std::fmt;

/// One problem in the configuration, located by `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Where the problem is: a key path such as `store.backend` or `http.listen[1]`, the
    /// environment variable that caused it (`MAILSTEAD_STORE_BACKEND`), a position in the
    /// text for a syntax error (`line 3, column 7`), or the file that could not be read.
    pub path: String,
    /// What is wrong, in lower case.
    pub message: String,
}

impl ConfigIssue {
    /// An issue at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a configuration (never empty when returned as an error).
/// `Display` prints one `path: message` per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

impl ConfigErrors {
    /// The issue at `path`, if any (handy in tests and in `mailstead config check`).
    pub fn find(&self, path: &str) -> Option<&ConfigIssue> {
        self.0.iter().find(|issue| issue.path == path)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_one_issue_per_line() {
        let errors = ConfigErrors(vec![
            ConfigIssue::new("store.backend", "unknown variant `mysql`"),
            ConfigIssue::new("http.listen[1]", "invalid socket address syntax"),
        ]);
        assert_eq!(
            errors.to_string(),
            "store.backend: unknown variant `mysql`\nhttp.listen[1]: invalid socket address syntax"
        );
    }
}
