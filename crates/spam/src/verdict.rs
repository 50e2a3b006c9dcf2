//! The verdict: symbols with their weights, the score, and the header fields.
//!
//! Mailu's `spam_threshold` semantics: a percent of the reject score. A message whose
//! score is more than `threshold`% of [`Weights::reject_score`] is spam to that account
//! (filed in Junk); a score at or above the reject score is refused at end of DATA.

use std::borrow::Cow;
use std::collections::HashMap;

/// A rule that fired, before weighting.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The symbol name, `[A-Z0-9_]+`: a constant for built-in rules, a configured name
    /// for a DNS blocklist zone ([`crate::dnsbl::Zone::symbol`]).
    pub name: Cow<'static, str>,
    /// Scales the symbol's weight: 1.0 for ordinary rules; the classifier uses it to
    /// scale its weight by how sure it is.
    pub factor: f64,
    /// What matched, in a few printable ASCII words (shown in `X-Spam-Status`).
    pub detail: Option<String>,
}

impl Hit {
    /// A hit with factor 1 and no detail; `name` is a `&'static str` or, for a symbol
    /// named at run time, a `String`.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            name: name.into(),
            factor: 1.0,
            detail: None,
        }
    }

    /// The same hit with a detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The same hit with a factor.
    pub fn with_factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }
}

/// A weighted symbol in a verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    /// The name.
    pub name: String,
    /// Its contribution to the score.
    pub score: f64,
    /// What matched.
    pub detail: Option<String>,
}

/// The weight of every symbol, and the reject score.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    map: HashMap<String, f64>,
    /// The score at and above which a message is refused at DATA; also the 100% mark of
    /// the per-account threshold.
    pub reject_score: f64,
}

/// Default weights: (symbol, weight). Positive is spammy, negative hammy.
pub const DEFAULT_WEIGHTS: &[(&str, f64)] = &[
    // Filled by the modules that define the symbols (rules, dnsbl, bayes, auth).
];

impl Default for Weights {
    fn default() -> Self {
        let mut map: HashMap<String, f64> = DEFAULT_WEIGHTS
            .iter()
            .map(|(n, w)| ((*n).to_owned(), *w))
            .collect();
        for table in [
            crate::rules::WEIGHTS,
            crate::dnsbl::WEIGHTS,
            crate::bayes::WEIGHTS,
        ] {
            for (n, w) in table {
                map.insert((*n).to_owned(), *w);
            }
        }
        Self {
            map,
            reject_score: 15.0,
        }
    }
}

impl Weights {
    /// The defaults with some weights replaced (from configuration).
    pub fn with_overrides(mut self, overrides: &HashMap<String, f64>, reject_score: f64) -> Self {
        for (n, w) in overrides {
            self.map.insert(n.to_ascii_uppercase(), *w);
        }
        self.reject_score = reject_score;
        self
    }

    /// The defaults with the symbol and weight of each DNS blocklist zone added: a zone's
    /// weight is configured with the zone ([`crate::dnsbl::Zone::weight`]), and this is
    /// where it becomes the weight of the zone's symbol. Apply it before
    /// [`Weights::with_overrides`], so an override of a zone's symbol still wins:
    ///
    /// ```
    /// use mailstead_spam::Weights;
    /// use mailstead_spam::dnsbl::{DnsblConfig, Zone};
    ///
    /// let config = DnsblConfig {
    ///     ip_zones: vec![Zone::ip("zen.spamhaus.org", 6.0)],
    ///     ..DnsblConfig::default()
    /// };
    /// let weights = Weights::default().with_zone_weights(config.zones());
    /// assert_eq!(weights.weight("RBL_SPAMHAUS_ZEN"), 6.0);
    /// ```
    pub fn with_zone_weights<'z>(
        mut self,
        zones: impl IntoIterator<Item = &'z crate::dnsbl::Zone>,
    ) -> Self {
        for zone in zones {
            self.map.insert(zone.symbol.clone(), zone.weight);
        }
        self
    }

    /// The weight of a symbol; 0 for one not in the table.
    pub fn weight(&self, name: &str) -> f64 {
        self.map.get(name).copied().unwrap_or(0.0)
    }

    /// Every known symbol and its weight, sorted by name.
    pub fn all(&self) -> Vec<(&str, f64)> {
        let mut v: Vec<(&str, f64)> = self.map.iter().map(|(n, w)| (n.as_str(), *w)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }
}

