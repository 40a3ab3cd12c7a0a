//! Reading an import file (`import complaints FILE`): JSON lines, or CSV
//! with a header row; the same fields as `PUT /complaints/by-external-id`,
//! `external_id` required. Each line becomes an [`ImportLine`] or a
//! rejection with its line number; nothing here stops at a bad line.
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::complaints::{ComplaintSync, ImportLine};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    external_id: String,
    title: String,
    #[serde(default)]
    description: String,
    customer_name: String,
    customer_email: Option<String>,
    priority: Option<String>,
    status: Option<String>,
    assigned_to_staff_id: Option<i64>,
    assigned_to_email: Option<String>,
    sla_deadline: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

impl Record {
    fn into_line(self, line: usize) -> ImportLine {
        ImportLine {
            line,
            external_id: self.external_id,
            complaint: ComplaintSync {
                title: self.title,
                description: self.description,
                customer_name: self.customer_name,
                customer_email: self.customer_email,
                priority: self.priority,
                status: self.status,
                assigned_to_staff_id: self.assigned_to_staff_id,
                assigned_to_email: self.assigned_to_email,
                sla_deadline: self.sla_deadline,
                updated_at: self.updated_at,
            },
        }
    }
}

pub type Parsed = Vec<Result<ImportLine, (usize, String)>>;

/// The file's lines: CSV when its name ends in `.csv`, else JSON lines.
pub fn read(path: &Path) -> Result<Parsed, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv { read_csv(&text) } else { Ok(read_json_lines(&text)) }
}

fn read_json_lines(text: &str) -> Parsed {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str::<Record>(l).map(|r| r.into_line(i + 1)).map_err(|e| (i + 1, e.to_string())))
        .collect()
}

fn read_csv(text: &str) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("the CSV header: {e}"))?.clone();
    Ok(reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| (e.position().map_or(0, |p| p.line() as usize), e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            record.deserialize::<Record>(Some(&headers)).map(|r| r.into_line(line)).map_err(|e| (line, e.to_string()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_and_csv_give_line_numbers() {
        let json = "{\"external_id\":\"A\",\"title\":\"t\",\"customer_name\":\"c\"}\n\n{\"title\":\"no id\"}\n";
        let lines = read_json_lines(json);
        assert_eq!(lines.len(), 2);
        assert!(matches!(&lines[0], Ok(l) if l.line == 1 && l.external_id == "A"));
        assert!(matches!(&lines[1], Err((3, why)) if why.contains("external_id")));
        let csv = "external_id,title,customer_name,priority,sla_deadline\nB,\"a, quoted\",c,,\nC,t,c,high,not-a-date\n";
        let lines = read_csv(csv).unwrap_or_default();
        assert!(
            matches!(&lines[0], Ok(l) if l.line == 2 && l.complaint.title == "a, quoted" && l.complaint.priority.is_none())
        );
        assert!(matches!(&lines[1], Err((3, _))));
    }
}
