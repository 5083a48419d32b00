//! Rendering: hits, units and facet counts as terminal text or JSON.
//! (The web page renders the same JSON in the browser.) Nothing here
//! touches the index: it only turns results into text.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::index::schema::FacetField;
use crate::model::UnitView;
use crate::search::histogram::{Bucket, Histogram};
use crate::search::response::Sources;
use crate::search::trace::{honest_date, TraceResponse};
use crate::search::{
    Explanation, FacetCounts, Facets, FacetsResponse, Hit, SearchResponse, ShowResponse,
    SimilarResponse,
};
use crate::text::snippet::Snippet;

/// How terminal text is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// ANSI colour and bold (only on a terminal, never with NO_COLOR).
    pub color: bool,
    /// Line width to wrap at.
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 80,
        }
    }
}

const BOLD: &str = "\x1b[1m";
const MARK: &str = "\x1b[1;33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";
const CYAN: &str = "\x1b[36m";

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }
}

/// Text from the index (or from a user) made safe to print on a terminal:
/// every control character is shown as a visible symbol instead of acting
/// on the terminal, so an article cannot set the window title, clear the
/// screen or move the cursor (`ESC ] 0 ; … BEL`, `ESC [ 2 J`). C0 controls
/// and DEL become their Unicode control pictures (`␛`, `␇`, `␡`); C1
/// controls and the bidirectional embeddings, overrides and isolates,
/// which reorder what follows them, become `�`. One visible character each, so widths
/// and column pointers stay right. JSON output is never passed through
/// this: it stays exact, and JSON escapes control characters itself.
pub fn visible(text: &str) -> Cow<'_, str> {
    sanitize(text, false)
}

/// As [`visible`], but newlines and tabs stay as they are (for messages
/// laid out over several lines).
pub fn visible_lines(text: &str) -> Cow<'_, str> {
    sanitize(text, true)
}

fn sanitize(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let shown = |c: char| -> Option<char> {
        match c {
            '\n' | '\t' if keep_lines => None,
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32),
            '\u{7f}' => Some('\u{2421}'),
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                Some('\u{fffd}')
            }
            _ => None,
        }
    };
    if !text.chars().any(|c| shown(c).is_some()) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| shown(c).unwrap_or(c)).collect())
}

/// Machine output: pretty-printed JSON with a trailing newline.
pub fn json<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("results serialise to JSON");
    s.push('\n');
    s
}

/// The one-line source of a unit: outlet · authors · date · stance.
fn source_line(u: &UnitView) -> String {
    let mut parts = vec![u.outlet.clone()];
    if !u.authors.is_empty() {
        parts.push(u.authors.join(", "));
    }
    if let Some(p) = &u.published {
        parts.push(p.clone());
    }
    parts.push(u.stance.clone());
    visible(&parts.join(" · ")).into_owned()
}

/// A trace as terminal text: the summary, then each copy in order of
/// publication with its date as precise as it is, whether it is the
/// first, verbatim or near (and what it changed against the first).
pub fn trace_text(r: &TraceResponse, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.paint(BOLD, &visible(&r.summary)));
    for (i, c) in r.copies.iter().enumerate() {
        let u = &c.unit;
        let mut marks = Vec::new();
        if c.first {
            marks.push("first known".to_string());
        }
        if c.may_be_earlier {
            marks.push("may be earlier".to_string());
        }
        if c.source {
            marks.push("traced".to_string());
        }
        marks.push(if c.verbatim {
            "verbatim".to_string()
        } else {
            format!("near copy, {:.0}% shared", c.similarity * 100.0)
        });
        let _ = writeln!(
            out,
            "\n{:>2}. {}  {}",
            i + 1,
            style.paint(BOLD, &honest_date(u.published.as_deref())),
            style.paint(BOLD, &visible(&source_line_undated(u)))
        );
        let _ = writeln!(
            out,
            "    {}",
            style.paint(
                DIM,
                &format!(
                    "{}  ¶ {}/{}  {}",
                    visible(&u.id),
                    u.paragraph,
                    u.paragraphs_in_doc,
                    marks.join(" · ")
                )
            )
        );
        if let Some(url) = &u.url {
            let _ = writeln!(out, "    {}", style.paint(DIM, &visible(url)));
        }
        out.push_str(&indent(
            &wrap_words(&u.text, style.width.saturating_sub(4)),
            4,
        ));
        for change in &c.changes {
            let (sign, colour) = if change.change == "removed" {
                ("−", DIM)
            } else {
                ("+", MARK)
            };
            let line = format!("    {sign} {}", visible(&change.words));
            let _ = writeln!(out, "{}", style.paint(colour, &line));
        }
    }
    out
}