/// The judgement of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Sum of the symbols' scores.
    pub score: f64,
    /// The symbols that fired with a non-zero score, highest first.
    pub symbols: Vec<Symbol>,
    /// The reject score the verdict was made against.
    pub reject_score: f64,
}

impl Verdict {
    /// Weighs the hits.
    pub fn new(hits: &[Hit], weights: &Weights) -> Self {
        let mut symbols: Vec<Symbol> = hits
            .iter()
            .map(|h| Symbol {
                name: h.name.to_string(),
                score: round2(weights.weight(&h.name) * h.factor),
                detail: h.detail.clone(),
            })
            .filter(|s| s.score != 0.0)
            .collect();
        symbols.sort_by(|a, b| {
            b.score
                .abs()
                .total_cmp(&a.score.abs())
                .then_with(|| a.name.cmp(&b.name))
        });
        let score = round2(symbols.iter().map(|s| s.score).sum());
        Self {
            score,
            symbols,
            reject_score: weights.reject_score,
        }
    }

    /// The score as a percent of the reject score, clamped to 0–100.
    pub fn percent(&self) -> u8 {
        if self.reject_score <= 0.0 {
            return 100;
        }
        (self.score / self.reject_score * 100.0).clamp(0.0, 100.0) as u8
    }

    /// Spam to an account with this threshold (0–100): the score is more than
    /// `threshold`% of the reject score (Mailu: `spamtest :percent :value "gt"`).
    pub fn is_spam(&self, threshold: u8) -> bool {
        self.score > self.reject_score * f64::from(threshold.min(100)) / 100.0
    }

    /// At or above the reject score: refused at end of DATA.
    pub fn rejected(&self) -> bool {
        self.score >= self.reject_score
    }

    /// `X-Spam-Score` and `X-Spam-Status` fields for an account with this threshold,
    /// folded, each ending in CRLF:
    ///
    /// ```text
    /// X-Spam-Score: 13.40 / 15.00
    /// X-Spam-Status: Yes, score=13.40 required=12.00
    ///     symbols=BAYES_SPAM(8.10 0.999),DMARC_POLICY_QUARANTINE(3.50 example.com)
    /// ```
    pub fn headers(&self, threshold: u8) -> String {
        let required = round2(self.reject_score * f64::from(threshold.min(100)) / 100.0);
        let mut out = format!(
            "X-Spam-Score: {:.2} / {:.2}\r\nX-Spam-Status: {}, score={:.2} required={:.2}",
            self.score,
            self.reject_score,
            if self.is_spam(threshold) { "Yes" } else { "No" },
            self.score,
            required
        );
        let mut line_len = out.len() - out.rfind('\n').map_or(0, |i| i + 1);
        let mut first = true;
        for s in &self.symbols {
            let item = match &s.detail {
                Some(d) => format!("{}({:.2} {})", s.name, s.score, printable(d)),
                None => format!("{}({:.2})", s.name, s.score),
            };
            let sep = if first { " symbols=" } else { "," };
            if line_len + sep.len() + item.len() > 76 {
                out.push_str(if first { "\r\n\tsymbols=" } else { ",\r\n\t" });
                line_len = 8;
            } else {
                out.push_str(sep);
                line_len += sep.len();
            }
            out.push_str(&item);
            line_len += item.len();
            first = false;
        }
        out.push_str("\r\n");
        out
    }
}

/// Keeps a detail printable ASCII without the characters that delimit the list.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| !matches!(c, '(' | ')' | ',' | ';'))
        .take(60)
        .collect()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
