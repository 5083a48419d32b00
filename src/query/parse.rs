//! The query language as typed, parsed into a tree of [`Node`]s (compiled
//! into a tantivy query by [`super::compile`]).
//!
//! ```text
//! Section 907                 every word (ranked by BM25)
//! "oil needs"~2               a phrase, with up to 2 words of slop
//! Baku OR Tehran              either
//! -Iran  -"South Caucasus"    without a word or phrase (also NOT)
//! (SOCAR OR gas) Israel       grouping
//! author:grinberg  outlet:"The New Arab"  stance:critical  kind:caption
//! title:normalization         only in titles (text: only in the paragraph)
//! normali*                    a prefix
//! Khanin~1                    fuzzy: up to 1 edit (opt-in; ~ alone is 2)
//! ```
//!
//! Written by hand rather than with tantivy's `QueryParser` because that
//! parser drops `*` (no prefix queries), reads `word~1` as a phrase, and
//! reports errors without a position, and because field scopes here take
//! forgiving values (a surname selects an author). The parser is lenient:
//! an unclosed quote or parenthesis, a stray `)` or a dangling `OR` is read
//! the way the user most likely meant; only what cannot be guessed (an
//! empty `author:`, `a*`, `word~5`) is an error, and it names the column.

use std::fmt;

use crate::index::schema::FacetField;
use crate::text::analysis;

/// Deepest parenthesis nesting honoured; deeper `(` are read as spaces so
/// adversarial input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;
/// Largest edit distance of a fuzzy word.
pub const MAX_FUZZY_DISTANCE: u8 = 2;
/// Largest phrase slop.
const MAX_SLOP: u32 = 100;

/// A problem in a query, at a 1-based character column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl ParseError {
    /// A problem with the query as a whole (reported at its first column).
    pub fn whole(message: impl Into<String>) -> ParseError {
        ParseError {
            column: 1,
            message: message.into(),
        }
    }

    /// The message with the query beneath it and a caret at the column.
    pub fn pointing_into(&self, query: &str) -> String {
        format!(
            "{self}\n  {query}\n  {}^",
            " ".repeat(self.column.saturating_sub(1))
        )
    }
}

/// Where a word must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Text,
    Title,
    Facet(FacetField),
}

impl Scope {
    fn parse(name: &str) -> Option<Scope> {
        match name.to_ascii_lowercase().as_str() {
            "text" => Some(Scope::Text),
            "title" => Some(Scope::Title),
            other => FacetField::parse(other).map(Scope::Facet),
        }
    }
}

/// How a clause joins its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// Required (all words by default); optional in a relaxed search.
    Plain,
    /// `+word`: required even in a relaxed search.
    Required,
    /// `-word`, `NOT word`.
    Excluded,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Word {
        text: String,
        prefix: bool,
        fuzzy: Option<u8>,
        /// 0-based `[start, end)` character columns in the query.
        span: (usize, usize),
    },
    Phrase {
        text: String,
        slop: u32,
        span: (usize, usize),
    },
    Scoped {
        scope: Scope,
        node: Box<Node>,
    },
    All(Vec<(Sign, Node)>),
    Any(Vec<Node>),
}

impl Node {
    /// Whether any part of the query is scoped to `scope`.
    pub fn mentions(&self, scope: Scope) -> bool {
        match self {
            Node::Scoped { scope: s, node } => *s == scope || node.mentions(scope),
            Node::All(c) => c.iter().any(|(_, n)| n.mentions(scope)),
            Node::Any(b) => b.iter().any(|n| n.mentions(scope)),
            Node::Word { .. } | Node::Phrase { .. } => false,
        }
    }

    /// The 0-based `[start, end)` character columns the clause covers.
    pub fn span(&self) -> (usize, usize) {
        let join = |a: (usize, usize), b: (usize, usize)| (a.0.min(b.0), a.1.max(b.1));
        match self {
            Node::Word { span, .. } | Node::Phrase { span, .. } => *span,
            Node::Scoped { node, .. } => node.span(),
            Node::All(c) => c
                .iter()
                .map(|(_, n)| n.span())
                .reduce(join)
                .unwrap_or((0, 0)),
            Node::Any(b) => b.iter().map(Node::span).reduce(join).unwrap_or((0, 0)),
        }
    }

