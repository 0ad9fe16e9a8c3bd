//! The 14-day ingestion charts: per table, daily row counts as an inline SVG bar chart
//! (HTML) or a sparkline (terminal), so a table that went quiet three days ago is seen at a
//! glance. A day without a single row is drawn apart (a red mark, `·`), never as a short bar.

use crate::facts::sections::Ingestion;
use serde::Serialize;

/// One bar of a chart: its day, count and geometry (SVG user units).
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub day: String,
    pub count: i64,
    pub x: String,
    pub y: String,
    pub height: String,
    pub zero: bool,
}

/// One table's chart.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub table: String,
    pub total: i64,
    pub last_received: Option<String>,
    /// Trailing days without a row, e.g. 3 when the table went quiet three days ago.
    pub quiet_days: usize,
    pub bars: Vec<Bar>,
    pub width: usize,
    pub height: usize,
}

const BAR: f64 = 12.0;
const GAP: f64 = 3.0;
const HEIGHT: f64 = 40.0;

/// The days of a series ending on the day of `end` (UTC), oldest first, as `MM-DD`.
fn days(end: chrono::DateTime<chrono::Utc>, n: usize) -> Vec<String> {
    (0..n)
        .rev()
        .map(|back| {
            (end - chrono::Duration::days(back as i64))
                .format("%m-%d")
                .to_string()
        })
        .collect()
}

/// The chart of each series; `collected` dates the last bar (the query's "today").
pub fn charts(rows: &[Ingestion], collected: chrono::DateTime<chrono::Utc>) -> Vec<Chart> {
    rows.iter()
        .filter_map(|r| r.daily.as_ref().map(|d| (r, d)))
        .map(|(r, daily)| {
            let max = daily.iter().copied().max().unwrap_or(0).max(1) as f64;
            let labels = days(collected, daily.len());
            let bars = daily
                .iter()
                .zip(labels)
                .enumerate()
                .map(|(i, (&count, day))| {
                    // A zero day is a thin red mark on the baseline; any rows at all show.
                    let h = if count == 0 {
                        2.0
                    } else {
                        (HEIGHT * count as f64 / max).max(3.0)
                    };
                    Bar {
                        day,
                        count,
                        x: format!("{:.1}", i as f64 * (BAR + GAP)),
                        y: format!("{:.1}", HEIGHT - h),
                        height: format!("{h:.1}"),
                        zero: count == 0,
                    }
                })
                .collect::<Vec<_>>();
            Chart {
                table: r.table.clone(),
                total: daily.iter().sum(),
                last_received: r.last_received.clone(),
                quiet_days: daily.iter().rev().take_while(|c| **c == 0).count(),
                width: (daily.len() as f64 * (BAR + GAP)) as usize,
                height: HEIGHT as usize,
                bars,
            }
        })
        .collect()
}

/// A terminal sparkline: eight levels scaled to the table's busiest day, `·` for a day
/// without a row.
pub fn sparkline(daily: &[i64]) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = daily.iter().copied().max().unwrap_or(0).max(1) as f64;
    daily
        .iter()
        .map(|&c| {
            if c <= 0 {
                '·'
            } else {
                let i = ((c as f64 / max) * 7.0).round() as usize;
                LEVELS[i.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_table_shows_its_silent_days() {
        let mut d: Vec<i64> = vec![100; 11];
        d.extend([0, 0, 0]);
        assert_eq!(sparkline(&d), "███████████···");
        assert_eq!(sparkline(&[1, 8, 0, 4]), "▂█·▅");
        let rows = vec![Ingestion {
            table: "EmailEvents".into(),
            last_received: Some("2026-11-17T10:00:00Z".into()),
            rows: 1100,
            daily: Some(d),
        }];
        let c = &charts(&rows, "2026-11-20T08:00:00Z".parse().unwrap())[0];
        assert_eq!((c.quiet_days, c.total, c.bars.len()), (3, 1100, 14));
        assert_eq!(c.bars[13].day, "11-20");
        assert_eq!(c.bars[0].day, "11-07");
        assert!(c.bars[13].zero && !c.bars[10].zero);
        assert_eq!(c.bars[10].height, "40.0");
    }
}
