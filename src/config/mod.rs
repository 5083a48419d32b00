//! index-config: load the TOML configuration, validate it, and explain
//! every error with the file, the line and what to change.
//!
//! A config names the index settings, the corpus (its topic and stance
//! vocabulary), author aliases, splitting rules, and the documents: one
//! `[[document]]` table per article, in the file itself or in files it
//! lists under `include`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub mod collection;
pub mod splitting;

pub use crate::error::ConfigError;
pub use collection::{Collection, Format, RawCollection};
pub use splitting::{KindRule, SplitRules};

use crate::model::address::web_address;
use crate::model::date::normalise_date;
use crate::model::document::Document;
use crate::text::names::AuthorAliases;

/// How much more a match in an article's title weighs than one in the
/// paragraph, unless `[index] title_boost` says otherwise.
pub const DEFAULT_TITLE_BOOST: f32 = 2.0;

/// Index settings (`[index]`).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSettings {
    /// The index folder (resolved against the config file's folder).
    pub dir: PathBuf,
    pub language: String,
    /// Indexing memory budget in MiB, shared by the indexing threads.
    pub memory_budget_mb: usize,
    /// Indexing threads (0 = one per core, at most 4).
    pub threads: usize,
    /// Segments an import leaves, about equal (0 = one per core, at most
    /// 8: a search runs one segment per core).
    pub segments: usize,
    /// How much more a match in the title weighs than one in the text.
    pub title_boost: f32,
}

/// The corpus: its topic and the stance labels defined relative to it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Corpus {
    pub topic: String,
    /// stance label -> one-line definition, in the order written.
    pub stances: Vec<(String, String)>,
}

/// One `[[document]]` entry, as validated (paths resolved, authors
/// canonical). Its text is read by [`DocumentEntry::load`].
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentEntry {
    pub id: String,
    pub file: PathBuf,
    pub title: String,
    pub authors: Vec<String>,
    pub outlet: String,
    pub stance: String,
    pub genre: String,
    pub published: Option<String>,
    pub url: Option<String>,
    pub stance_overrides: BTreeMap<u32, String>,
    /// Where the entry is written, for error messages.
    pub config_file: PathBuf,
    pub line: usize,
}

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub index: IndexSettings,
    pub corpus: Corpus,
    pub authors: AuthorAliases,
    pub splitting: SplitRules,
    pub documents: Vec<DocumentEntry>,
    /// Files of many documents each (`[[collection]]`).
    pub collections: Vec<Collection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    include: Vec<String>,
    index: Option<RawIndex>,
    corpus: Option<RawCorpus>,
    #[serde(default)]
    authors: BTreeMap<String, Vec<String>>,
    splitting: Option<SplitRules>,
    #[serde(default)]
    document: Vec<Spanned<RawDocument>>,
    #[serde(default)]
    collection: Vec<Spanned<RawCollection>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    dir: Option<String>,
    language: Option<String>,
    memory_budget_mb: Option<usize>,
    threads: Option<usize>,
    segments: Option<usize>,
    title_boost: Option<f32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorpus {
    topic: String,
    stances: Spanned<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    id: String,
    file: String,
    title: String,
    #[serde(default)]
    authors: Vec<String>,
    outlet: String,
    stance: String,
    genre: String,
    published: Option<String>,
    url: Option<String>,
    #[serde(default)]
    stance_overrides: BTreeMap<String, String>,
}

/// The stance vocabulary used when a config defines none.
const DEFAULT_STANCES: [(&str, &str); 3] = [
    ("supportive", "argues for the corpus topic"),
    ("critical", "argues against the corpus topic"),
    ("neutral", "reports without taking a side"),
];

impl Config {
    /// Loads and validates a config file and the files it includes.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let mut files = Vec::new();
        load_file(path, &mut files, 0)?;
        let (main_path, main) = &files[0];
        let base = main_path.parent().unwrap_or(Path::new("."));

