//! Splitting: a document's text into paragraphs, each with a [`UnitKind`].
//!
//! Articles arrive as text copied from web pages, in two layouts: paragraphs
//! separated by blank lines, or one paragraph per line. Both reduce to "a
//! non-empty line starts a paragraph", except that a line which continues a
//! sentence (the previous line has no closing punctuation and this one
//! starts in lower case) is joined to it, so hard-wrapped text survives.
//!
//! Page furniture ("Breadcrumb", "Topics", a lone "|" or "-") is dropped, a
//! paragraph repeated right after itself is kept once, and every paragraph
//! gets a kind. The built-in rules handle the seed outlets; `[splitting]` in
//! index-config adds furniture patterns and kind patterns (tried before the
//! built-in rules) so a new outlet is described without code.

use std::sync::LazyLock;

use regex::Regex;

use crate::config::splitting::{RuleError, SplitRules};
use crate::model::unit::Unit;
use crate::model::{Document, UnitKind};
use crate::text::{names, words};

/// One paragraph of a document, before it becomes a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph {
    pub kind: UnitKind,
    pub text: String,
}

/// Bumped whenever the built-in rules change, so documents are re-split.
const BUILT_IN_RULES_VERSION: &str = "split-4";

/// Word boundaries in the built-in patterns are ASCII (`(?-u:\b)`): their
/// words are ASCII, and a Unicode boundary keeps the regex crate from its
/// fast engines on any text with a non-ASCII character (curly quotes are
/// everywhere in news), which made these patterns a quarter of an
/// import's time.
fn built_in(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in splitting pattern")
}

/// Navigation labels and separators that pages leave in copied text.
static FURNITURE: LazyLock<Regex> = LazyLock::new(|| {
    built_in(
        r"(?i)^(?:breadcrumbs?|topics|tags|related|share( this( article)?)?|advertisement|read more|[\p{P}\p{S}\s]+)$",
    )
});
/// "The views expressed here are the author's own", "… do not necessarily
/// reflect the views of …": about whose opinion a text is, not prose that
/// happens to say "not necessarily".
static DISCLAIMER: LazyLock<Regex> = LazyLock::new(|| {
    built_in(
        r"(?i)^(?:the )?(?:views|opinions)(?: and (?:facts|views|opinions))? (?:expressed|presented) (?:in|here)(?-u:\b)|(?-u:\b)(?:do|does) not necessarily (?:reflect|represent) (?:the )?(?:\w+ )?(?:views|opinions|positions?|polic(?:y|ies))(?-u:\b)",
    )
});
/// A picture's label: "Photo: …", "Image credit: …", "… map, 2000.
/// Credit: CIA", "(Photo by …)", or a line ending with an agency's credit
/// ("…/Getty Images", "via Reuters", "| AP Photo"). A label inside prose
/// ("Big picture: the resilience …") is not one, nor a sentence that
/// names its source ([`CITED_SOURCE`]).
static CAPTION: LazyLock<Regex> = LazyLock::new(|| {
    built_in(
        r"(?i)^(?:photo|image|picture|credit)s?(?: credits?)?\s*:|(?:^|[.!?]\s+)credits?\s*:|(?-u:\b)(?:photo|image|picture) credits?\s*:|\((?:photo|image|picture)s? (?:by|credit|courtesy)(?-u:\b)|(?:/|(?-u:\b))(?:getty images|shutterstock|ap photo|reuters|afp)\.?\s*\)?\s*$|\((?:getty images|ap photo|reuters|afp)(?-u:\b)[^)]*\)\s*$",
    )
});
/// What a page's picture or video player leaves in copied text: "Enlarge
/// this image toggle caption …", "Image copyright …", "Media playback is
/// unsupported on your device", CNN's "JUST WATCHED … Replay More
/// Videos", "[File: …]". Never prose, whatever its length.
static PLAYER: LazyLock<Regex> = LazyLock::new(|| {
    built_in(
        r"(?i)(?-u:\b)(?:toggle|hide) caption(?-u:\b)|^image (?:copyright|caption)(?-u:\b)|(?-u:\b)media caption(?-u:\b)|^media playback is unsupported(?-u:\b)|^just watched(?-u:\b)|(?-u:\b)replay more videos(?-u:\b)|\[file:[^\]]*\]\s*$|/\s*ap\s*$",
    )
});

