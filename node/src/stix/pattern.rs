//! The part of the STIX 2.1 patterning language that names values: one or
//! more equality comparisons `type:property = 'value'`, joined by `OR`,
//! inside one observation (`[a = 'x' OR b = 'y']`) or across observations
//! (`[a = 'x'] OR [b = 'y']`), with optional parentheses. Each comparison
//! asserts a value on its own, so an `OR` splits into one indicator per
//! comparison.
//!
//! Everything that does not name values one by one is refused with what it
//! is: `AND` (both must hold: neither alone is the indicator), `FOLLOWEDBY`,
//! qualifiers (`WITHIN`, `REPEATS`, `START`/`STOP`), `NOT`, and operators
//! other than `=` (`!=`, `LIKE`, `MATCHES`, `IN`, `ISSUBSET`, ...).

/// One equality comparison: object type, property, value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// `domain-name`, `url`, `x-jaring-phone`, ...
    pub object_type: String,
    /// `value`, `hmac_sha256`, ...
    pub property: String,
    /// The string literal, unescaped.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    LParen,
    RParen,
    Eq,
    Str(String),
    Word(String),
    Other(char),
}

fn tokens(p: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = p.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '[' | ']' | '(' | ')' | '=' => {
                chars.next();
                out.push(match c {
                    '[' => Token::Open,
                    ']' => Token::Close,
                    '(' => Token::LParen,
                    ')' => Token::RParen,
                    _ => Token::Eq,
                });
            }
            '\'' => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some(e @ ('\'' | '\\')) => value.push(e),
                            _ => return Err("bad escape in a string (only \\' and \\\\)".into()),
                        },
                        '\'' => {
                            closed = true;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err("unterminated string".into());
                }
                out.push(Token::Str(value));
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.') => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.') {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word));
            }
            c => {
                chars.next();
                out.push(Token::Other(c));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn is_or(&self) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("OR"))
    }

    /// expression := term (OR term)*
    fn expression(&mut self, out: &mut Vec<Comparison>) -> Result<(), String> {
        self.term(out)?;
        while self.is_or() {
            self.next();
            self.term(out)?;
        }
        Ok(())
    }

    /// term := '(' expression ')' | '[' comparison (OR comparison)* ']'
    fn term(&mut self, out: &mut Vec<Comparison>) -> Result<(), String> {
        match self.next() {
            Some(Token::LParen) => {
                self.expression(out)?;
                match self.next() {
                    Some(Token::RParen) => Ok(()),
                    other => Err(unexpected(other.as_ref(), "')'")),
                }
            }
            Some(Token::Open) => {
                out.push(self.comparison()?);
                while self.is_or() {
                    self.next();
                    out.push(self.comparison()?);
                }
                match self.next() {
                    Some(Token::Close) => Ok(()),
                    other => Err(unexpected(other.as_ref(), "']' or OR")),
                }
            }
            other => Err(unexpected(other.as_ref(), "'[' (an observation)")),
        }
    }

    /// comparison := type:property '=' 'string'
    fn comparison(&mut self) -> Result<Comparison, String> {
        let path = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("NOT") => {
                return Err("NOT is not supported: only equality comparisons name values".into());
            }
            Some(Token::Word(w)) => w,
            other => return Err(unexpected(other.as_ref(), "an object path type:property")),
        };
        let (object_type, property) = path.split_once(':').ok_or("object path must be type:property")?;
        match self.next() {
            Some(Token::Eq) => {}
            Some(Token::Word(w)) => return Err(format!("only '=' comparisons are supported, not {w}")),
            other => return Err(unexpected(other.as_ref(), "'='")),
        }
        match self.next() {
            Some(Token::Str(value)) => {
                Ok(Comparison { object_type: object_type.to_string(), property: property.to_string(), value })
            }
            other => Err(unexpected(other.as_ref(), "a quoted string value")),
        }
    }
}