/// outlet · authors · stance (the date said apart, with its precision).
fn source_line_undated(u: &UnitView) -> String {
    let mut parts = vec![u.outlet.clone()];
    if !u.authors.is_empty() {
        parts.push(u.authors.join(", "));
    }
    parts.push(u.stance.clone());
    parts.join(" · ")
}

/// Values shown per facet in terminal text unless the user asks for more.
pub const TEXT_FACET_VALUES: usize = 6;

/// Search results as terminal text.
pub fn search_text(r: &SearchResponse, style: Style) -> String {
    search_text_with_facets(r, style, TEXT_FACET_VALUES)
}

/// Search results as terminal text, `facet_values` values per facet.
pub fn search_text_with_facets(r: &SearchResponse, style: Style, facet_values: usize) -> String {
    let mut out = String::new();
    if r.relaxed {
        let _ = writeln!(
            out,
            "{}",
            style.paint(
                DIM,
                "No paragraph has every word; showing those with most of them."
            )
        );
    }
    if !r.suggestions.is_empty() {
        let _ = writeln!(out, "Did you mean: {}?", visible(&r.suggestions.join(", ")));
    }
    let mut partial_seen = false;
    for (i, hit) in r.hits.iter().enumerate() {
        if hit.matched_words.is_some() && !partial_seen && !r.relaxed {
            let _ = writeln!(
                out,
                "{}",
                style.paint(
                    DIM,
                    "Fewer paragraphs than a page hold every word; these hold most of them:"
                )
            );
        }
        partial_seen |= hit.matched_words.is_some();
        hit_text(&mut out, r.offset + i + 1, hit, style);
    }
    let shown_to = r.offset + r.hits.len();
    let partial = r.hits.iter().filter(|h| h.matched_words.is_some()).count();
    let summary = if r.total_hits == 0 {
        "No paragraphs match.".to_string()
    } else if r.limit == 0 {
        let n = r.total_hits;
        let (noun, verb) = if n == 1 {
            ("paragraph", "matches")
        } else {
            ("paragraphs", "match")
        };
        format!("{n} {noun} {verb} (counts only: --limit 0 lists none).")
    } else if r.hits.is_empty() {
        format!("No paragraphs past {} of {}.", r.offset, r.total_hits)
    } else if partial > 0 && !r.relaxed {
        format!(
            "Paragraphs {}–{}: {} with every word, then {} with some ({:.1} ms)",
            r.offset + 1,
            shown_to,
            r.full_matches,
            partial,
            r.took_us as f64 / 1000.0
        )
    } else if let Some(sources) = r.sources.as_ref().filter(|_| r.collapsed) {
        format!(
            "Paragraphs {}–{} of {} distinct, copies folded ({} units; {:.1} ms)",
            r.offset + 1,
            shown_to,
            sources.paragraphs,
            r.total_hits,
            r.took_us as f64 / 1000.0
        )
    } else {
        format!(
            "Paragraphs {}–{} of {} ({:.1} ms)",
            r.offset + 1,
            shown_to,
            r.total_hits,
            r.took_us as f64 / 1000.0
        )
    };
    let _ = writeln!(out, "{summary}");
    for (kind, n) in &r.excluded_by_kind {
        let kind = visible(kind);
        let line = format!("{n} more in {kind}s, not searched by default: --kind {kind}");
        let _ = writeln!(out, "{}", style.paint(DIM, &line));
    }
    if r.total_hits > 0 {
        out.push_str(&facets_text(
            &r.facets,
            &r.facets_left_out,
            style,
            &FacetField::ALL,
            facet_values,
        ));
    }
    if let Some(sources) = r.sources.as_ref().filter(|_| r.total_hits > 0) {
        out.push_str(&sources_text(sources, r.total_hits, style, facet_values));
    }
    if let Some(h) = &r.histogram {
        out.push_str(&histogram_text(h, style));
    }
    out
}