        let mut index = IndexSettings {
            dir: join_clean(base, "../.nutgraf-index"),
            language: "english".to_string(),
            memory_budget_mb: 256,
            threads: 0,
            segments: 0,
            title_boost: DEFAULT_TITLE_BOOST,
        };
        if let Some(raw) = &main.index {
            if let Some(dir) = &raw.dir {
                index.dir = join_clean(base, dir);
            }
            if let Some(lang) = &raw.language {
                if !lang.eq_ignore_ascii_case("english") {
                    return Err(err(
                        main_path,
                        None,
                        format!("[index] language = \"{lang}\" is not supported; use \"english\""),
                    ));
                }
                index.language = lang.to_ascii_lowercase();
            }
            if let Some(mb) = raw.memory_budget_mb {
                if mb < 50 {
                    return Err(err(
                        main_path,
                        None,
                        format!("[index] memory_budget_mb = {mb} is too small; use 50 or more"),
                    ));
                }
                index.memory_budget_mb = mb;
            }
            index.threads = raw.threads.unwrap_or(0);
            index.segments = raw.segments.unwrap_or(0);
            if let Some(b) = raw.title_boost {
                if !(b.is_finite() && b > 0.0) {
                    return Err(err(
                        main_path,
                        None,
                        "[index] title_boost must be a positive number",
                    ));
                }
                index.title_boost = b;
            }
        }

        let mut corpus = Corpus::default();
        match &main.corpus {
            Some(raw) => {
                corpus.topic = raw.topic.clone();
                let text = std::fs::read_to_string(main_path).unwrap_or_default();
                let line = line_of(&text, raw.stances.span().start);
                for (name, def) in raw.stances.get_ref() {
                    let def = def.as_str().ok_or_else(|| {
                        err(
                            main_path,
                            Some(line),
                            format!("stance \"{name}\" needs a one-line definition as a string"),
                        )
                    })?;
                    if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
                        return Err(err(
                            main_path,
                            Some(line),
                            format!("stance \"{name}\" must be one word"),
                        ));
                    }
                    corpus.stances.push((name.to_lowercase(), def.to_string()));
                }
            }
            None => {
                corpus.stances = DEFAULT_STANCES
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect();
            }
        }

        let mut authors = AuthorAliases::default();
        let mut splitting = SplitRules::default();
        for (_, f) in &files {
            for (k, v) in &f.authors {
                authors
                    .canonical
                    .entry(k.clone())
                    .or_default()
                    .extend(v.iter().cloned());
            }
            if let Some(s) = &f.splitting {
                splitting.furniture.extend(s.furniture.iter().cloned());
                splitting.kinds.extend(s.kinds.iter().cloned());
            }
        }
        if let Err(e) = splitting.compile() {
            return Err(err(main_path, None, format!("[splitting]: {e}")));
        }

        let mut documents = Vec::new();
        let mut seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
        for (file, raw) in &files {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let dir = file.parent().unwrap_or(Path::new("."));
            for d in &raw.document {
                let line = line_of(&text, d.span().start);
                let entry = validate_document(d.get_ref(), file, line, dir, &corpus, &authors)?;
                if let Some((f0, l0)) = seen.get(&entry.id) {
                    return Err(err(
                        file,
                        Some(line),
                        format!(
                            "duplicate document id \"{}\" (first used at {}:{}); give each document its own id",
                            entry.id,
                            f0.display(),
                            l0
                        ),
                    ));
                }
                seen.insert(entry.id.clone(), (file.clone(), line));
                documents.push(entry);
            }
        }

        let mut collections = Vec::new();
        for (file, raw) in &files {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let dir = file.parent().unwrap_or(Path::new("."));
            for c in &raw.collection {
                let line = line_of(&text, c.span().start);
                collections.push(Collection::validate(c.get_ref(), file, line, dir)?);
            }
        }

        Ok(Config {
            path: main_path.clone(),
            index,
            corpus,
            authors,
            splitting,
            documents,
            collections,
        })
    }

    /// Whether a stance label is in the corpus vocabulary.
    pub fn is_stance(&self, stance: &str) -> bool {
        self.corpus.stances.iter().any(|(s, _)| s == stance)
    }
}

