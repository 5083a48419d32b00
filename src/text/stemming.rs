//! English stemming that remembers the words it has stemmed.
//!
//! tantivy's `Stemmer` filter runs the Snowball algorithm on every token;
//! in an import that was an eighth of the time, though news repeats a
//! small vocabulary (and every unit of an article repeats its title).
//! [`CachedStemmer`] gives the same stems (the same `frostem` algorithm
//! tantivy calls) and looks a word up before stemming it. Each analyzer
//! (one per indexing thread) keeps its own table, emptied when full so
//! its memory stays bounded.

use std::borrow::Cow;
use std::mem;

use rustc_hash::FxHashMap;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Most words one table remembers (a few MB) before it starts over.
const MAX_WORDS: usize = 50_000;
/// Longer words are stemmed without being remembered (rare, and they
/// would take room).
const MAX_REMEMBERED_BYTES: usize = 24;

/// English Snowball stemming with a table of stems already found.
#[derive(Clone, Default)]
pub struct CachedStemmer;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            stems: FxHashMap::default(),
        }
    }
}

pub struct CachedStemmerFilter<T> {
    inner: T,
    stems: FxHashMap<Box<str>, Box<str>>,
}

/// A copy starts with an empty table (tantivy copies an analyzer for
/// each segment writer; copying what one has learnt would cost more than
/// learning it).
impl<T: Clone> Clone for CachedStemmerFilter<T> {
    fn clone(&self) -> Self {
        CachedStemmerFilter {
            inner: self.inner.clone(),
            stems: FxHashMap::default(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        if self.stems.len() > MAX_WORDS {
            self.stems.clear();
        }
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
            stems: &mut self.stems,
        }
    }
}

pub struct CachedStemmerStream<'a, T> {
    tail: T,
    stemmer: frostem::Stemmer,
    stems: &'a mut FxHashMap<Box<str>, Box<str>>,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if let Some(stem) = self.stems.get(token.text.as_str()) {
            token.text.clear();
            token.text.push_str(stem);
            return true;
        }
        let stem: Box<str> = match self.stemmer.stem(&token.text) {
            Cow::Owned(s) => s.into(),
            Cow::Borrowed(s) => s.into(),
        };
        let word = mem::take(&mut token.text);
        token.text.push_str(&stem);
        if word.len() <= MAX_REMEMBERED_BYTES {
            self.stems.insert(word.into_boxed_str(), stem);
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{Language, SimpleTokenizer, Stemmer, TextAnalyzer};

    fn stems(a: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut s = a.token_stream(text);
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn the_same_stems_as_tantivys_stemmer_remembered_or_not() {
        let text = "normalization normalizes talks talked the stories \
                    running runner generously relational relations \
                    a supercalifragilisticexpialidociously long word";
        let mut theirs = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(Stemmer::new(Language::English))
            .build();
        let mut ours = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(CachedStemmer)
            .build();
        let want = stems(&mut theirs, text);
        // Once stemmed, once remembered.
        assert_eq!(stems(&mut ours, text), want);
        assert_eq!(stems(&mut ours, text), want);
        assert_eq!(want[0], want[1]);
    }
}
