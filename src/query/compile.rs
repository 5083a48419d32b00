//! Compiling a parsed query into a tantivy query against one index
//! generation: words and phrases over the text and title fields, scopes
//! resolved to indexed values, patterns and fuzzy words expanded within
//! bounds, and the deadline checked as it goes.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Instant;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery, Query,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::closeness::{closeness, closeness_bound};
use super::lexicon::{Expansion, Lexicon, MAX_EXPANSIONS, MAX_PATTERN_WORDS};
use super::parse::{Node, ParseError, Scope, Sign};
use super::scorers::{Checked, Counted, Either, Guarded, WithBonus};
use crate::index::schema::{FacetField, Fields};
use crate::text::analysis;

/// Most words, phrases, patterns and scoped values in one query, after
/// repeats are dropped (Lucene's classic clause limit). Each becomes a
/// scorer that every match visits; a query of 5,000 words is a pasted
/// document, not a search.
pub const MAX_QUERY_CLAUSES: usize = 1_024;
/// Most indexed words one query looks up, phrases' words and the
/// expansions of its patterns included (16 patterns of 128 words each
/// twice over).
pub const MAX_QUERY_TERMS: usize = 4_096;

/// A word of the query that no unit contains (for "did you mean").
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// 0-based `[start, end)` character columns in the query.
    pub span: (usize, usize),
    /// The analysed term that was looked up.
    pub term: String,
}

/// Why a query could not be compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum CompileError {
    /// The query asks for something that cannot be answered (an unknown
    /// author, a pattern that is too broad, too many words).
    Invalid(ParseError),
    /// The deadline passed while compiling.
    Timeout,
}

impl From<ParseError> for CompileError {
    fn from(e: ParseError) -> CompileError {
        CompileError::Invalid(e)
    }
}

/// A query ready to run.
pub struct Compiled {
    pub query: Box<dyn Query>,
    /// In a relaxed query, the words (top-level clauses) whose matches
    /// each add [`super::scorers::WORD_CREDIT`] to a unit's score; 0 otherwise.
    pub words: usize,
    /// Terms of the text field to mark in snippets.
    pub highlight: HashSet<String>,
    pub missing: Vec<Missing>,
}

/// Turns a scoped value into the indexed values it selects.
pub type Resolver<'a> = dyn Fn(FacetField, &str) -> Result<Vec<String>, String> + 'a;

/// Which of a query's plain words a unit must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    /// Every one.
    All,
    /// Any (a relaxed search): units rank by how many they hold.
    Most,
    /// As `Most`, in the paragraph, and one of the query's rarest words:
    /// partial matches that fill a page (a unit holding "the" and "of"
    /// from a pasted quote is no answer, and finding every such unit
    /// would cost a scan).
    MostWithRare,
}

/// The rarest words of a query a partial match must hold one of: the
/// rarest, and the next ones while their units add up to at most this.
pub const RARE_WORDS_UNITS: u64 = 5_000;

/// What compiling needs besides the tree.
pub struct Context<'a> {
    pub searcher: &'a tantivy::Searcher,
    pub fields: &'a Fields,
    pub title_boost: f32,
    /// Which of the plain words a unit must hold.
    pub words: Words,
    /// The indexed values a scoped value selects (`author:grinberg`), or a
    /// message saying why none does.
    pub resolve: &'a Resolver<'a>,
    /// When to give up (checked at every clause and during expansions).
    pub deadline: Option<Instant>,
}