fn unexpected(t: Option<&Token>, wanted: &str) -> String {
    match t {
        None => format!("the pattern ends where {wanted} should be"),
        Some(Token::Word(w)) if is_keyword(w) => {
            format!("{} is not supported: only equality comparisons joined by OR", w.to_ascii_uppercase())
        }
        Some(Token::Other(c)) => format!("{c:?} is not supported: only '=' comparisons joined by OR"),
        Some(t) => format!("expected {wanted}, found {t:?}"),
    }
}

fn is_keyword(w: &str) -> bool {
    [
        "AND",
        "FOLLOWEDBY",
        "WITHIN",
        "REPEATS",
        "TIMES",
        "START",
        "STOP",
        "LIKE",
        "MATCHES",
        "IN",
        "ISSUBSET",
        "ISSUPERSET",
        "EXISTS",
        "NOT",
    ]
    .iter()
    .any(|k| w.eq_ignore_ascii_case(k))
}

/// Parses a pattern into its equality comparisons, in order.
///
/// # Errors
///
/// A message naming what is not supported (see the module doc).
pub fn comparisons(pattern: &str) -> Result<Vec<Comparison>, String> {
    let mut p = Parser { tokens: tokens(pattern)?, at: 0 };
    let mut out = Vec::new();
    p.expression(&mut out)?;
    match p.next() {
        None => Ok(out),
        Some(t) => Err(unexpected(Some(&t), "the end of the pattern or OR")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn c(t: &str, p: &str, v: &str) -> Comparison {
        Comparison { object_type: t.into(), property: p.into(), value: v.into() }
    }

    #[test]
    fn ors_split_into_their_comparisons() {
        assert_eq!(comparisons("[domain-name:value = 'a.com']").unwrap(), vec![c("domain-name", "value", "a.com")]);
        let two = vec![c("domain-name", "value", "a.com"), c("url", "value", "https://b.com/x")];
        assert_eq!(comparisons("[domain-name:value = 'a.com'] OR [url:value = 'https://b.com/x']").unwrap(), two);
        assert_eq!(comparisons("[domain-name:value = 'a.com' OR url:value = 'https://b.com/x']").unwrap(), two);
        assert_eq!(comparisons("([domain-name:value = 'a.com']) or ([url:value = 'https://b.com/x'])").unwrap(), two);
        assert_eq!(
            comparisons("[x-jaring-social-handle:value = 'telegram:o\\'brien\\\\x']").unwrap(),
            vec![c("x-jaring-social-handle", "value", "telegram:o'brien\\x")]
        );
    }

    #[test]
    fn what_does_not_name_values_one_by_one_is_refused_by_name() {
        let cases = [
            ("[domain-name:value = 'a.com' AND url:value = 'x']", "AND is not supported"),
            ("[domain-name:value = 'a.com'] AND [url:value = 'x']", "AND is not supported"),
            ("[domain-name:value = 'a.com'] FOLLOWEDBY [url:value = 'x']", "FOLLOWEDBY is not supported"),
            ("[domain-name:value = 'a.com'] WITHIN 5 SECONDS", "WITHIN is not supported"),
            ("[domain-name:value = 'a.com'] REPEATS 2 TIMES", "REPEATS is not supported"),
            ("[domain-name:value LIKE 'a%']", "only '=' comparisons"),
            ("[domain-name:value != 'a.com']", "'!'"),
            ("[NOT domain-name:value = 'a.com']", "NOT is not supported"),
            ("[domain-name:value = 'a.com'", "ends where"),
            ("[domain-name:value = 'a.com", "unterminated"),
            ("domain-name:value = 'a.com'", "'['"),
            ("[file:hashes.'SHA-256' = 'ab']", "expected"),
        ];
        for (p, want) in cases {
            let e = comparisons(p).unwrap_err();
            assert!(e.contains(want), "{p}: {e}");
        }
    }
}
