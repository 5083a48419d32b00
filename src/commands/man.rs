//! `nutgraf man`: the manual page in roff, made from the clap definitions.

use super::{CommandResult, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_: &Args) -> CommandResult {
    let mut page = Vec::new();
    clap_mangen::Man::new(crate::command())
        .render(&mut page)
        .map_err(|source| nutgraf::Error::Io {
            context: "cannot write the manual page".into(),
            source,
        })?;
    super::print(&String::from_utf8_lossy(&page))?;
    Ok(Outcome::Found)
}
