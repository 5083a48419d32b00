//! `nutgraf completions SHELL`: a completion script made from the clap
//! definitions, so it never falls behind the flags.

use clap_complete::Shell;

use super::{CommandResult, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell. Install, e.g.:
    /// `nutgraf completions bash > ~/.local/share/bash-completion/completions/nutgraf`.
    pub shell: Shell,
}

pub fn run(args: &Args) -> CommandResult {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut crate::command(), "nutgraf", &mut script);
    super::print(&String::from_utf8_lossy(&script))?;
    Ok(Outcome::Found)
}