/// A histogram as one line per bucket: its name, the count (and the
/// share of every unit of the bucket, when normalised), and a bar scaled
/// to the largest bucket and the terminal's width, stacked by the split's
/// values (one fill each, named in the legend); then what no bucket holds.
pub fn histogram_text(h: &Histogram, style: Style) -> String {
    const FILLS: [char; 6] = ['█', '▓', '▒', '░', '▞', '·'];
    let fill = |i: usize| FILLS[i.min(FILLS.len() - 1)];
    let mut out = String::new();
    let legend: Vec<String> = h
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{} {}", fill(i), visible(v)))
        .collect();
    let title = format!("By {}, split by {}:", h.interval.as_str(), h.split.as_str());
    let _ = writeln!(
        out,
        "\n{}  {}",
        style.paint(BOLD, &title),
        legend.join("  ")
    );
    let label = h.buckets.iter().map(|b| b.start.len()).max().unwrap_or(4);
    let count = h
        .buckets
        .iter()
        .map(|b| b.count.to_string().len())
        .max()
        .unwrap_or(1);
    let tail = count + if h.normalized { 8 } else { 0 };
    let width = style.width.saturating_sub(label + tail + 5).clamp(10, 60);
    let value = |b: &Bucket| b.share.unwrap_or(b.count as f64);
    let top = h.buckets.iter().map(value).fold(0.0, f64::max);
    for b in &h.buckets {
        let cells = if top > 0.0 {
            (value(b) / top * width as f64).round() as usize
        } else {
            0
        };
        // Each value's part of the bar, rounded on the running total so
        // the parts add up to the whole.
        let mut bar = String::new();
        let (mut before, mut drawn) = (0u64, 0usize);
        for (i, v) in h.values.iter().enumerate() {
            let n = b.by.iter().find(|(x, _)| x == v).map_or(0, |(_, n)| *n);
            before += n;
            let upto = (before as f64 / b.count.max(1) as f64 * cells as f64).round() as usize;
            bar.extend(std::iter::repeat_n(fill(i), upto.saturating_sub(drawn)));
            drawn = drawn.max(upto);
        }
        let share = b.share.map(|s| format!(" {:>6.2}%", s * 100.0));
        let _ = writeln!(
            out,
            "  {:<label$} {:>count$}{}  {}",
            b.start,
            b.count,
            share.unwrap_or_default(),
            style.paint(CYAN, &bar),
        );
    }
    let mut notes = Vec::new();
    if h.imprecise > 0 {
        notes.push(format!(
            "{} dated more coarsely than a {}",
            h.imprecise,
            h.interval.as_str()
        ));
    }
    if h.undated > 0 {
        notes.push(format!("{} undated", h.undated));
    }
    if !notes.is_empty() {
        let note = format!("  not in a bucket: {}", notes.join(", "));
        let _ = writeln!(out, "{}", style.paint(DIM, &note));
    }
    out
}

/// One ranked hit: rank and source, place, snippet.
fn hit_text(out: &mut String, rank: usize, hit: &Hit, style: Style) {
    let u = &hit.unit;
    let rank = format!("{rank:>2}.");
    let _ = writeln!(
        out,
        "{} {}",
        style.paint(BOLD, &rank),
        style.paint(BOLD, &source_line(u))
    );
    let mut place = format!(
        "    {}  ¶ {}/{}  {}",
        visible(&u.id),
        u.paragraph,
        u.paragraphs_in_doc,
        visible(&u.kind)
    );
    if let (Some(m), Some(q)) = (hit.matched_words, hit.query_words) {
        let _ = write!(place, "  {m} of {q} words");
    }
    if let Some(n) = hit.shared_words {
        let _ = write!(place, "  shares {n} of its words");
    }
    let _ = writeln!(out, "{}", style.paint(DIM, &place));
    out.push_str(&wrap_snippet(&hit.snippet, style, 4));
    if let Some(n) = hit.copies.filter(|&n| n > 0) {
        let noun = if n == 1 { "copy" } else { "copies" };
        let line = format!("+{n} {noun} in {}", visible(&hit.copies_in.join(", ")));
        let _ = writeln!(out, "    {}", style.paint(DIM, &line));
    }
    if let Some(e) = &hit.explain {
        out.push_str(&style.paint(DIM, &explanation_text(e)));
    }
    out.push('\n');
}

/// `--explain`: a hit's score taken apart, one line per word.
fn explanation_text(e: &Explanation) -> String {
    let words: f32 = e.words.iter().map(|w| w.text + w.title).sum();
    let mut out = format!(
        "    score {:.2} = words {:.2} + closeness {:.2}   (title matches weigh ×{})\n",
        e.score, words, e.closeness, e.title_weight
    );
    let width = e
        .words
        .iter()
        .map(|w| w.word.chars().count())
        .max()
        .unwrap_or(0)
        .min(30);
    for w in &e.words {
        let word = visible(&w.word);
        if w.matched {
            let _ = writeln!(
                out,
                "      {word:<width$}  paragraph {:.2} + title {:.2}",
                w.text, w.title
            );
        } else {
            let _ = writeln!(out, "      {word:<width$}  not in this unit");
        }
    }
    out
}

