//! Language: where words begin and end ([`words`]), how text becomes
//! terms ([`analysis`], English stems remembered by [`stemming`]), how author names are
//! keyed and aliased ([`names`]), and how a unit's text becomes a snippet
//! with the query's words highlighted ([`snippet`]), and how two
//! paragraphs are told to be copies ([`shingles`]).

pub mod analysis;
pub mod names;
pub mod shingles;
pub mod snippet;
pub mod stemming;
pub mod words;
