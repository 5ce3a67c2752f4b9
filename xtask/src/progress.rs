//! Where a command's progress lines go. A command's result goes to stdout, where scripts read it;
//! what it does on the way goes to stderr, or nowhere with `--quiet`. `cargo xtask image` alone
//! keeps its lines on stdout: what it wrote is its result.

/// The destination of the progress lines of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Standard output: the lines are the command's result.
    Stdout,
    /// Standard error: the lines say what is being done; the result is elsewhere.
    Stderr,
    /// Nowhere (`--quiet`): errors and retries still reach stderr.
    Quiet,
}

impl Progress {
    /// Prints `line` where this run's progress goes.
    pub fn say(self, line: &str) {
        match self {
            Progress::Stdout => println!("{line}"),
            Progress::Stderr => eprintln!("{line}"),
            Progress::Quiet => {}
        }
    }

    /// Standard error, or nowhere when `quiet`.
    pub fn on_stderr(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else {
            Progress::Stderr
        }
    }
}