/// `similar` as terminal text: the unit, then who says the same.
pub fn similar_text(r: &SimilarResponse, style: Style) -> String {
    let mut out = String::new();
    let u = &r.unit;
    let _ = writeln!(out, "{}", style.paint(BOLD, &source_line(u)));
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            DIM,
            &format!(
                "{}  ¶ {}/{}",
                visible(&u.id),
                u.paragraph,
                u.paragraphs_in_doc
            )
        )
    );
    out.push_str(&indent(
        &wrap_words(&u.text, style.width.saturating_sub(4)),
        4,
    ));
    out.push('\n');
    if r.total_hits == 0 {
        let _ = writeln!(out, "No unit in another document says much the same.");
        return out;
    }
    let _ = writeln!(
        out,
        "Said much the same in other documents ({} units share its words: {}):\n",
        r.total_hits,
        visible(
            &r.words
                .iter()
                .take(8)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    );
    for (i, hit) in r.hits.iter().enumerate() {
        hit_text(&mut out, i + 1, hit, style);
    }
    out.push_str(&facets_text(
        &r.facets,
        &r.facets_left_out,
        style,
        &[FacetField::Outlet, FacetField::Stance, FacetField::Author],
        TEXT_FACET_VALUES,
    ));
    out
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    let mut out = String::new();
    for line in text.lines() {
        let _ = writeln!(out, "{pad}{line}");
    }
    out
}

/// Facet counts, one line (wrapped) per facet, at most `top` values each;
/// "+N more" counts the values listed but not shown and those the facet
/// limit left out.
pub fn facets_text(
    f: &Facets,
    left_out: &BTreeMap<String, u64>,
    style: Style,
    fields: &[FacetField],
    top: usize,
) -> String {
    let mut out = String::new();
    for &field in fields {
        let counts: &FacetCounts = f.get(field);
        if counts.0.is_empty() {
            continue;
        }
        let mut items: Vec<String> = counts
            .0
            .iter()
            .take(top)
            .map(|(v, n)| format!("{} ({n})", visible(v)))
            .collect();
        let more = counts.0.len().saturating_sub(top) as u64
            + left_out.get(field.as_str()).copied().unwrap_or(0);
        if more > 0 {
            items.push(format!("+{more} more"));
        }
        let label = format!("{:<7}", format!("{}:", field.as_str()));
        let body = wrap_words(&items.join(" · "), style.width.saturating_sub(8).max(20));
        for (i, line) in body.lines().enumerate() {
            let head = if i == 0 {
                style.paint(BOLD, &label)
            } else {
                " ".repeat(7)
            };
            let _ = writeln!(out, "{head} {line}");
        }
    }
    out
}

/// Independent sources: distinct paragraphs per outlet and stance, below
/// the facets' units.
fn sources_text(s: &Sources, units: u64, style: Style, top: usize) -> String {
    let head = format!(
        "Copies folded: {} distinct paragraphs among {units} units. Distinct paragraphs by",
        s.paragraphs
    );
    let mut out = format!(
        "{}
",
        style.paint(DIM, &head)
    );
    let facets = Facets {
        outlet: s.outlet.clone(),
        stance: s.stance.clone(),
        ..Facets::default()
    };
    out.push_str(&facets_text(
        &facets,
        &BTreeMap::new(),
        style,
        &[FacetField::Outlet, FacetField::Stance],
        top,
    ));
    out
}

/// Whole-index facet listing (`nutgraf facets [FIELD]`): every value.
pub fn facets_listing(r: &FacetsResponse, field: Option<FacetField>, style: Style) -> String {
    let mut out = String::new();
    let fields: Vec<FacetField> = field.map_or(FacetField::ALL.to_vec(), |f| vec![f]);
    let _ = writeln!(out, "{} units", r.total_units);
    for f in fields {
        let _ = writeln!(out, "\n{}", style.paint(BOLD, f.as_str()));
        for (v, n) in &r.facets.get(f).0 {
            let _ = writeln!(out, "  {n:>8}  {}", visible(v));
        }
    }
    out
}

