//! A search cluster (OpenSearch or Elasticsearch) as a home for the units:
//! the index settings and mapping that reproduce nutgraf's analysis as
//! closely as those engines allow ([`mapping`]), and the units as `_bulk`
//! NDJSON in files of bounded size ([`bulk`]), which `curl` can send.

pub mod bulk;
pub mod mapping;
