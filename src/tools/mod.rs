//! Measuring nutgraf: query latency ([`bench`]), ranking quality on a
//! judged collection ([`eval`]), and the yardsticks beside it: SQLite FTS5
//! holding the same units ([`fts5`]) and an HTTP load test ([`load`]),
//! both behind the `yardsticks` feature.

pub mod bench;
pub mod eval;
#[cfg(feature = "yardsticks")]
pub mod fts5;
#[cfg(feature = "yardsticks")]
pub mod load;
