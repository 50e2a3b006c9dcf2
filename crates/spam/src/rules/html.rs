//! A small, permissive HTML scan: the links (`href` and their text), every URL in an
//! attribute, the visible text and the images. No HTML crate: a mail's HTML is read for
//! a handful of facts, never rendered, and this scan never fails and is linear in the
//! input.
//!
//! Symbols of HTML parts (fired in [`crate::rules`]):
//!
//! | Symbol | Meaning |
//! |--------|---------|
//! | `HTML_ONLY` | an HTML body without a `text/plain` alternative |
//! | `HTML_IMAGE_ONLY` | an HTML body with an image and almost no text (the text is in the picture, out of reach of text filters) |
//!
//! What is read:
//!
//! - tags `<name attr=value attr="value" attr='value' attr>` (names case-insensitive);
//!   comments, `<!…>` and `<?…>` are skipped, as are the contents of `<script>` and
//!   `<style>`;
//! - `a` and `area` `href` are links; the text inside an `a` is the link's text;
//!   `form action` and `iframe src` are links without text; `img src` and every other
//!   `href`/`src` are URLs only;
//! - character references: `&amp; &lt; &gt; &quot; &apos; &nbsp;` and numeric ones
//!   (`&#112;`, `&#x70;`), so a host name spelt with references is still seen.

/// At most this many characters of visible text are kept.
const MAX_TEXT: usize = 64 * 1024;
/// At most this many links and URLs are kept.
const MAX_URLS: usize = 1000;

/// A link: where it goes and what it shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Link {
    /// The `href` (or `action`/`src`), references decoded, surrounding space trimmed.
    pub href: String,
    /// The text inside the link, references decoded, white space collapsed.
    pub text: String,
}

/// What the scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Html {
    /// Links (`a`/`area` href, `form` action, `iframe` src) in document order.
    pub links: Vec<Link>,
    /// Every URL in an `href`, `src` or `action` attribute, links included.
    pub urls: Vec<String>,
    /// The visible text, white space collapsed to single spaces.
    pub text: String,
    /// `img` tags seen.
    pub images: usize,
}

/// Scans `html`.
pub(crate) fn scan(html: &str) -> Html {
    let mut out = Html::default();
    let bytes = html.as_bytes();
    let mut open_link: Option<Link> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            let end = find_byte(bytes, i, b'<').unwrap_or(bytes.len());
            let text = decode_references(&html[i..end]);
            push_text(&mut out.text, &text);
            if let Some(link) = open_link.as_mut() {
                push_text(&mut link.text, &text);
            }
            i = end;
            continue;
        }
        let rest = &bytes[i..];
        if rest.starts_with(b"<!--") {
            i = find_seq(bytes, i + 4, b"-->").map_or(bytes.len(), |p| p + 3);
            continue;
        }
        if rest.get(1).is_some_and(|b| *b == b'!' || *b == b'?') {
            i = find_byte(bytes, i, b'>').map_or(bytes.len(), |p| p + 1);
            continue;
        }
        let Some(tag) = parse_tag(html, i) else {
            // A '<' that starts no tag is text.
            push_text(&mut out.text, "<");
            i += 1;
            continue;
        };
        i = tag.end;
        let name = tag.name.to_ascii_lowercase();
        if tag.closing {
            if name == "a"
                && let Some(link) = open_link.take()
            {
                push_link(&mut out, link);
            }
            if is_block(&name) {
                push_text(&mut out.text, " ");
            }
            continue;
        }
        for (attr, value) in &tag.attrs {
            let attr = attr.to_ascii_lowercase();
            if matches!(attr.as_str(), "href" | "src" | "action") && out.urls.len() < MAX_URLS {
                out.urls.push(value.clone());
            }
        }
        let attr = |wanted: &str| {
            tag.attrs
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(wanted))
                .map(|(_, v)| v.clone())
        };
        match name.as_str() {
            "a" => {
                if let Some(link) = open_link.take() {
                    push_link(&mut out, link);
                }
                if let Some(href) = attr("href") {
                    open_link = Some(Link {
                        href,
                        text: String::new(),
                    });
                }
            }
            "area" => {
                if let Some(href) = attr("href") {
                    push_link(
                        &mut out,
                        Link {
                            href,
                            text: String::new(),
                        },
                    );
                }
            }
            "form" => {
                if let Some(href) = attr("action") {
                    push_link(
                        &mut out,
                        Link {
                            href,
                            text: String::new(),
                        },
                    );
                }
            }
            "iframe" => {
                if let Some(href) = attr("src") {
                    push_link(
                        &mut out,
                        Link {
                            href,
                            text: String::new(),
                        },
                    );
                }
            }
            "img" => out.images += 1,
            "script" | "style" => {
                let close = if name == "script" {
                    "</script"
                } else {
                    "</style"
                };
                i = find_ci(bytes, i, close.as_bytes()).unwrap_or(bytes.len());
            }
            _ => {
                if is_block(&name) {
                    push_text(&mut out.text, " ");
                }
            }
        }
    }
    if let Some(link) = open_link.take() {
        push_link(&mut out, link);
    }
    let trimmed = out.text.trim_end().len();
    out.text.truncate(trimmed);
    out
}

