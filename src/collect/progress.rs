//! Live progress on stderr: one line per API with requests done and retries.
//! Hidden unless stderr is a terminal and `--quiet` is off, so pipes and CI logs stay clean.

use crate::facts::apis::Api;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct Progress {
    bars: Option<(MultiProgress, [ProgressBar; 3])>,
    counts: [(AtomicU64, AtomicU64); 3],
}

const APIS: [Api; 3] = [Api::Graph, Api::Arm, Api::LogAnalytics];

fn idx(api: Api) -> usize {
    match api {
        Api::Graph => 0,
        Api::Arm => 1,
        Api::LogAnalytics => 2,
    }
}

impl Progress {
    /// No display at all.
    pub fn hidden() -> Self {
        Progress {
            bars: None,
            counts: Default::default(),
        }
    }

    /// A display on stderr when it is a terminal and the user did not ask for quiet.
    pub fn stderr(quiet: bool) -> Self {
        use std::io::IsTerminal;
        if quiet || !std::io::stderr().is_terminal() {
            return Self::hidden();
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {prefix:<24} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = APIS.map(|api| {
            let b = multi.add(ProgressBar::new_spinner());
            b.set_style(style.clone());
            b.set_prefix(api.as_str());
            b.set_message("waiting");
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress {
            bars: Some((multi, bars)),
            counts: Default::default(),
        }
    }

    pub fn request(&self, api: Api) {
        self.counts[idx(api)].0.fetch_add(1, Ordering::Relaxed);
        self.redraw(api);
    }

    pub fn retry(&self, api: Api) {
        self.counts[idx(api)].1.fetch_add(1, Ordering::Relaxed);
        self.redraw(api);
    }

    fn redraw(&self, api: Api) {
        if let Some((_, bars)) = &self.bars {
            let (r, t) = &self.counts[idx(api)];
            bars[idx(api)].set_message(format!(
                "{} requests, {} retries",
                r.load(Ordering::Relaxed),
                t.load(Ordering::Relaxed)
            ));
        }
    }

    /// Remove the display before the report is written.
    pub fn finish(&self) {
        if let Some((multi, bars)) = &self.bars {
            for b in bars {
                b.finish_and_clear();
            }
            let _ = multi.clear();
        }
    }
}
