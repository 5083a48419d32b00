//! The query language: [`parse`] turns what a user types into a tree of
//! words, phrases, patterns, scopes and signs; [`compile`] turns the tree
//! into a tantivy query against one index generation ([`scorers`]: the
//! wrappers it needs that tantivy lacks; [`closeness`]: scoring words that
//! stand together; [`explain`]: a score taken apart); [`lexicon`] expands
//! patterns and fuzzy words against the index's terms, within bounds;
//! [`suggest`] proposes corrected queries when nothing is found;
//! [`bm25`] scores a term with BM25 parameters other than tantivy's.

pub mod bm25;
pub mod closeness;
pub mod compile;
pub mod explain;
pub mod lexicon;
pub mod parse;
pub mod scorers;
pub mod suggest;

pub use bm25::{Bm25Params, TunedTerm};
pub use compile::{
    compile, CompileError, Compiled, Context, Missing, Words, MAX_QUERY_CLAUSES, MAX_QUERY_TERMS,
};
pub use explain::{explained_parts, ClauseParts, ExplainedParts};
pub use parse::{parse, Node, ParseError, Scope, Sign, MAX_FUZZY_DISTANCE};
