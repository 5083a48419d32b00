//! `[splitting]`: the rules, beyond the built-in ones, that drop a
//! paragraph as page furniture or give it a kind. Applying them is
//! [`crate::ingest::split`]'s work; here they are read and compiled.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::model::UnitKind;

/// `[splitting]` of index-config.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SplitRules {
    /// Regexes for whole paragraphs to drop, beyond the built-in furniture.
    #[serde(default)]
    pub furniture: Vec<String>,
    /// Regexes that give a paragraph a kind, tried in order before the
    /// built-in rules (`[[splitting.kinds]] kind = "caption"`, `pattern`).
    #[serde(default)]
    pub kinds: Vec<KindRule>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KindRule {
    pub kind: UnitKind,
    pub pattern: String,
}

/// A splitting rule that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("pattern {pattern:?} is not a valid regex: {message}")]
pub struct RuleError {
    pub pattern: String,
    pub message: String,
}

/// Compiled rules: furniture patterns, and kind patterns with their kinds.
pub type CompiledRules = (Vec<Regex>, Vec<(UnitKind, Regex)>);

impl SplitRules {
    /// Compiles every pattern, or says which one does not compile.
    pub fn compile(&self) -> Result<CompiledRules, RuleError> {
        let compile = |pattern: &String| {
            Regex::new(pattern).map_err(|e| RuleError {
                pattern: pattern.clone(),
                message: e.to_string(),
            })
        };
        let furniture = self
            .furniture
            .iter()
            .map(compile)
            .collect::<Result<_, _>>()?;
        let kinds = self
            .kinds
            .iter()
            .map(|r| compile(&r.pattern).map(|re| (r.kind, re)))
            .collect::<Result<_, _>>()?;
        Ok((furniture, kinds))
    }
}