/// Compiles a parsed query. Repeated clauses count once; a query with
/// more than [`MAX_QUERY_CLAUSES`] clauses or [`MAX_QUERY_TERMS`] terms,
/// or a pattern matching more than [`MAX_PATTERN_WORDS`] words, is an
/// error that says which part to narrow.
///
/// A unit matches only when at least one of the query's words or phrases
/// is in the paragraph itself: an article's title helps a unit rank and
/// completes a match of several words, but does not make every paragraph
/// of the article a hit (`title:` still searches titles on purpose).
/// Among matches, units where the plain words stand close together and in
/// the query's order rank higher.
pub fn compile(node: &Node, cx: &Context) -> Result<Compiled, CompileError> {
    let mut c = Compiler::new(cx, false);
    c.text_required = single_clause(node);
    let Some(main) = c.node(node, None)? else {
        return Ok(Compiled {
            query: Box::new(EmptyQuery),
            words: 0,
            highlight: c.highlight,
            missing: c.missing,
        });
    };
    let mut parts: Vec<(Occur, Q)> = vec![(Occur::Must, main)];
    // Partial matches that fill a page hold a rare word in the paragraph
    // already, and rank by the words they hold: neither check is needed.
    let filling = cx.words == Words::MostWithRare;
    if !c.text_required && !filling {
        let in_text = c.in_text(node)?;
        if !in_text.is_empty() {
            parts.push((
                Occur::Must,
                Box::new(Checked {
                    clauses: in_text,
                    scored: false,
                }),
            ));
        }
    }
    let close = if filling {
        Vec::new()
    } else {
        closeness(node, cx.fields.text)
    };
    let mut query: Q = if parts.len() == 1 {
        parts.pop().map(|(_, q)| q).expect("one part")
    } else {
        Box::new(BooleanQuery::new(parts))
    };
    if !close.is_empty() {
        query = Box::new(WithBonus {
            main: query,
            bonus: Box::new(Checked {
                clauses: close,
                scored: true,
            }),
            bound: closeness_bound(node, cx.fields.text, cx.searcher),
        });
    }
    Ok(Compiled {
        query,
        words: c.counted,
        highlight: c.highlight,
        missing: c.missing,
    })
}

/// Whether the query is one word or phrase (with nothing excluded): then
/// that clause must be in the paragraph, and the title only adds to it.
fn single_clause(node: &Node) -> bool {
    match node {
        Node::Word { .. } | Node::Phrase { .. } => true,
        Node::All(c) => {
            // Repeats count once (`trump trump` is `trump`).
            let mut seen = HashSet::new();
            let distinct: Vec<&(Sign, Node)> = c
                .iter()
                .filter(|(s, n)| !repeated(&mut seen, &format!("{s:?}"), n))
                .collect();
            matches!(distinct.as_slice(), [(s, n)] if *s != Sign::Excluded && single_clause(n))
        }
        _ => false,
    }
}

/// The words and phrases a unit may hold in its paragraph for the query
/// to count it: every one not excluded and not scoped to a field other
/// than the text.
/// Each counts once, however often it is repeated.
/// The words and phrases a unit may hold in its paragraph for the query
/// to count it (every one not excluded nor scoped to another field), each
/// once: for another backend's translation of the query.
pub fn paragraph_clauses(node: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    text_clauses(node, &mut HashSet::new(), &mut out);
    out
}

/// A clause's structure as a string: two clauses with the same key ask
/// the same.
pub fn clause_key(node: &Node) -> String {
    let mut key = String::new();
    shape(node, &mut key);
    key
}

fn text_clauses<'n>(node: &'n Node, seen: &mut HashSet<String>, out: &mut Vec<&'n Node>) {
    match node {
        Node::Word { .. } | Node::Phrase { .. } => {
            if !repeated(seen, "", node) {
                out.push(node);
            }
        }
        Node::Scoped {
            scope: Scope::Text,
            node,
        } => text_clauses(node, seen, out),
        Node::Scoped { .. } => {}
        Node::All(c) => c
            .iter()
            .filter(|(s, _)| *s != Sign::Excluded)
            .for_each(|(_, n)| text_clauses(n, seen, out)),
        Node::Any(b) => b.iter().for_each(|n| text_clauses(n, seen, out)),
    }
}

pub(super) struct Compiler<'a, 'c> {
    cx: &'c Context<'a>,
    highlight: HashSet<String>,
    missing: Vec<Missing>,
    /// Clauses and terms compiled so far, against the bounds.
    clauses: usize,
    terms: usize,
    /// Compiling clauses a second time (in the paragraph only): not
    /// counted against the bounds, not highlighted, not "missing".
    quiet: bool,
    /// A word must be in the paragraph; the title only adds to its score.
    text_required: bool,
    /// How deep in groups the clause being compiled is (0: top level).
    depth: usize,
    /// Top-level clauses given a [`super::scorers::WORD_CREDIT`] (relaxed queries).
    counted: usize,
    /// Patterns and fuzzy words already expanded (dictionary, `stem*` or
    /// `word~d`): the paragraph-only pass of a query reuses the main
    /// pass's dictionary scans.
    expansions: HashMap<(Field, String), Vec<String>>,
}

