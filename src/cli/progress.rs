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

/// A bar counting to `len` (drawn only on a terminal).
pub fn counter(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:24} {bar:30} {pos}/{len} {elapsed_precise} eta {eta}")
    {
        bar.set_style(style);
    }
    bar.set_message(label.to_string());
    hide_unless_terminal(bar)
}

/// A spinner with a message (drawn only on a terminal).
pub fn spinner(label: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_message(label.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    hide_unless_terminal(bar)
}

fn hide_unless_terminal(bar: ProgressBar) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}