/// A sentence ending with the agency it quotes or cites ("…, he told
/// Reuters.", "according to AFP."): prose, though it ends like a credit.
static CITED_SOURCE: LazyLock<Regex> = LazyLock::new(|| {
    built_in(
        r"(?i)(?-u:\b)(?:told|to|from|according to|seen by|obtained by|reviewed by|reported by|said|with)\s+(?:reuters|afp|the associated press)\.?\s*$",
    )
});
static LIST_ITEM: LazyLock<Regex> =
    LazyLock::new(|| built_in(r"^(?:[•·▪●◦‣*–—-]|\d{1,2}[.)])\s+\S"));
static BYLINE: LazyLock<Regex> = LazyLock::new(|| built_in(r"^(?i:by)\s+\p{Lu}"));
static FOLLOW: LazyLock<Regex> =
    LazyLock::new(|| built_in(r"(?i)^(?:follow|find) (?:him|her|them|me|us) on(?-u:\b)"));
/// "Jane Doe is a …" near the end of a page: an author note.
static GENERIC_BIO: LazyLock<Regex> = LazyLock::new(|| {
    built_in(
        r"^\p{Lu}[\p{L}’'.-]+(?: \p{Lu}[\p{L}’'.-]+){1,3} (?:is|was|has been|serves as|served as) (?:an?|the)\b",
    )
});
/// What follows an author's name at the start of an author note.
static AFTER_NAME_IN_BIO: LazyLock<Regex> = LazyLock::new(|| {
    built_in(r"^(?:,| is\b| was\b| has\b| served\b| serves\b| heads\b| writes\b| \()")
});

/// Compiled splitting rules.
#[derive(Debug)]
pub struct Splitter {
    furniture: Vec<Regex>,
    kinds: Vec<(UnitKind, Regex)>,
    fingerprint: String,
}

impl Splitter {
    pub fn new(rules: &SplitRules) -> Result<Splitter, RuleError> {
        let (furniture, kinds) = rules.compile()?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(BUILT_IN_RULES_VERSION.as_bytes());
        hasher.update(serde_json::to_string(rules).unwrap_or_default().as_bytes());
        Ok(Splitter {
            furniture,
            kinds,
            fingerprint: hasher.finalize().to_hex()[..16].to_string(),
        })
    }