/// A clause's shape without its place in the query, to find repeats.
fn shape(node: &Node, out: &mut String) {
    match node {
        Node::Word {
            text,
            prefix,
            fuzzy,
            ..
        } => {
            let _ = write!(out, "w{text:?}{prefix}{fuzzy:?}");
        }
        Node::Phrase { text, slop, .. } => {
            let _ = write!(out, "p{text:?}{slop}");
        }
        Node::Scoped { scope, node } => {
            let _ = write!(out, "s{scope:?}(");
            shape(node, out);
            out.push(')');
        }
        Node::All(clauses) => {
            out.push_str("a(");
            for (sign, n) in clauses {
                let _ = write!(out, "{sign:?}");
                shape(n, out);
                out.push(',');
            }
            out.push(')');
        }
        Node::Any(branches) => {
            out.push_str("o(");
            for n in branches {
                shape(n, out);
                out.push(',');
            }
            out.push(')');
        }
    }
}

/// Whether a clause repeats one already seen (and remembers it).
fn repeated(seen: &mut HashSet<String>, prefix: &str, node: &Node) -> bool {
    let mut key = prefix.to_string();
    shape(node, &mut key);
    !seen.insert(key)
}

/// The first character column of a clause, for messages.
fn column_of(node: &Node) -> usize {
    match node {
        Node::Word { span, .. } | Node::Phrase { span, .. } => span.0 + 1,
        Node::Scoped { node, .. } => column_of(node),
        Node::All(c) => c.first().map_or(1, |(_, n)| column_of(n)),
        Node::Any(b) => b.first().map_or(1, column_of),
    }
}

type Q = Box<dyn Query>;

/// The terms of a dictionary expansion of `pattern` (at `column`); a
/// failure to read the dictionary is reported against the whole query,
/// a pattern that matches too much against itself with `narrow`, the
/// advice to narrow it.
fn terms_only(
    found: crate::error::Result<Expansion>,
    pattern: &str,
    column: usize,
    matches: &str,
    narrow: &str,
) -> Result<Vec<String>, CompileError> {
    match found.map_err(|e| ParseError::whole(e.to_string()))? {
        Expansion::Found(v) => Ok(v.into_iter().map(|(t, _)| t).collect()),
        Expansion::Stopped => Err(CompileError::Timeout),
        Expansion::TooBroad => Err(CompileError::Invalid(ParseError {
            column,
            message: format!(
                "`{pattern}` is too broad: more than {MAX_PATTERN_WORDS} indexed words {matches}; {narrow}"
            ),
        })),
    }
}

fn term_query(field: Field, term: &str) -> Q {
    Box::new(TermQuery::new(
        Term::from_field_text(field, term),
        IndexRecordOption::WithFreqs,
    ))
}

/// At most how many units a compiled word or phrase finds, from its
/// terms' unit counts: a word's terms add up (it is looked for in text or
/// title), and the terms of a phrase (read with positions) bound it by
/// the rarest of them.
fn units_at_most(q: &dyn Query, units: &dyn Fn(&Term) -> u64) -> u64 {
    let mut words = 0u64;
    let mut phrase: Option<u64> = None;
    q.query_terms(&mut |term, positions| {
        let n = units(term);
        if positions {
            phrase = Some(phrase.map_or(n, |p| p.min(n)));
        } else {
            words = words.saturating_add(n);
        }
    });
    words.saturating_add(phrase.unwrap_or(0))
}

fn any_of(mut queries: Vec<Q>) -> Option<Q> {
    match queries.len() {
        0 => None,
        1 => queries.pop(),
        _ => Some(Box::new(BooleanQuery::new(
            queries.into_iter().map(|q| (Occur::Should, q)).collect(),
        ))),
    }
}

fn all_of(mut queries: Vec<Q>) -> Option<Q> {
    match queries.len() {
        0 => None,
        1 => queries.pop(),
        _ => Some(Box::new(BooleanQuery::new(
            queries.into_iter().map(|q| (Occur::Must, q)).collect(),
        ))),
    }
}

