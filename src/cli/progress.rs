//! An indicatif progress bar for suite runs on a terminal; plain lines otherwise.

use crate::probe::suite::{PlainProgress, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct BarProgress(ProgressBar);

impl Progress for BarProgress {
    fn begin(&mut self, total: usize) {
        self.0.set_length(total as u64);
    }
    fn step(&mut self, label: &str) {
        self.0.set_message(label.to_string());
        self.0.inc(1);
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

/// A bar when stderr is a terminal, plain lines when it is a pipe or a file.
pub fn for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {wide_msg}")
        {
            bar.set_style(style);
        }
        Box::new(BarProgress(bar))
    } else {
        Box::new(PlainProgress::new())
    }
}