    /// Identifies these rules: a document split under other rules is stale.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The paragraphs of a document, furniture dropped, each with its kind.
    /// `authors` are the document's author names (for bylines and notes).
    pub fn split(&self, text: &str, authors: &[String]) -> Vec<Paragraph> {
        let mut texts: Vec<String> = Vec::new();
        for block in paragraphs(text) {
            if self.is_furniture(&block) || texts.last() == Some(&block) {
                continue;
            }
            texts.push(block);
        }
        let authors = AuthorNames::new(authors);
        let mut kinds: Vec<UnitKind> = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let previous = kinds.last().copied();
            let near_edge = i < 6 || i + 4 >= texts.len();
            kinds.push(self.kind_of(text, previous, near_edge, &authors));
        }
        // A short line just before a byline that names its author is the
        // caption of the author's photo ("Israeli Minister … Ayoob Kara.").
        for i in 1..texts.len() {
            if kinds[i] == UnitKind::Byline
                && kinds[i - 1] != UnitKind::Byline
                && texts[i - 1].chars().count() < 120
                && authors.named_in(&texts[i - 1])
                && !BYLINE.is_match(&texts[i - 1])
            {
                kinds[i - 1] = UnitKind::Caption;
            }
        }
        texts
            .into_iter()
            .zip(kinds)
            .map(|(text, kind)| Paragraph { kind, text })
            .collect()
    }

    fn is_furniture(&self, text: &str) -> bool {
        FURNITURE.is_match(text) || self.furniture.iter().any(|re| re.is_match(text))
    }

    fn kind_of(
        &self,
        text: &str,
        previous: Option<UnitKind>,
        near_edge: bool,
        authors: &AuthorNames,
    ) -> UnitKind {
        if let Some((kind, _)) = self.kinds.iter().find(|(_, re)| re.is_match(text)) {
            return *kind;
        }
        let chars = text.chars().count();
        if chars < 400 && DISCLAIMER.is_match(text) {
            return UnitKind::Disclaimer;
        }
        if PLAYER.is_match(text) {
            return UnitKind::Caption;
        }
        if chars < 300 && CAPTION.is_match(text) && !CITED_SOURCE.is_match(text) {
            return UnitKind::Caption;
        }
        if LIST_ITEM.is_match(text) {
            return UnitKind::ListItem;
        }
        if (BYLINE.is_match(text) && chars < 200) || authors.is_name(text) {
            return UnitKind::Byline;
        }
        // The affiliation under a "By …" line.
        if previous == Some(UnitKind::Byline) && chars < 100 && !ends_sentence(text) {
            return UnitKind::Byline;
        }
        if near_edge
            && (FOLLOW.is_match(text) || authors.opens_note(text) || GENERIC_BIO.is_match(text))
        {
            return UnitKind::Bio;
        }
        if looks_like_heading(text) {
            return UnitKind::Heading;
        }
        UnitKind::Body
    }
}

/// Paragraph texts in order: a non-empty line starts a paragraph unless it
/// continues the sentence of the line before. Whitespace is normalised.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut continuable = false;
    let mut line = String::new();
    for raw in text.lines() {
        line.clear();
        for word in raw.split_whitespace() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if line.is_empty() {
            continuable = false;
            continue;
        }
        let continues = continuable
            && line.chars().next().is_some_and(char::is_lowercase)
            && out.last().is_some_and(|p| !ends_sentence(p));
        match out.last_mut() {
            Some(last) if continues => {
                last.push(' ');
                last.push_str(&line);
            }
            _ => out.push(line.clone()),
        }
        continuable = true;
    }
    out
}

/// Whether a paragraph ends as a sentence does (closing quotes aside).
fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end_matches(['"', '”', '’', '\'', ')', ']']);
    t.ends_with(['.', '!', '?', '…', ':', ';'])
}

/// A short line without closing punctuation that starts like a title.
fn looks_like_heading(text: &str) -> bool {
    let words = text.split_whitespace().count();
    let starts_upper = text
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || c == '“' || c == '"');
    starts_upper
        && words <= 25
        && text.chars().count() <= 160
        && !ends_sentence(text)
        && !text.ends_with(',')
}

/// A document's author names, for recognising bylines and author notes.
struct AuthorNames {
    /// Name keys ("ayoob kara").
    full: Vec<String>,
    /// Surname keys ("kara"), the last word of each name.
    surnames: Vec<String>,
}

impl AuthorNames {
    fn new(authors: &[String]) -> AuthorNames {
        let full: Vec<String> = authors
            .iter()
            .map(|a| names::key(a))
            .filter(|k| !k.is_empty())
            .collect();
        let surnames = full
            .iter()
            .filter_map(|k| k.rsplit(' ').next())
            .filter(|s| s.chars().count() > 2)
            .map(str::to_string)
            .collect();
        AuthorNames { full, surnames }
    }

    /// The paragraph is nothing but an author's name.
    fn is_name(&self, text: &str) -> bool {
        text.chars().count() < 80 && self.full.contains(&names::key(text))
    }

    /// The paragraph mentions an author by surname.
    fn named_in(&self, text: &str) -> bool {
        let words = names::key(text);
        words
            .split(' ')
            .any(|w| self.surnames.iter().any(|s| s == w))
    }