fn push_link(out: &mut Html, mut link: Link) {
    if out.links.len() < MAX_URLS {
        link.text = link.text.trim().to_owned();
        out.links.push(link);
    }
}

/// Tags after which text does not run on (so `a</td><td>b` reads `a b`).
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "br" | "p"
            | "div"
            | "td"
            | "th"
            | "tr"
            | "li"
            | "ul"
            | "ol"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "hr"
            | "title"
            | "body"
            | "center"
            | "blockquote"
    )
}

/// Appends `text` to `out` with white space collapsed, up to [`MAX_TEXT`] bytes.
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        if out.len() >= MAX_TEXT {
            return;
        }
        if c.is_whitespace() || c == '\u{a0}' {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

/// A tag read by [`parse_tag`].
struct Tag<'h> {
    name: &'h str,
    closing: bool,
    attrs: Vec<(&'h str, String)>,
    /// Just after the `>` (or the end of input).
    end: usize,
}

/// Reads the tag starting at `html[start] == '<'`; `None` when no tag name follows.
fn parse_tag(html: &str, start: usize) -> Option<Tag<'_>> {
    let bytes = html.as_bytes();
    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
        i += 1;
    }
    if i == name_start || !bytes[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = &html[name_start..i];
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        if bytes[i] == b'>' {
            i += 1;
            break;
        }
        let attr_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
        {
            i += 1;
        }
        let attr = &html[attr_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            if i == attr_start {
                // Cannot happen (the name stops only at a delimiter handled above), but
                // never loop without progress: step over one character.
                i += html[i..].chars().next().map_or(1, char::len_utf8);
            }
            attrs.push((attr, String::new()));
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                let value_start = i + 1;
                let value_end = find_byte(bytes, value_start, quote).unwrap_or(bytes.len());
                i = (value_end + 1).min(bytes.len());
                &html[value_start..value_end]
            }
            _ => {
                let value_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                &html[value_start..i]
            }
        };
        if attrs.len() < 64 {
            attrs.push((attr, decode_references(value).trim().to_owned()));
        }
    }
    Some(Tag {
        name,
        closing,
        attrs,
        end: i,
    })
}

/// Decodes the common named and all numeric character references.
pub(crate) fn decode_references(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|end| reference(&rest[1..end]).map(|c| (c, end + 1)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of a reference's name (between `&` and `;`).
fn reference(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => return None,
    })
}

fn find_byte(bytes: &[u8], from: usize, wanted: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|b| *b == wanted)
        .map(|p| p + from)
}

fn find_seq(bytes: &[u8], from: usize, wanted: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(wanted.len())
        .position(|w| w == wanted)
        .map(|p| p + from)
}

/// Like [`find_seq`], ASCII case-insensitive.
fn find_ci(bytes: &[u8], from: usize, wanted: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(wanted.len())
        .position(|w| w.eq_ignore_ascii_case(wanted))
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_with_their_text() {
        let html = scan(
            r#"<p>Hello <A HREF="https://example.com/a?x=1&amp;y=2">our <b>site</b></a>
            <a href='http://evil.example'>https://bank.example</a>
            <a href=http://c.example/>c</a></p>"#,
        );
        assert_eq!(
            html.links,
            vec![
                Link {
                    href: "https://example.com/a?x=1&y=2".into(),
                    text: "our site".into()
                },
                Link {
                    href: "http://evil.example".into(),
                    text: "https://bank.example".into()
                },
                Link {
                    href: "http://c.example/".into(),
                    text: "c".into()
                },
            ]
        );
        assert_eq!(html.text, "Hello our site https://bank.example c");
    }

    #[test]
    fn script_style_and_comments_are_not_text() {
        let html = scan(
            "<style>p { color: red }</style><!-- <a href=x>hidden</a> --><script>var a = '<b>';</script>seen<?xml x?><!DOCTYPE html>",
        );
        assert_eq!(html.text, "seen");
        assert!(html.links.is_empty());
    }

    #[test]
    fn images_and_urls_are_counted() {
        let html = scan(
            r#"<img src="https://img.example/a.png"><img src=cid:x><form action="http://f.example/post">"#,
        );
        assert_eq!(html.images, 2);
        assert_eq!(
            html.urls,
            vec![
                "https://img.example/a.png",
                "cid:x",
                "http://f.example/post"
            ]
        );
        assert_eq!(html.links.len(), 1);
    }

    #[test]
    fn references_are_decoded() {
        assert_eq!(
            decode_references("&#x70;ay&#112;al&amp;co &bogus; &"),
            "paypal&co &bogus; &"
        );
        assert_eq!(decode_references("&#xFFFFFFFF;"), "&#xFFFFFFFF;");
    }

    #[test]
    fn broken_markup_never_panics() {
        for html in [
            "<",
            "<a",
            "<a href=",
            "<a href=\"",
            "<a href='x",
            "</",
            "<!--",
            "<!",
            "<script>",
            "<a =>",
            "<é>",
            "a<b",
            "<a href=\"é\">ü</a",
            "<<<>>>",
            "&#",
            "&#x;",
            "&",
        ] {
            let _ = scan(html);
        }
    }
}
