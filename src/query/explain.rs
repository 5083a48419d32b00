//! A query taken apart for explaining a unit's score: each word, phrase or
//! group on the paragraph and on the title alone, and the closeness
//! clauses.

use tantivy::query::{EmptyQuery, Query};

use super::closeness::closeness;
use super::compile::{CompileError, Compiler, Context};
use super::parse::{Node, Scope, Sign};

/// One of the query's words, phrases or groups, compiled on the
/// paragraph and on the title alone: the parts of a score an explanation
/// shows.
pub struct ClauseParts {
    /// The clause as typed.
    pub typed: String,
    pub in_text: Box<dyn Query>,
    /// Unweighted: the title weight multiplies it in a search.
    pub in_title: Box<dyn Query>,
}

/// The clauses' parts, and the closeness clauses.
pub type ExplainedParts = (Vec<ClauseParts>, Vec<Box<dyn Query>>);

/// The query's parts for explaining a unit's score: each top-level word,
/// phrase or group not excluded (facet scopes aside: they only filter),
/// and the closeness clauses.
pub fn explained_parts(
    node: &Node,
    query: &str,
    cx: &Context,
) -> Result<ExplainedParts, CompileError> {
    let clauses: Vec<&Node> = match node {
        Node::All(c) => c
            .iter()
            .filter(|(s, _)| *s != Sign::Excluded)
            .map(|(_, n)| n)
            .collect(),
        n => vec![n],
    };
    let mut c = Compiler::new(cx, true);
    let chars: Vec<char> = query.chars().collect();
    let mut parts = Vec::new();
    for n in clauses {
        let own = match n {
            Node::Scoped {
                scope: Scope::Facet(_),
                ..
            } => continue,
            Node::Scoped { scope, .. } => Some(*scope),
            _ => None,
        };
        let mut on = |scope: Scope| -> Result<Box<dyn Query>, CompileError> {
            let q = match own {
                Some(s) if s != scope => None,
                _ => c.node(n, Some(scope))?,
            };
            Ok(q.unwrap_or_else(|| Box::new(EmptyQuery)))
        };
        let (in_text, in_title) = (on(Scope::Text)?, on(Scope::Title)?);
        let (start, end) = n.span();
        parts.push(ClauseParts {
            typed: chars[start.min(chars.len())..end.min(chars.len())]
                .iter()
                .collect(),
            in_text,
            in_title,
        });
    }
    Ok((parts, closeness(node, cx.fields.text)))
}
