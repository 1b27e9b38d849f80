//! [`Slug`] (a DNS label) and [`Name`] (human text).

use super::{InputKind, ValidationError, is_dns_label, string_newtype};

/// A DNS label: 1–63 characters of `a-z`, `0-9` and `-`, not starting or
/// ending with `-`. Used for project, group and deployment slugs and scope codes.
///
/// ```
/// use eyrie_core::Slug;
/// let slug: Slug = "acme-prod".parse().unwrap();
/// assert_eq!(slug.as_str(), "acme-prod");
/// assert!("Acme".parse::<Slug>().is_err());
/// assert_eq!(Slug::from_name("Café Müller & Co.").as_str(), "cafe-muller-co");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

fn check_slug(s: &str) -> Result<String, ValidationError> {
    let reason = if s.is_empty() {
        "must not be empty"
    } else if s.len() > 63 {
        "must be at most 63 characters"
    } else if s.starts_with('-') || s.ends_with('-') {
        "must not start or end with '-'"
    } else if !is_dns_label(s) {
        "may only contain lowercase letters a-z, digits and '-'"
    } else {
        return Ok(s.to_owned());
    };
    Err(ValidationError::new(InputKind::Slug, s, reason))
}
string_newtype!(Slug, check_slug);

impl Slug {
    /// Derives a slug from any human name: accents are folded to ASCII,
    /// letters lowercased, every other run of characters becomes one `-`, and
    /// the result is cut to 63 characters. A name with nothing usable in it
    /// (say, only CJK characters or punctuation) gets `x-` followed by a stable
    /// hash of the name, so derivation never fails and is deterministic.
    pub fn from_name(name: &str) -> Slug {
        let mut out = String::with_capacity(name.len());
        let mut pending_dash = false;
        for c in name.chars().flat_map(fold_char) {
            if c.is_ascii_alphanumeric() {
                if pending_dash && !out.is_empty() {
                    out.push('-');
                }
                pending_dash = false;
                out.push(c.to_ascii_lowercase());
            } else {
                pending_dash = true;
            }
            if out.len() >= 63 {
                break;
            }
        }
        out.truncate(63);
        while out.ends_with('-') {
            out.pop();
        }
        if out.is_empty() {
            out = format!("x-{:08x}", fnv1a(name.as_bytes()) as u32);
        }
        Slug(out)
    }
}

/// Folds common Latin letters with diacritics to their ASCII base letters.
fn fold_char(c: char) -> impl Iterator<Item = char> {
    let folded: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' | 'č' | 'Č' | 'ć' | 'Ć' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' | 'ě' | 'Ě' | 'ę' | 'Ę' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' | 'ń' | 'Ń' | 'ň' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'œ' | 'Œ' => "oe",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'ů' | 'Ů' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        'š' | 'Š' | 'ś' | 'Ś' => "s",
        'ž' | 'Ž' | 'ź' | 'Ź' | 'ż' | 'Ż' => "z",
        'ł' | 'Ł' => "l",
        'ř' | 'Ř' => "r",
        'đ' | 'Đ' | 'ď' | 'Ď' => "d",
        'ť' | 'Ť' => "t",
        _ => "",
    };
    let single = folded.is_empty().then_some(c);
    folded.chars().chain(single)
}

/// 64-bit FNV-1a: a tiny, stable hash for deterministic fallbacks and name suffixes.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A human-readable name: 1–128 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

/// Characters that change how text around them is shown without being seen
/// themselves: bidirectional embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069), zero-width and direction marks
/// (U+200B–U+200F), the soft hyphen (U+00AD) and the byte-order mark (U+FEFF).
/// A name holding one can pass for another in a list of members or projects.
fn is_hidden_format(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{00AD}' | '\u{FEFF}')
}

fn check_name(s: &str) -> Result<String, ValidationError> {
    let trimmed = s.trim();
    let reason = if trimmed.is_empty() {
        "must not be empty"
    } else if trimmed.chars().count() > 128 {
        "must be at most 128 characters"
    } else if trimmed.chars().any(char::is_control) {
        "must not contain control characters"
    } else if trimmed.chars().any(is_hidden_format) {
        "must not contain bidirectional overrides or invisible format characters"
    } else {
        return Ok(trimmed.to_owned());
    };
    Err(ValidationError::new(InputKind::Name, s, reason))
}
string_newtype!(Name, check_name);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_errors_say_why() {
        let e = "".parse::<Slug>().unwrap_err();
        assert_eq!(e.kind, InputKind::Slug);
        assert!(e.reason.contains("empty"));
        assert!("-a".parse::<Slug>().unwrap_err().reason.contains("start or end"));
        assert!("A".parse::<Slug>().unwrap_err().reason.contains("lowercase"));
        assert!("a".repeat(64).parse::<Slug>().unwrap_err().reason.contains("63"));
    }

    #[test]
    fn slug_from_name_examples() {
        let cases = [
            ("Acme Corp", "acme-corp"),
            ("  --Hello,   World!!-- ", "hello-world"),
            ("Crème brûlée 2", "creme-brulee-2"),
            ("Straße", "strasse"),
            ("a_b.c", "a-b-c"),
        ];
        for (name, slug) in cases {
            assert_eq!(Slug::from_name(name).as_str(), slug, "{name}");
        }
        let long = Slug::from_name(&"ab ".repeat(40));
        assert!(long.as_str().len() <= 63 && !long.as_str().ends_with('-'));
        let fallback = Slug::from_name("日本語");
        assert!(fallback.as_str().starts_with("x-"));
        assert_eq!(fallback, Slug::from_name("日本語"), "deterministic");
        assert_ne!(fallback, Slug::from_name("中文"));
    }

    #[test]
    fn serde_revalidates() {
        let ok: Slug = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"acme\"");
        assert!(serde_json::from_str::<Slug>("\"Not A Slug\"").is_err());
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!("  Acme  ".parse::<Name>().unwrap().as_str(), "Acme");
        assert!("   ".parse::<Name>().is_err());
        assert!("a\u{7}b".parse::<Name>().is_err());
        for hidden in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200B}', '\u{200F}', '\u{00AD}', '\u{FEFF}'] {
            let e = format!("Acme{hidden}Shop").parse::<Name>().unwrap_err();
            assert!(e.to_string().contains("invisible"), "{hidden:?}: {e}");
        }
        assert!("Café Ünïcode 東京".parse::<Name>().is_ok(), "ordinary letters stay allowed");
        assert!("é".repeat(129).parse::<Name>().is_err());
        assert!("é".repeat(128).parse::<Name>().is_ok());
    }
}