impl DocumentEntry {
    /// Reads the document's text. A missing or non-UTF-8 file is an error
    /// that names the file and the config entry.
    pub fn load(&self) -> Result<Document, ConfigError> {
        let bytes = std::fs::read(&self.file).map_err(|e| {
            err(
                &self.config_file,
                Some(self.line),
                format!(
                    "document \"{}\": cannot read {}: {e}; check the `file` path (relative to this config file)",
                    self.id,
                    self.file.display()
                ),
            )
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            err(
                &self.config_file,
                Some(self.line),
                format!(
                    "document \"{}\": {} is not UTF-8 text (invalid byte at offset {}); convert it to UTF-8",
                    self.id,
                    self.file.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Ok(Document {
            id: self.id.clone(),
            title: self.title.clone(),
            authors: self.authors.clone(),
            outlet: self.outlet.clone(),
            stance: self.stance.clone(),
            genre: self.genre.clone(),
            published: self.published.clone(),
            url: self.url.clone(),
            stance_overrides: self.stance_overrides.clone(),
            text,
        })
    }
}

fn err(file: &Path, line: Option<usize>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Joins a config-relative path and folds `.` and `..` lexically, so
/// messages show `../seeds/a.txt` rather than `index-config/../seeds/a.txt`.
pub fn join_clean(base: &Path, rel: &str) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            c => out.push(c),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses one file and, depth first, the files it includes.
fn load_file(
    path: &Path,
    out: &mut Vec<(PathBuf, RawFile)>,
    depth: usize,
) -> Result<(), ConfigError> {
    if depth > 8 {
        return Err(err(
            path,
            None,
            "includes nest more than 8 deep (an include cycle?)",
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(
            path,
            None,
            format!("cannot read config: {e}; pass --config PATH to use another file"),
        )
    })?;
    let raw: RawFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| line_of(&text, s.start));
        err(path, line, e.message().trim().to_string())
    })?;
    if depth > 0 && (raw.index.is_some() || raw.corpus.is_some()) {
        return Err(err(
            path,
            None,
            "[index] and [corpus] belong in the main config file, not in an included one",
        ));
    }
    let includes: Vec<PathBuf> = raw
        .include
        .iter()
        .map(|i| join_clean(path.parent().unwrap_or(Path::new(".")), i))
        .collect();
    out.push((path.to_path_buf(), raw));
    for inc in includes {
        if out.iter().any(|(p, _)| p == &inc) {
            return Err(err(
                path,
                None,
                format!("{} is included twice", inc.display()),
            ));
        }
        load_file(&inc, out, depth + 1)?;
    }
    Ok(())
}

fn validate_document(
    d: &RawDocument,
    file: &Path,
    line: usize,
    dir: &Path,
    corpus: &Corpus,
    aliases: &AuthorAliases,
) -> Result<DocumentEntry, ConfigError> {
    let fail = |m: String| Err(err(file, Some(line), m));
    if d.id.is_empty()
        || !d
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return fail(format!(
            "document id \"{}\" must be a slug of letters, digits, '-', '_' or '.' (it is part of unit ids like \"{}#4\")",
            d.id, d.id
        ));
    }
    let stances: Vec<&str> = corpus.stances.iter().map(|(s, _)| s.as_str()).collect();
    let check_stance = |s: &str, what: &str| -> Result<String, ConfigError> {
        let s = s.trim().to_lowercase();
        if stances.contains(&s.as_str()) {
            Ok(s)
        } else {
            Err(err(
                file,
                Some(line),
                format!(
                    "document \"{}\": {what} \"{s}\" is not a known stance; use one of: {} (defined in [corpus.stances])",
                    d.id,
                    stances.join(", ")
                ),
            ))
        }
    };
    let stance = check_stance(&d.stance, "stance")?;
    let mut overrides = BTreeMap::new();
    for (p, s) in &d.stance_overrides {
        let n: u32 = match p.parse() {
            Ok(n) if n >= 1 => n,
            _ => {
                return fail(format!(
                "document \"{}\": stance_overrides key \"{p}\" must be a paragraph number from 1",
                d.id
            ))
            }
        };
        overrides.insert(
            n,
            check_stance(s, &format!("stance override for paragraph {n}"))?,
        );
    }
    let published = match &d.published {
        None => None,
        Some(p) => match normalise_date(p) {
            Some(p) => Some(p),
            None => {
                return fail(format!(
                    "document \"{}\": published = \"{p}\" is not a date; write YYYY, YYYY-MM or YYYY-MM-DD",
                    d.id
                ))
            }
        },
    };
    for (name, value) in [
        ("title", &d.title),
        ("outlet", &d.outlet),
        ("genre", &d.genre),
    ] {
        if value.trim().is_empty() {
            return fail(format!("document \"{}\": {name} must not be empty", d.id));
        }
    }
    let url = match d.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => match web_address(u) {
            Some(u) => Some(u),
            None => {
                return fail(format!(
                    "document \"{}\": url = \"{u}\" is not a web address; write one starting with https:// or http://",
                    d.id
                ))
            }
        },
    };
    Ok(DocumentEntry {
        id: d.id.clone(),
        file: join_clean(dir, &d.file),
        title: d.title.trim().to_string(),
        authors: d
            .authors
            .iter()
            .filter(|a| !a.trim().is_empty())
            .map(|a| aliases.resolve(a))
            .collect(),
        outlet: d.outlet.trim().to_string(),
        stance,
        genre: d.genre.trim().to_lowercase(),
        published,
        url,
        stance_overrides: overrides,
        config_file: file.to_path_buf(),
        line,
    })
}

#[cfg(test)]
mod tests {