/// `show` output: each unit with its place; the one asked for is marked.
pub fn show_text(r: &ShowResponse, style: Style) -> String {
    let mut out = String::new();
    if let Some(first) = r.units.first() {
        let u = &first.unit;
        let _ = writeln!(out, "{}", style.paint(BOLD, &visible(&u.title)));
        let _ = writeln!(out, "{}", source_line(u));
        if let Some(url) = &u.url {
            let _ = writeln!(out, "{}", visible(url));
        }
        out.push('\n');
    }
    for s in &r.units {
        let u = &s.unit;
        let marker = if s.focus { "▶" } else { " " };
        let head = format!(
            "{marker} ¶ {}/{}  {}  {}",
            u.paragraph,
            u.paragraphs_in_doc,
            visible(&u.kind),
            visible(&u.id)
        );
        let _ = writeln!(
            out,
            "{}",
            style.paint(if s.focus { BOLD } else { DIM }, &head)
        );
        for line in wrap_words(&u.text, style.width.saturating_sub(4).max(20)).lines() {
            let _ = writeln!(out, "    {line}");
        }
        out.push('\n');
    }
    out
}

/// Greedy word wrap by character count, control characters made
/// [`visible`].
pub fn wrap_words(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut col = 0;
    for word in text.split_whitespace() {
        let word = visible(word);
        let w = word.chars().count();
        if col > 0 && col + 1 + w > width {
            out.push('\n');
            col = 0;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(&word);
        col += w;
    }
    out
}

/// A snippet wrapped and indented, its marks in colour (or plain).
fn wrap_snippet(s: &Snippet, style: Style, indent: usize) -> String {
    let width = style.width.saturating_sub(indent).max(20);
    let pad = " ".repeat(indent);
    let mut out = pad.clone();
    let mut col = 0;
    let text = &s.text;
    let marked = |i: usize| s.highlights.iter().any(|[a, b]| i >= *a && i < *b);
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                words.push(st..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        words.push(st..text.len());
    }
    for w in words {
        let n = text[w.clone()].chars().count();
        if col > 0 && col + 1 + n > width {
            out.push('\n');
            out.push_str(&pad);
            col = 0;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        // Paint runs of marked bytes within the word.
        let mut run_start = w.start;
        let mut run_marked = marked(w.start);
        for (i, _) in text[w.clone()]
            .char_indices()
            .map(|(i, c)| (i + w.start, c))
        {
            if marked(i) != run_marked {
                push_run(&mut out, &text[run_start..i], run_marked, style);
                run_start = i;
                run_marked = !run_marked;
            }
        }
        push_run(&mut out, &text[run_start..w.end], run_marked, style);
        col += n;
    }
    out.push('\n');
    out
}

fn push_run(out: &mut String, s: &str, marked: bool, style: Style) {
    let s = &visible(s);
    if marked {
        out.push_str(&style.paint(MARK, s));
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let s = visible("a\x1b]0;pwned\x07b\x1b[2Jc\u{9b}d\u{202e}e\x7f\tf\ng\r");
        assert_eq!(s, "a␛]0;pwned␇b␛[2Jc\u{fffd}d\u{fffd}e␡␉f␊g␍");
        assert_eq!(visible_lines("a\tb\nc\x1b[1A"), "a\tb\nc␛[1A");
        assert!(matches!(visible("plain ¶ é — text"), Cow::Borrowed(_)));
        let wrapped = wrap_words("one \x1b[2Jtwo three", 80);
        assert_eq!(wrapped, "one ␛[2Jtwo three");
    }

    #[test]
    fn wrap_respects_width() {
        let w = wrap_words("one two three four five six seven", 10);
        assert!(w.lines().all(|l| l.chars().count() <= 10), "{w}");
        assert_eq!(w.split_whitespace().count(), 7);
    }

    #[test]
    fn snippet_marks_are_coloured_only_with_colour() {
        let s = Snippet {
            text: "Baku and Section 907 today".into(),
            highlights: vec![[9, 16], [17, 20]],
            html: String::new(),
        };
        let plain = wrap_snippet(
            &s,
            Style {
                color: false,
                width: 80,
            },
            4,
        );
        assert_eq!(plain, "    Baku and Section 907 today\n");
        let col = wrap_snippet(
            &s,
            Style {
                color: true,
                width: 80,
            },
            4,
        );
        assert!(col.contains("\x1b[1;33mSection\x1b[0m"));
        assert!(col.contains("\x1b[1;33m907\x1b[0m"));
    }
}