impl<'a, 'c> Compiler<'a, 'c> {
    /// A compiler at the top of a query; `quiet` for a second pass over
    /// clauses already counted.
    pub(super) fn new(cx: &'c Context<'a>, quiet: bool) -> Self {
        Compiler {
            cx,
            highlight: HashSet::new(),
            missing: Vec::new(),
            clauses: 0,
            terms: 0,
            quiet,
            text_required: false,
            depth: 0,
            counted: 0,
            expansions: HashMap::new(),
        }
    }
    /// The fields a text word is looked up in, with their boosts.
    fn text_fields(&self, scope: Option<Scope>) -> Vec<(Field, f32)> {
        let f = self.cx.fields;
        match scope {
            Some(Scope::Title) => vec![(f.title, 1.0)],
            Some(Scope::Text) => vec![(f.text, 1.0)],
            _ => vec![(f.text, 1.0), (f.title, self.cx.title_boost)],
        }
    }

    /// One query per field for a query built on a field, boosts applied.
    fn on_fields(&self, scope: Option<Scope>, build: &dyn Fn(Field) -> Q) -> Q {
        let f = self.cx.fields;
        if self.text_required && scope.is_none() {
            let title = Box::new(BoostQuery::new(build(f.title), self.cx.title_boost)) as Q;
            return Box::new(BooleanQuery::new(vec![
                (Occur::Must, build(f.text)),
                (Occur::Should, title),
            ]));
        }
        let per_field = self
            .text_fields(scope)
            .into_iter()
            .map(|(field, boost)| {
                let q = build(field);
                if (boost - 1.0).abs() > f32::EPSILON {
                    Box::new(BoostQuery::new(q, boost)) as Q
                } else {
                    q
                }
            })
            .collect::<Vec<Q>>();
        // Text or title: see `Either` for why not a boolean query.
        match per_field.len() {
            0 => Box::new(EmptyQuery),
            1 => per_field
                .into_iter()
                .next()
                .unwrap_or_else(|| Box::new(EmptyQuery)),
            _ => Box::new(Either(per_field)),
        }
    }

    /// Any of the rarest of `words` (each a compiled word): the rarest,
    /// and the next ones while their units add up to at most
    /// [`RARE_WORDS_UNITS`]. A phrase holds no more units than its rarest
    /// word (`"like the funding"` is as rare as "funding", not as common
    /// as "the"), so a phrase beside a common word is the rare one.
    fn rarest(&self, words: Vec<Q>) -> Q {
        let searcher = self.cx.searcher;
        let mut costed: Vec<(u64, Q)> = words
            .into_iter()
            .map(|q| {
                let units = units_at_most(&*q, &|term| searcher.doc_freq(term).unwrap_or(0));
                (units, q)
            })
            .collect();
        costed.sort_by_key(|(units, _)| *units);
        let mut total = 0u64;
        let mut chosen = Vec::new();
        for (units, q) in costed {
            total = total.saturating_add(units);
            if !chosen.is_empty() && total > RARE_WORDS_UNITS {
                break;
            }
            chosen.push(q);
        }
        any_of(chosen).unwrap_or_else(|| Box::new(EmptyQuery))
    }

    /// The query's words and phrases, each in the paragraph only (a unit
    /// must hold one of them there); none when the query has no words
    /// there (only `title:` or facet scopes).
    fn in_text(&mut self, node: &Node) -> Result<Vec<Q>, CompileError> {
        let mut clauses = Vec::new();
        text_clauses(node, &mut HashSet::new(), &mut clauses);
        self.quiet = true;
        let mut parts = Vec::new();
        for clause in clauses {
            if let Some(q) = self.node(clause, Some(Scope::Text))? {
                parts.push(q);
            }
        }
        self.quiet = false;
        Ok(parts)
    }

    fn mark(&mut self, scope: Option<Scope>, term: &str) {
        if self.quiet {
            return;
        }
        if scope != Some(Scope::Title) {
            self.highlight.insert(term.to_string());
        }
    }