    use super::*;

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    const HEAD: &str =
        "[corpus]\ntopic = \"t\"\n[corpus.stances]\nsupportive = \"for\"\ncritical = \"against\"\n";

    #[test]
    fn unknown_stance_names_file_line_and_choices() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", "text");
        let cfg = format!(
            "{HEAD}\n[[document]]\nid = \"a\"\nfile = \"a.txt\"\ntitle = \"T\"\noutlet = \"O\"\nstance = \"pro\"\ngenre = \"g\"\n"
        );
        let p = write(dir.path(), "c.toml", &cfg);
        let e = Config::load(&p).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("\"pro\" is not a known stance"), "{e}");
        assert!(e.message.contains("supportive, critical"), "{e}");
    }

    #[test]
    fn duplicate_ids_and_syntax_errors_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let doc = "[[document]]\nid = \"a\"\nfile = \"a.txt\"\ntitle = \"T\"\noutlet = \"O\"\nstance = \"critical\"\ngenre = \"g\"\n";
        let p = write(dir.path(), "c.toml", &format!("{HEAD}{doc}{doc}"));
        let e = Config::load(&p).unwrap_err();
        assert!(e.message.contains("duplicate document id \"a\""), "{e}");
        assert_eq!(e.line, Some(13));

        let p = write(dir.path(), "bad.toml", "[index]\ndir = \n");
        let e = Config::load(&p).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");

        let p = write(dir.path(), "unknown.toml", "[index]\ndirr = \"x\"\n");
        let e = Config::load(&p).unwrap_err();
        assert!(e.message.contains("dirr"), "{e}");
    }

    #[test]
    fn includes_and_missing_text_files() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "docs.toml",
            "[[document]]\nid = \"a\"\nfile = \"missing.txt\"\ntitle = \"T\"\nauthors = [\"Alexander Grinberg\"]\noutlet = \"O\"\nstance = \"critical\"\ngenre = \"G\"\n",
        );
        let p = write(
            dir.path(),
            "c.toml",
            &format!("include = [\"docs.toml\"]\n{HEAD}[authors]\n\"Alex Grinberg\" = [\"Alexander Grinberg\"]\n"),
        );
        let c = Config::load(&p).unwrap();
        assert_eq!(c.documents.len(), 1);
        assert_eq!(c.documents[0].authors, vec!["Alex Grinberg"]);
        assert_eq!(c.documents[0].genre, "g");
        let e = c.documents[0].load().unwrap_err();
        assert!(e.to_string().contains("docs.toml:1"), "{e}");
        assert!(e.message.contains("missing.txt"), "{e}");
    }

    #[test]
    fn non_utf8_text_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"ok \xff\xfe bad").unwrap();
        let doc = "[[document]]\nid = \"a\"\nfile = \"a.txt\"\ntitle = \"T\"\noutlet = \"O\"\nstance = \"critical\"\ngenre = \"g\"\n";
        let p = write(dir.path(), "c.toml", &format!("{HEAD}{doc}"));
        let e = Config::load(&p).unwrap().documents[0].load().unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{e}");
        assert!(e.message.contains("offset 3"), "{e}");
    }
}