    /// Whether the clause only filters (`author:grinberg`): it stays
    /// required when the words are relaxed, and is not one of the words.
    pub fn is_filter(&self) -> bool {
        matches!(
            self,
            Node::Scoped {
                scope: Scope::Facet(_),
                ..
            }
        )
    }

    /// Whether dropping the all-words requirement can change the answer:
    /// the query joins two or more plain clauses that are not filters.
    pub fn relaxable(&self) -> bool {
        match self {
            Node::All(c) => {
                c.iter()
                    .filter(|(s, n)| *s == Sign::Plain && !n.is_filter())
                    .count()
                    > 1
            }
            Node::Word { text, .. } => {
                analysis::terms(&mut analysis::text_analyzer(), text).len() > 1
            }
            _ => false,
        }
    }
}

/// Parses a query. `Ok(None)` for a query with nothing in it.
pub fn parse(query: &str) -> Result<Option<Node>, ParseError> {
    let mut p = Parser {
        chars: query.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let mut parts = Vec::new();
    loop {
        match p.parse_or()? {
            // A `)` with no `(` before it is read as a space: the words
            // on either side join as if it were not there.
            Some(Node::All(clauses)) => parts.extend(clauses),
            Some(node) => parts.push((Sign::Plain, node)),
            None => {}
        }
        p.skip_ws();
        if p.at_end() {
            break;
        }
        p.pos += 1;
    }
    Ok(match parts.as_slice() {
        [] => None,
        [(Sign::Plain, _)] => parts.pop().map(|(_, n)| n),
        _ => Some(Node::All(parts)),
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„')
}

fn ends_word(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')' || is_quote(c)
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// An operator (`OR`, `AND`, `NOT`, `||`, `&&`) standing as a word.
    fn at_operator(&self, op: &str) -> bool {
        let n = op.chars().count();
        op.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
            && self.peek_at(n).is_none_or(ends_word)
    }

    fn eat_operator(&mut self, ops: &[&str]) -> bool {
        for op in ops {
            if self.at_operator(op) {
                self.pos += op.chars().count();
                return true;
            }
        }
        false
    }

    fn at_clause_end(&self) -> bool {
        self.at_end()
            || self.peek() == Some(')')
            || self.at_operator("OR")
            || self.at_operator("||")
    }

    fn parse_or(&mut self) -> Result<Option<Node>, ParseError> {
        let mut branches = Vec::new();
        loop {
            if let Some(node) = self.parse_and()? {
                branches.push(node);
            }
            self.skip_ws();
            if !self.eat_operator(&["OR", "||"]) {
                break;
            }
        }
        Ok(match branches.len() {
            0 => None,
            1 => branches.pop(),
            _ => Some(Node::Any(branches)),
        })
    }

    fn parse_and(&mut self) -> Result<Option<Node>, ParseError> {
        let mut clauses = Vec::new();
        loop {
            self.skip_ws();
            if self.at_clause_end() {
                break;
            }
            if self.eat_operator(&["AND", "&&"]) {
                continue;
            }
            let mut sign = Sign::Plain;
            if self.eat_operator(&["NOT"]) {
                sign = Sign::Excluded;
                self.skip_ws();
                if self.at_clause_end() {
                    break;
                }
            } else if let (Some(c @ ('-' | '+')), Some(next)) = (self.peek(), self.peek_at(1)) {
                if !next.is_whitespace() && next != ')' {
                    sign = if c == '-' {
                        Sign::Excluded
                    } else {
                        Sign::Required
                    };
                    self.pos += 1;
                }
            }
            if let Some(node) = self.parse_primary()? {
                clauses.push((sign, node));
            }
        }
        Ok(match clauses.len() {
            0 => None,
            1 if clauses[0].0 == Sign::Plain => clauses.pop().map(|(_, n)| n),
            _ => Some(Node::All(clauses)),
        })
    }

    fn parse_primary(&mut self) -> Result<Option<Node>, ParseError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        if c == '(' {
            self.pos += 1;
            if self.depth >= MAX_DEPTH {
                return Ok(None);
            }
            self.depth += 1;
            let inner = self.parse_or()?;
            self.skip_ws();
            if self.peek() == Some(')') {
                self.pos += 1;
            }
            self.depth -= 1;
            return Ok(inner);
        }
        if is_quote(c) {
            return Ok(self.parse_phrase());
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| !ends_word(c)) {
            self.pos += 1;
        }
        let raw: String = self.chars[start..self.pos].iter().collect();
        if let Some((name, rest)) = raw.split_once(':') {
            if let Some(scope) = Scope::parse(name) {
                let value_column = start + name.chars().count() + 1;
                let node = if rest.is_empty() {
                    // `author:"…"`, `outlet:(…)`, or a space before the value.
                    self.skip_ws();
                    if self.at_clause_end() || self.at_operator("AND") || self.at_operator("NOT") {
                        return Err(ParseError {
                            column: value_column + 1,
                            message: format!(
                                "expected a word, \"phrase\" or (group) after `{name}:`"
                            ),
                        });
                    }
                    self.parse_primary()?
                } else {
                    Some(word(rest, value_column)?)
                };
                return Ok(node.map(|node| Node::Scoped {
                    scope,
                    node: Box::new(node),
                }));
            }
        }
        word(&raw, start).map(Some)
    }

    fn parse_phrase(&mut self) -> Option<Node> {
        let start = self.pos;
        self.pos += 1;
        let text_start = self.pos;
        while self.peek().is_some_and(|c| !is_quote(c)) {
            self.pos += 1;
        }
        let text: String = self.chars[text_start..self.pos].iter().collect();
        if !self.at_end() {
            self.pos += 1; // the closing quote; a missing one closes at the end
        }
        let mut slop = 0;
        if self.peek() == Some('~') {
            let digits_start = self.pos + 1;
            let mut end = digits_start;
            while self.chars.get(end).is_some_and(char::is_ascii_digit) {
                end += 1;
            }
            let digits: String = self.chars[digits_start..end].iter().collect();
            slop = digits.parse::<u32>().unwrap_or(MAX_SLOP).min(MAX_SLOP);
            self.pos = end;
        }
        if text.trim().is_empty() {
            return None;
        }
        Some(Node::Phrase {
            text,
            slop,
            span: (start, self.pos),
        })
    }
}

/// A word with its `*` or `~N` suffix read.
fn word(raw: &str, start: usize) -> Result<Node, ParseError> {
    let span = (start, start + raw.chars().count());
    if let Some((stem, distance)) = raw.rsplit_once('~') {
        if !stem.is_empty() && distance.chars().all(|c| c.is_ascii_digit()) {
            let column = start + stem.chars().count() + 1;
            let d: u32 = if distance.is_empty() {
                u32::from(MAX_FUZZY_DISTANCE)
            } else {
                distance.parse().unwrap_or(u32::MAX)
            };
            if d > u32::from(MAX_FUZZY_DISTANCE) {
                return Err(ParseError {
                    column,
                    message: format!(
                        "fuzzy distance {distance} is too large: write `{stem}~1` or `{stem}~2`"
                    ),
                });
            }
            return Ok(Node::Word {
                text: stem.to_string(),
                prefix: false,
                fuzzy: Some(d as u8),
                span,
            });
        }
    }
    if raw.len() > 1 && raw.ends_with('*') {
        let stem = raw.trim_end_matches('*');
        if stem.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            return Err(ParseError {
                column: start + 1,
                message: format!("`{raw}`: a prefix needs at least two letters before the `*`"),
            });
        }
        return Ok(Node::Word {
            text: stem.to_string(),
            prefix: true,
            fuzzy: None,
            span,
        });
    }
    Ok(Node::Word {
        text: raw.to_string(),
        prefix: false,
        fuzzy: None,
        span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str, start: usize) -> Node {
        Node::Word {
            text: text.into(),
            prefix: false,
            fuzzy: None,
            span: (start, start + text.chars().count()),
        }
    }

    fn p(q: &str) -> Node {
        parse(q).unwrap().unwrap()
    }

    #[test]
    fn words_join_as_all() {
        assert_eq!(
            p("Section 907"),
            Node::All(vec![
                (Sign::Plain, w("Section", 0)),
                (Sign::Plain, w("907", 8))
            ])
        );
    }

    #[test]
    fn phrases_with_slop_and_unclosed_quotes() {
        assert_eq!(
            p("\"oil needs\"~2"),
            Node::Phrase {
                text: "oil needs".into(),
                slop: 2,
                span: (0, 13)
            }
        );
        // An unclosed quote runs to the end.
        assert!(matches!(p("\"oil needs"), Node::Phrase { slop: 0, .. }));
        // Curly quotes as typed by word processors.
        assert!(matches!(p("“oil needs”"), Node::Phrase { .. }));
    }

    #[test]
    fn or_exclusion_and_groups() {
        let n = p("(Baku OR Tehran) -Iran -\"South Caucasus\" NOT gas");
        let Node::All(clauses) = n else { panic!() };
        assert!(matches!(clauses[0], (Sign::Plain, Node::Any(ref b)) if b.len() == 2));
        assert_eq!(clauses[1].0, Sign::Excluded);
        assert!(matches!(clauses[2], (Sign::Excluded, Node::Phrase { .. })));
        assert_eq!(clauses[3].0, Sign::Excluded);
        // A hyphen inside a word or standing alone is not an exclusion.
        assert!(matches!(p("Nagorno-Karabakh"), Node::Word { .. }));
        assert!(matches!(p("a - b"), Node::All(ref c) if c.iter().all(|(s, _)| *s == Sign::Plain)));
    }

    #[test]
    fn scopes_take_words_phrases_and_groups() {
        assert!(matches!(
            p("author:grinberg"),
            Node::Scoped {
                scope: Scope::Facet(FacetField::Author),
                ..
            }
        ));
        assert!(matches!(
            p("outlet:\"The New Arab\""),
            Node::Scoped { scope: Scope::Facet(FacetField::Outlet), ref node } if matches!(**node, Node::Phrase { .. })
        ));
        assert!(matches!(
            p("stance:(critical OR neutral)"),
            Node::Scoped { ref node, .. } if matches!(**node, Node::Any(_))
        ));
        assert!(matches!(
            p("TITLE:normalization"),
            Node::Scoped {
                scope: Scope::Title,
                ..
            }
        ));
        // An unknown scope is just text ("U.S.:" or "10:30").
        assert!(matches!(p("time:10"), Node::Word { .. }));
        assert!(p("kind:caption").mentions(Scope::Facet(FacetField::Kind)));
    }

    #[test]
    fn prefix_and_fuzzy_suffixes() {
        assert!(
            matches!(p("normali*"), Node::Word { prefix: true, ref text, .. } if text == "normali")
        );
        assert!(
            matches!(p("Khanin~1"), Node::Word { fuzzy: Some(1), ref text, .. } if text == "Khanin")
        );
        assert!(matches!(p("Khanin~"), Node::Word { fuzzy: Some(2), .. }));
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = parse("Baku author:").unwrap_err();
        assert_eq!(e.column, 13);
        assert!(e.message.contains("author:"), "{e}");
        let e = parse("a* Baku").unwrap_err();
        assert_eq!(e.column, 1);
        let e = parse("Baku Khanin~7").unwrap_err();
        assert_eq!(e.column, 12);
        assert!(e
            .pointing_into("Baku Khanin~7")
            .ends_with("\n             ^"));
    }

    #[test]
    fn lenient_with_stray_operators_and_parentheses() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("   ").unwrap(), None);
        assert_eq!(parse("()").unwrap(), None);
        assert_eq!(p("OR Baku OR"), w("Baku", 3));
        assert_eq!(p("Baku)"), w("Baku", 0));
        // A stray `)` inside pasted text is a space, not a group.
        assert_eq!(
            p("to Politico.) As"),
            Node::All(vec![
                (Sign::Plain, w("to", 0)),
                (Sign::Plain, w("Politico.", 3)),
                (Sign::Plain, w("As", 14)),
            ])
        );
        assert_eq!(p("(Baku"), w("Baku", 1));
        assert!(matches!(p("-Baku"), Node::All(ref c) if c[0].0 == Sign::Excluded));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let q = format!("{}Baku{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&q).unwrap().is_some());
    }

    proptest::proptest! {
        #[test]
        fn any_string_parses_or_errs_without_panicking(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn query_syntax_soup_never_panics(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "(", ")", "\"", "“", "-", "+", "*", "~", "~9", ":", "OR", "AND", "NOT",
                    "author:", "title:", "kind:", "x", "Baku", "é", " ", "  ", "||", "&&",
                ]),
                0..40,
            )
        ) {
            let q: String = parts.concat();
            if let Err(e) = parse(&q) {
                proptest::prop_assert!(e.column >= 1 && e.column <= q.chars().count() + 1);
            }
        }
    }
}
