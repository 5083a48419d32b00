// Temporary stand-in until the real splitter lands.
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitKind {
    Body,
    Heading,
    ListItem,
    Caption,
    Byline,
    Bio,
    Disclaimer,
}
impl UnitKind {
    pub const ALL: [UnitKind; 7] = [
        UnitKind::Body,
        UnitKind::Heading,
        UnitKind::ListItem,
        UnitKind::Caption,
        UnitKind::Byline,
        UnitKind::Bio,
        UnitKind::Disclaimer,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Body => "body",
            UnitKind::Heading => "heading",
            UnitKind::ListItem => "list-item",
            UnitKind::Caption => "caption",
            UnitKind::Byline => "byline",
            UnitKind::Bio => "bio",
            UnitKind::Disclaimer => "disclaimer",
        }
    }
    pub fn parse(s: &str) -> Option<UnitKind> {
        UnitKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
    pub fn searched_by_default(self) -> bool {
        !matches!(self, UnitKind::Caption | UnitKind::Disclaimer)
    }
}
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct SplitRules {
    #[serde(default)]
    pub furniture: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<KindRule>,
}
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct KindRule {
    pub kind: UnitKind,
    pub pattern: String,
}
pub struct Paragraph {
    pub kind: UnitKind,
    pub text: String,
}
pub struct Splitter;
#[derive(Debug)]
pub struct RuleError;
impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "bad rule")
    }
}
impl Splitter {
    pub fn new(_r: &SplitRules) -> Result<Splitter, RuleError> {
        Ok(Splitter)
    }
    pub fn fingerprint(&self) -> String {
        "stub".into()
    }
    pub fn split(&self, text: &str, _a: &[String]) -> Vec<Paragraph> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "Breadcrumb")
            .map(|l| Paragraph {
                kind: UnitKind::Body,
                text: l.to_string(),
            })
            .collect()
    }
}
