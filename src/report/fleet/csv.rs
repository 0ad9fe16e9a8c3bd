//! The fleet as CSV: one row per target and control (the matrix, long form, for a
//! spreadsheet pivot), and one row with an empty control for a target that could not be
//! audited. Formula-looking cells are neutralised as in the single report.

use crate::fleet::FleetReport;
use crate::report::csv::neutralise;

pub const HEADER: [&str; 9] = [
    "target",
    "workspace_id",
    "target_verdict",
    "score",
    "control",
    "title",
    "severity",
    "status",
    "cause",
];

pub fn render(report: &FleetReport) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(HEADER).expect("write to memory");
    for t in &report.targets {
        let base = [
            t.name.clone(),
            t.workspace_id.clone(),
            t.verdict.to_string(),
            t.score.map(|s| s.to_string()).unwrap_or_default(),
        ];
        let mut rows: Vec<Vec<String>> = Vec::new();
        for c in &report.controls {
            if let Some(s) = t.results.get(&c.control) {
                rows.push(vec![
                    c.control.clone(),
                    c.title.clone(),
                    c.severity.to_string(),
                    s.to_string(),
                    String::new(),
                ]);
            }
        }
        if rows.is_empty() {
            rows.push(vec![
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                t.cause.clone().unwrap_or_default(),
            ]);
        }
        for r in rows {
            let cells: Vec<String> = base.iter().chain(&r).map(|c| neutralise(c)).collect();
            w.write_record(&cells).expect("write to memory");
        }
    }
    String::from_utf8(w.into_inner().expect("flush to memory")).expect("UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_per_target_and_control_neutralised() {
        let text = render(&super::super::sample::fleet());
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2 + 2 + 1);
        let first = &rows[0];
        assert_eq!(
            (&first[0], &first[4], &first[7]),
            ("contoso", "XDR-B-01", "fail")
        );
        assert_eq!(&first[5], "'=cmd|' /C calc'!A0");
        assert_eq!(&rows[4][0], "woodgrove");
        assert!(rows[4][8].starts_with("cannot connect"));
    }
}
