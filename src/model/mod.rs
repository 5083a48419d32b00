//! The product's nouns, shared by every layer: a [`document`] (an article
//! with its outlet, authors, stance and date), the paragraph [`unit`]s it
//! is split into and their kinds, and the clean forms of [`date`]s and web
//! addresses. Nothing here reads files or touches the index.

pub mod address;
pub mod date;
pub mod document;
pub mod report;
pub mod unit;

pub use document::{Document, DocumentRecord};
pub use report::{IndexReport, Repairs};
pub use unit::{parse_unit_id, unit_id, UnitKind, UnitView};