    /// The paragraph opens with an author's name and goes on as a note
    /// about them ("Capt. (res.) Alexander Grinberg, Former IDF …",
    /// "Alex Grinberg is an Iran expert …").
    fn opens_note(&self, text: &str) -> bool {
        // Search only the first words: the name must open the paragraph.
        if self.surnames.is_empty() {
            return false;
        }
        let head: String = text.chars().take(60).collect();
        // Each word's key once, whatever the number of surnames.
        let keyed: Vec<(usize, String)> = words::words(&head)
            .map(|(start, w)| (start + w.len(), names::key(w)))
            .collect();
        self.surnames.iter().any(|surname| {
            keyed
                .iter()
                .find(|(_, key)| key == surname)
                .is_some_and(|&(end, _)| AFTER_NAME_IN_BIO.is_match(&head[end..]))
        })
    }
}

/// The units of one document.
pub fn units<'d>(document: &'d Document, splitter: &Splitter) -> Vec<Unit<'d>> {
    let paragraphs = splitter.split(&document.text, &document.authors);
    let count = paragraphs.len() as u32;
    paragraphs
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let paragraph = i as u32 + 1;
            let stance = document
                .stance_overrides
                .get(&paragraph)
                .map_or(document.stance.as_str(), String::as_str);
            Unit {
                document,
                paragraph,
                paragraphs_in_doc: count,
                kind: p.kind,
                text: p.text,
                stance,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::splitting::KindRule;

    fn seed(n: usize) -> String {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        std::fs::read_to_string(&files[n]).unwrap()
    }

    fn split(n: usize, authors: &[&str], furniture: &[&str]) -> Vec<Paragraph> {
        let rules = SplitRules {
            furniture: furniture.iter().map(|s| s.to_string()).collect(),
            kinds: vec![],
        };
        let authors: Vec<String> = authors.iter().map(|s| s.to_string()).collect();
        Splitter::new(&rules).unwrap().split(&seed(n), &authors)
    }

    fn kind_of(paragraphs: &[Paragraph], starts: &str) -> UnitKind {
        paragraphs
            .iter()
            .find(|p| p.text.starts_with(starts))
            .unwrap_or_else(|| panic!("no paragraph starts with {starts:?}"))
            .kind
    }

    fn texts(paragraphs: &[Paragraph]) -> Vec<&str> {
        paragraphs.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn jns_blank_line_layout_with_captions_byline_and_disclaimer() {
        let p = split(0, &["Ayoob Kara"], &["^Opinion[A-Z][A-Za-z ]*$"]);
        let t = texts(&p);
        assert!(
            !t.iter().any(|t| t.starts_with("Opinion")),
            "section label kept"
        );
        assert!(!t.contains(&"Topics"), "trailing Topics kept");
        // The map caption appears twice in a row on the page; kept once.
        let captions = t
            .iter()
            .filter(|t| t.starts_with("The Caucasus and Central Asia"))
            .count();
        assert_eq!(captions, 1);
        assert_eq!(
            kind_of(&p, "The Caucasus and Central Asia"),
            UnitKind::Caption
        );
        assert_eq!(
            kind_of(&p, "Azerbaijan, Kazakhstan and normalization"),
            UnitKind::Heading
        );
        assert_eq!(
            kind_of(&p, "Israeli Minister of Communications"),
            UnitKind::Caption
        );
        assert_eq!(kind_of(&p, "Ayoob Kara served"), UnitKind::Bio);
        assert_eq!(
            p.iter().find(|p| p.text == "Ayoob Kara").unwrap().kind,
            UnitKind::Byline
        );
        assert_eq!(kind_of(&p, "These days, the eyes"), UnitKind::Body);
        assert_eq!(
            kind_of(&p, "The opinions and facts presented"),
            UnitKind::Disclaimer
        );
        assert_eq!(p.last().unwrap().kind, UnitKind::Disclaimer);
    }

    #[test]
    fn besa_single_newline_layout_with_lists_and_headings() {
        let p = split(1, &["Zeev (Vladimir) Khanin", "Alex Grinberg"], &[]);
        assert_eq!(kind_of(&p, "How to Effectively Engage"), UnitKind::Heading);
        assert_eq!(kind_of(&p, "By Zeev (Vladimir) Khanin"), UnitKind::Byline);
        assert_eq!(kind_of(&p, "The Begin-Sadat Center"), UnitKind::Byline);
        assert_eq!(
            kind_of(&p, "Key Indicators of Azerbaijan"),
            UnitKind::Heading
        );
        assert_eq!(
            kind_of(&p, "Current Geopolitical Clarifications"),
            UnitKind::Heading
        );
        assert_eq!(
            kind_of(&p, "• Among all Muslim-majority"),
            UnitKind::ListItem
        );
        assert_eq!(kind_of(&p, "- For 30 years"), UnitKind::ListItem);
        assert_eq!(kind_of(&p, "1. In the U.S."), UnitKind::ListItem);
        assert_eq!(kind_of(&p, "7. Between 2007 and 2024"), UnitKind::ListItem);
        assert_eq!(
            kind_of(&p, "Capt. (res.) Alexander Grinberg"),
            UnitKind::Bio
        );
        assert_eq!(
            kind_of(&p, "The concept and recommendations"),
            UnitKind::Body
        );
        // Lone dashes between list items are furniture.
        assert!(p.iter().all(|p| p.text != "-"));
    }

    #[test]
    fn new_arab_breadcrumb_separator_and_author_note() {
        let p = split(2, &["Rovshan Mammadli"], &[]);
        assert!(p[0].text.starts_with("Azerbaijan’s close relationship"));
        assert!(p.iter().all(|p| p.text != "Breadcrumb" && p.text != "|"));
        assert_eq!(
            kind_of(&p, "Rovshan Mammadli is a Baku-based"),
            UnitKind::Bio
        );
        assert_eq!(kind_of(&p, "Follow him on X"), UnitKind::Bio);
        assert_eq!(
            kind_of(&p, "A key part of the answer lies in Section 907"),
            UnitKind::Body
        );
        assert_eq!(
            p.iter().filter(|p| p.kind == UnitKind::Body).count(),
            p.len() - 2
        );
    }

    /// Labels inside ordinary prose do not make it a caption or a
    /// disclaimer; real labels and credits still do.
    #[test]
    fn prose_is_never_a_caption_or_a_disclaimer() {
        let s = Splitter::new(&SplitRules::default()).unwrap();
        let kind = |text: &str| {
            let body = format!("First paragraph of the story.\n\nSecond one, as prose.\n\n{text}\n\nMore prose follows here.\n\nAnd more.\n\nAnd a last one.");
            s.split(&body, &[])
                .into_iter()
                .find(|p| p.text == text)
                .map(|p| p.kind)
                .unwrap()
        };
        for prose in [
            "Big picture: The resilience seen in the September job report suggests the economy is still growing.",
            "What they said about the picture: it was taken in Baku, and it shows the old city at night.",
            "Polls do not necessarily reflect how people will vote in November, the analyst said.",
            "Credit card debt rose again in the third quarter, the report said.",
            "“What should have been a celebration is a day of betrayal,” Nigel Farage told Reuters.",
            "Trump plans to visit Copenhagen in September, according to Reuters.",
            "Obama's office did not immediately respond to a request for comment from AFP.",
        ] {
            assert_eq!(kind(prose), UnitKind::Body, "{prose}");
        }
        for caption in [
            "Photo: Reuters",
            "Image credit: Jane Doe",
            "The Caucasus political map, 2000. Credit: CIA via Wikimedia Commons.",
            "Protesters in Baku on Monday. (Photo by Jane Doe/AFP)",
            "President Aliyev speaks in Baku. Aziz Karimov/Getty Images",
            "The president waves from the steps. (AP Photo/Evan Vucci)",
            "Smoke rises over the port on Tuesday. Reuters",
            "Enlarge this image toggle caption Charlie Riedel/AP Charlie Riedel/AP",
            "Image copyright Getty Images Image caption Protesters in Baku",
            "JUST WATCHED Psaki: Fiscal cliff 'package is good' Replay More Videos ... MUST WATCH Psaki: Fiscal cliff 'package is good' 02:58",
            "Media playback is unsupported on your device",
        ] {
            assert_eq!(kind(caption), UnitKind::Caption, "{caption}");
        }
        for disclaimer in [
            "The views expressed in this article are the author's own.",
            "These opinions do not necessarily reflect the views of the BESA Center.",
        ] {
            assert_eq!(kind(disclaimer), UnitKind::Disclaimer, "{disclaimer}");
        }
    }

    #[test]
    fn newsweek_photo_credit_author_notes_and_disclaimer() {
        let p = split(3, &["Alex Grinberg", "Joseph Epstein"], &[]);
        assert_eq!(kind_of(&p, "Aziz Karimov/Getty Images"), UnitKind::Caption);
        assert_eq!(
            kind_of(&p, "Alex Grinberg is an Iran expert"),
            UnitKind::Bio
        );
        assert_eq!(kind_of(&p, "Joseph Epstein is the director"), UnitKind::Bio);
        assert_eq!(
            kind_of(&p, "The views expressed in this article"),
            UnitKind::Disclaimer
        );
        assert_eq!(kind_of(&p, "Meanwhile, Iran is following"), UnitKind::Body);
        assert_eq!(kind_of(&p, "Early next month"), UnitKind::Body);
    }

    #[test]
    fn cbn_headline_then_quotes_as_body() {
        let p = split(4, &[], &[]);
        assert_eq!(
            kind_of(&p, "Azerbaijan, The Shiite Muslim Nation"),
            UnitKind::Heading
        );
        assert_eq!(p.iter().filter(|p| p.kind != UnitKind::Body).count(), 1);
        assert!(p
            .iter()
            .any(|p| p.text.contains("about 60% of oil resources")));
    }

    #[test]
    fn hard_wrapped_lines_are_joined_and_whitespace_normalised() {
        let s = Splitter::new(&SplitRules::default()).unwrap();
        let p = s.split(
            "The first line of a paragraph that\nwraps onto a second line.\n\nA new   paragraph.\n",
            &[],
        );
        assert_eq!(
            texts(&p),
            [
                "The first line of a paragraph that wraps onto a second line.",
                "A new paragraph."
            ]
        );
    }

    #[test]
    fn configured_rules_come_before_built_in_ones() {
        let rules = SplitRules {
            furniture: vec!["^Sponsored$".into()],
            kinds: vec![KindRule {
                kind: UnitKind::Caption,
                pattern: "^Photo of".into(),
            }],
        };
        let s = Splitter::new(&rules).unwrap();
        let p = s.split(
            "Sponsored\nPhoto of a street in Baku.\nBody text here.",
            &[],
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].kind, UnitKind::Caption);
        assert_eq!(p[1].kind, UnitKind::Body);
    }

    #[test]
    fn bad_pattern_is_an_error_naming_it() {
        let rules = SplitRules {
            furniture: vec!["(unclosed".into()],
            kinds: vec![],
        };
        let err = Splitter::new(&rules).unwrap_err();
        assert!(err.to_string().contains("(unclosed"), "{err}");
    }

    #[test]
    fn fingerprint_follows_the_rules() {
        let a = Splitter::new(&SplitRules::default()).unwrap();
        let b = Splitter::new(&SplitRules {
            furniture: vec!["^x$".into()],
            kinds: vec![],
        })
        .unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            Splitter::new(&SplitRules::default()).unwrap().fingerprint()
        );
    }
}
