//! CSV: one row per control, for spreadsheets and compliance evidence.
//!
//! RFC 4180 (CRLF line ends, fields quoted when needed, by the `csv` crate). A cell that a
//! spreadsheet would read as a formula (starting with `= + - @`, tab or carriage return) is
//! prefixed with `'` (OWASP's advice against CSV injection). Values are plain text, never HTML.

use crate::model::Finding;
use crate::outcome::Report;

pub const HEADER: [&str; 19] = [
    "control",
    "title",
    "severity",
    "stage",
    "status",
    "original_status",
    "baseline",
    "scope",
    "message",
    "reason",
    "evidence",
    "notes",
    "remediation",
    "docs",
    "waiver_owner",
    "waiver_expires",
    "waiver_ticket",
    "waiver_justification",
    "policy_file",
];

/// Neutralise a cell a spreadsheet would evaluate as a formula.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

fn row(f: &Finding) -> Vec<String> {
    let evidence = f
        .evidence
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let w = f.waiver.as_ref();
    vec![
        f.control.clone(),
        f.title.clone(),
        f.severity.to_string(),
        f.stage.to_string(),
        f.status.to_string(),
        f.original_status.map(|s| s.to_string()).unwrap_or_default(),
        f.baseline.map(|b| b.to_string()).unwrap_or_default(),
        f.scope.clone().unwrap_or_default(),
        f.message.clone(),
        f.reason.clone().unwrap_or_default(),
        evidence,
        f.notes.join("; "),
        f.remediation.summary.clone(),
        f.remediation.docs.join(" "),
        w.map(|w| w.owner.clone()).unwrap_or_default(),
        w.map(|w| w.expires.to_string()).unwrap_or_default(),
        w.and_then(|w| w.ticket.clone()).unwrap_or_default(),
        w.map(|w| w.justification.clone()).unwrap_or_default(),
        f.policy_file.clone().unwrap_or_default(),
    ]
}

pub fn render(report: &Report) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(HEADER).expect("write to memory");
    for f in &report.results {
        // Control characters from data are made visible (a CSV is also read with `cat`); the
        // record terminator is the format's own CRLF.
        let cells: Vec<String> = row(f)
            .iter()
            .map(|c| neutralise(&super::terminal::visible(c, super::terminal::Keep::Lines)))
            .collect();
        w.write_record(&cells).expect("write to memory");
    }
    let bytes = w.into_inner().expect("flush to memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample;

    #[test]
    fn neutralises_formula_starts_only() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise("a=b"), "a=b");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn one_row_per_control_and_hostile_cells_round_trip_neutralised() {
        let r = sample::hostile();
        let text = render(&r);
        assert!(text.contains("\r\n"));
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(rd.headers().unwrap().len(), HEADER.len());
        let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), r.results.len());
        for (row, f) in rows.iter().zip(&r.results) {
            assert_eq!(&row[0], f.control);
            assert_eq!(&row[1], format!("'{}", sample::HOSTILE));
            for cell in row.iter() {
                assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell:?}");
            }
        }
    }
}