    /// Counts one more clause against [`MAX_QUERY_CLAUSES`] and looks at
    /// the clock (a clause costs microseconds to compile, so once a clause
    /// is often enough).
    fn clause(&mut self, node: &Node) -> Result<(), CompileError> {
        if self.cx.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(CompileError::Timeout);
        }
        if self.quiet {
            return Ok(());
        }
        self.clauses += 1;
        if self.clauses > MAX_QUERY_CLAUSES {
            return Err(CompileError::Invalid(ParseError {
                column: column_of(node),
                message: format!(
                    "the query has more than {MAX_QUERY_CLAUSES} different words, phrases and patterns (the one here is past the limit): search for fewer at once"
                ),
            }));
        }
        Ok(())
    }

    /// Counts terms looked up against [`MAX_QUERY_TERMS`]; `what` names
    /// the clause that brought them.
    fn count_terms(&mut self, n: usize, what: &str, column: usize) -> Result<(), CompileError> {
        if self.quiet {
            return Ok(());
        }
        self.terms += n;
        if self.terms > MAX_QUERY_TERMS {
            return Err(CompileError::Invalid(ParseError {
                column,
                message: format!(
                    "the query looks up more than {MAX_QUERY_TERMS} indexed words once `{what}` is counted: use fewer words or patterns, or add letters before each `*`"
                ),
            }));
        }
        Ok(())
    }

    pub(super) fn node(
        &mut self,
        node: &Node,
        scope: Option<Scope>,
    ) -> Result<Option<Q>, CompileError> {
        match node {
            Node::All(clauses) => {
                let mut parts: Vec<(Occur, Q)> = Vec::new();
                let mut seen = HashSet::new();
                let top = self.depth == 0;
                let mut words: Vec<Q> = Vec::new();
                let mut held: Vec<Q> = Vec::new();
                for (sign, sub) in clauses {
                    // `trump trump trump …` asks for no more than `trump`.
                    if repeated(&mut seen, &format!("{sign:?}"), sub) {
                        continue;
                    }
                    let all_words = self.cx.words == Words::All;
                    // The words of a page-filling query are held in the
                    // paragraph: found by the rarest, checked at the units
                    // they find.
                    let filling = top
                        && self.cx.words == Words::MostWithRare
                        && *sign == Sign::Plain
                        && !self.quiet
                        && !sub.is_filter();
                    self.depth += 1;
                    let compiled = if filling {
                        self.node(sub, Some(Scope::Text))
                    } else {
                        self.node(sub, scope)
                    };
                    self.depth -= 1;
                    let Some(q) = compiled? else {
                        continue;
                    };
                    // A relaxed query ranks units by the words they hold.
                    let q = if top
                        && !all_words
                        && !self.quiet
                        && *sign != Sign::Excluded
                        && !sub.is_filter()
                    {
                        self.counted += 1;
                        if filling {
                            words.push(q.box_clone());
                            held.push(Box::new(Counted(q)) as Q);
                            continue;
                        }
                        Box::new(Counted(q)) as Q
                    } else {
                        q
                    };
                    let occur = match sign {
                        Sign::Plain if all_words || sub.is_filter() => Occur::Must,
                        Sign::Plain => Occur::Should,
                        Sign::Required => Occur::Must,
                        Sign::Excluded => Occur::MustNot,
                    };
                    let q = if occur == Occur::MustNot {
                        Box::new(Guarded(q)) as Q
                    } else {
                        q
                    };
                    parts.push((occur, q));
                }
                if words.len() > 1 {
                    let rare = self.rarest(words);
                    parts.push((Occur::Must, Box::new(ConstScoreQuery::new(rare, 0.0))));
                    let checked = Checked {
                        clauses: held,
                        scored: true,
                    };
                    parts.push((Occur::Should, Box::new(checked)));
                } else {
                    // One word (repeated): nothing to fill with but it.
                    parts.extend(
                        words
                            .into_iter()
                            .map(|q| (Occur::Should, Box::new(Counted(q)) as Q)),
                    );
                }
                if parts.is_empty() {
                    return Ok(None);
                }
                // Only exclusions: everything except them.
                if parts.iter().all(|(o, _)| *o == Occur::MustNot) {
                    parts.push((Occur::Must, Box::new(AllQuery)));
                }
                if parts.len() == 1 && parts[0].0 != Occur::MustNot {
                    return Ok(parts.pop().map(|(_, q)| q));
                }
                // Optional words beside exclusions only: at least one must
                // match (tantivy would otherwise require none).
                let optional_only = !parts.iter().any(|(o, _)| *o == Occur::Must);
                let minimum = usize::from(optional_only);
                Ok(Some(Box::new(BooleanQuery::with_minimum_required_clauses(
                    parts, minimum,
                ))))
            }
            Node::Any(branches) => {
                let mut parts = Vec::new();
                let mut seen = HashSet::new();
                self.depth += 1;
                for b in branches {
                    if repeated(&mut seen, "", b) {
                        continue;
                    }
                    match self.node(b, scope) {
                        Ok(Some(q)) => parts.push(q),
                        Ok(None) => {}
                        Err(e) => {
                            self.depth -= 1;
                            return Err(e);
                        }
                    }
                }
                self.depth -= 1;
                Ok(any_of(parts))
            }
            Node::Scoped { scope, node } => {
                self.depth += 1;
                let q = self.node(node, Some(*scope));
                self.depth -= 1;
                q
            }
            Node::Word { text, span, .. } | Node::Phrase { text, span, .. }
                if matches!(scope, Some(Scope::Facet(_))) =>
            {
                let Some(Scope::Facet(field)) = scope else {
                    unreachable!("guarded by the match arm")
                };
                self.clause(node)?;
                self.facet(field, text, span.0)
            }
            Node::Word {
                text,
                prefix: true,
                span,
                ..
            } => {
                self.clause(node)?;
                self.prefix(text, *span, scope)
            }
            Node::Word {
                text,
                fuzzy: Some(d),
                span,
                ..
            } => {
                self.clause(node)?;
                self.fuzzy(text, *d, *span, scope)
            }
            Node::Word { text, span, .. } => {
                self.clause(node)?;
                self.words(text, 0, *span, scope, true)
            }
            Node::Phrase {
                text, slop, span, ..
            } => {
                self.clause(node)?;
                self.words(text, *slop, *span, scope, false)
            }
        }
    }

    /// A scoped facet value: a filter that does not change the ranking.
    fn facet(
        &mut self,
        field: FacetField,
        value: &str,
        column: usize,
    ) -> Result<Option<Q>, CompileError> {
        let values = (self.cx.resolve)(field, value).map_err(|message| ParseError {
            column: column + 1,
            message,
        })?;
        let scoped = format!("{}:{value}", field.as_str());
        self.count_terms(values.len(), &scoped, column + 1)?;
        let indexed = self.cx.fields.value_field(field);
        let lower = matches!(field, FacetField::Stance | FacetField::Kind);
        let queries = values
            .iter()
            .map(|v| {
                let v = if lower { v.to_lowercase() } else { v.clone() };
                Box::new(TermQuery::new(
                    Term::from_field_text(indexed, &v),
                    IndexRecordOption::Basic,
                )) as Q
            })
            .collect();
        Ok(any_of(queries).map(|q| Box::new(ConstScoreQuery::new(q, 0.0)) as Q))
    }

    /// Plain words or a phrase: one term, or the terms in order.
    fn words(
        &mut self,
        text: &str,
        slop: u32,
        span: (usize, usize),
        scope: Option<Scope>,
        single_word: bool,
    ) -> Result<Option<Q>, CompileError> {
        let terms = analysis::terms_with_positions(&mut analysis::text_analyzer(), text);
        self.count_terms(terms.len(), text, span.0 + 1)?;
        Ok(match terms.len() {
            0 => None,
            1 => {
                let term = terms[0].1.clone();
                self.mark(scope, &term);
                if single_word && !self.quiet && scope != Some(Scope::Title) {
                    let lex = Lexicon::new(self.cx.searcher, self.cx.fields.text);
                    let in_title = Lexicon::new(self.cx.searcher, self.cx.fields.title);
                    if lex.doc_freq(&term) == 0 && in_title.doc_freq(&term) == 0 {
                        self.missing.push(Missing {
                            span,
                            term: term.clone(),
                        });
                    }
                }
                Some(self.on_fields(scope, &|field| term_query(field, &term)))
            }
            _ => {
                for (_, t) in &terms {
                    self.mark(scope, t);
                }
                Some(self.on_fields(scope, &|field| {
                    let with_positions: Vec<(usize, Term)> = terms
                        .iter()
                        .map(|(p, t)| (*p, Term::from_field_text(field, t)))
                        .collect();
                    Box::new(PhraseQuery::new_with_offset_and_slop(with_positions, slop)) as Q
                }))
            }
        })
    }

    /// The field whose dictionary expands a word.
    fn dictionary(&self, scope: Option<Scope>) -> Field {
        if scope == Some(Scope::Title) {
            self.cx.fields.title
        } else {
            self.cx.fields.text
        }
    }

    /// Expanded terms as one disjunction over the scope's fields.
    fn expanded(&mut self, terms: Vec<String>, scope: Option<Scope>) -> Q {
        if terms.is_empty() {
            return Box::new(EmptyQuery);
        }
        for t in &terms {
            self.mark(scope, t);
        }
        self.on_fields(scope, &|field| {
            any_of(terms.iter().map(|t| term_query(field, t)).collect())
                .unwrap_or_else(|| Box::new(EmptyQuery))
        })
    }

    /// `normali*`. The index holds stems ("normalization" is "normal"), so
    /// a prefix also takes a stem that it extends by a few letters, and
    /// the stem of the prefix read as a whole word.
    fn prefix(
        &mut self,
        text: &str,
        span: (usize, usize),
        scope: Option<Scope>,
    ) -> Result<Option<Q>, CompileError> {
        let words = analysis::terms(&mut analysis::name_analyzer(), text);
        let Some((last, before)) = words.split_last() else {
            return Ok(None);
        };
        let dictionary = self.dictionary(scope);
        let key = (dictionary, format!("{last}*"));
        let found = match self.expansions.get(&key) {
            Some(found) => found.clone(),
            None => {
                let lex = Lexicon::new(self.cx.searcher, dictionary);
                let mut found = terms_only(
                    lex.with_prefix(last, MAX_EXPANSIONS, self.cx.deadline),
                    &format!("{text}*"),
                    span.0 + 1,
                    &format!("start with `{last}`"),
                    "add letters before the `*`",
                )?;
                // The word itself, whose stem may not start with it
                // (`story*` holds "story", indexed as "stori").
                let whole = analysis::terms(&mut analysis::text_analyzer(), last);
                let chars: Vec<char> = last.chars().collect();
                let shorter = (chars.len().saturating_sub(3).max(4)..chars.len())
                    .map(|keep| chars[..keep].iter().collect::<String>());
                for stem in whole.into_iter().chain(shorter) {
                    if lex.doc_freq(&stem) > 0 && !found.contains(&stem) {
                        found.push(stem);
                    }
                }
                self.expansions.insert(key, found.clone());
                found
            }
        };
        let mut parts: Vec<Q> = Vec::new();
        for w in before {
            if let Some(q) = self.words(w, 0, span, scope, false)? {
                parts.push(q);
            }
        }
        self.count_terms(found.len(), &format!("{text}*"), span.0 + 1)?;
        parts.push(self.expanded(found, scope));
        Ok(all_of(parts))
    }

    /// `Khanin~1`: the terms within that many edits of each word.
    fn fuzzy(
        &mut self,
        text: &str,
        distance: u8,
        span: (usize, usize),
        scope: Option<Scope>,
    ) -> Result<Option<Q>, CompileError> {
        let words = analysis::terms(&mut analysis::text_analyzer(), text);
        let dictionary = self.dictionary(scope);
        let lex = Lexicon::new(self.cx.searcher, dictionary);
        let pattern = format!("{text}~{distance}");
        let narrow = if distance > 1 {
            format!("write `{text}~1` or a longer word")
        } else {
            "write a longer word, or drop the `~`".to_string()
        };
        let mut parts = Vec::new();
        for w in words {
            let key = (dictionary, format!("{w}~{distance}"));
            let near = match self.expansions.get(&key) {
                Some(near) => near.clone(),
                None => {
                    let near = terms_only(
                        lex.within(&w, distance, 0, MAX_EXPANSIONS, self.cx.deadline),
                        &pattern,
                        span.0 + 1,
                        &format!("are within {distance} edits of `{w}`"),
                        &narrow,
                    )?;
                    self.expansions.insert(key, near.clone());
                    near
                }
            };
            self.count_terms(near.len(), &pattern, span.0 + 1)?;
            parts.push(self.expanded(near, scope));
        }
        Ok(all_of(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{Schema, TEXT};

    #[test]
    fn a_phrase_is_as_rare_as_its_rarest_word_and_a_word_adds_its_fields() {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", TEXT);
        let title = schema.add_text_field("title", TEXT);
        let units = |t: &Term| match t.value().as_str() {
            Some("the") => 700_000,
            Some("like") => 90_000,
            Some("fund") => 20_000,
            Some("and") if t.field() == text => 400_000,
            Some("and") => 1_000,
            _ => 0,
        };
        let phrase = PhraseQuery::new(
            ["like", "the", "fund"]
                .iter()
                .map(|w| Term::from_field_text(text, w))
                .collect(),
        );
        assert_eq!(units_at_most(&phrase, &units), 20_000);
        let word = Either(vec![term_query(text, "and"), term_query(title, "and")]);
        assert_eq!(units_at_most(&word, &units), 401_000);
    }
}
