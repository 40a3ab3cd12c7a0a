//! One builder for every hand-written statement. Values are bound by name:
//! each `{name}` in the text becomes the dialect's next placeholder (MySQL's
//! and SQLite's `?` are positional, so a value used twice is bound twice).
//! Binding a name again with the same value reuses it; with another value
//! the statement is refused, as is a marker left unbound or unclosed:
//! errors before anything runs, never a silent overwrite.
use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use super::dialect::{Dialect, placeholder, portable};

#[derive(Debug, Clone)]
pub struct Sql {
    dialect: Dialect,
    values: HashMap<String, Value>,
    /// Names bound twice with different values.
    conflicts: Vec<String>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Self { dialect, values: HashMap::new(), conflicts: Vec::new() }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Binds `value` as `{name}`; returns the marker.
    pub fn bind(&mut self, name: &str, value: impl Into<Value>) -> String {
        let value = value.into();
        match self.values.get(name) {
            Some(bound) if *bound != value => self.conflicts.push(name.to_owned()),
            Some(_) => {}
            None => {
                self.values.insert(name.to_owned(), value);
            }
        }
        format!("{{{name}}}")
    }

    /// `IN (…)` over bound texts; never empty (an empty list matches nothing).
    pub fn in_list(&mut self, prefix: &str, items: &[String]) -> String {
        if items.is_empty() {
            return "IN (NULL)".to_owned();
        }
        let markers: Vec<String> =
            items.iter().enumerate().map(|(i, item)| self.bind(&format!("{prefix}{i}"), item.clone())).collect();
        format!("IN ({})", markers.join(", "))
    }

    /// The statement, markers replaced by placeholders. A misuse of this
    /// builder is a bug in storage: an error, not a panic on a request.
    pub fn statement(&self, sql: &str) -> Result<Statement, DbErr> {
        if let Some(name) = self.conflicts.first() {
            return Err(DbErr::Custom(format!("{{{name}}} bound twice with different values in: {sql}")));
        }
        let mut out = String::with_capacity(sql.len());
        let mut values = Vec::new();
        let mut rest = sql;
        while let Some(open) = rest.find('{') {
            let close =
                open + rest[open..].find('}').ok_or_else(|| DbErr::Custom(format!("unclosed marker in: {sql}")))?;
            let name = &rest[open + 1..close];
            let value = self.values.get(name).ok_or_else(|| DbErr::Custom(format!("unbound {{{name}}} in: {sql}")))?;
            out.push_str(&rest[..open]);
            values.push(value.clone());
            out.push_str(&placeholder(self.dialect, values.len()));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Ok(portable(Statement::from_sql_and_values(self.dialect.backend(), out, values)))
    }
}

/// Integer ids inlined into SQL (they are numbers, nothing to escape).
pub fn id_list(ids: &[i64]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
}

/// The first column of the first row, as an integer.
pub async fn scalar(db: &impl ConnectionTrait, stmt: Statement) -> Result<i64, DbErr> {
    let row = db.query_one_raw(stmt).await?.ok_or_else(|| DbErr::RecordNotFound("no row".into()))?;
    row.try_get_by_index::<i64>(0)
}

/// `LIKE '%text%'` for a literal `text`: its `%`, `_` and backslashes escaped.
pub fn contains(text: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

/// `lower(column) LIKE '%text%'` for any of `columns`: `text` is lower-case already.
pub fn any_contains<C: sea_orm::sea_query::IntoColumnRef + Copy>(columns: &[C], text: &str) -> sea_orm::Condition {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    columns.iter().fold(sea_orm::Condition::any(), |any, col| {
        any.add(Expr::expr(Func::lower(Expr::col(*col))).like(contains(text)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_the_dialects_placeholders() {
        let mut sql = Sql::new(Dialect::Postgres);
        let a = sql.bind("a", 1);
        let b = sql.bind("b", "x");
        let again = sql.bind("a", 1);
        let statement = sql.statement(&format!("SELECT {a}, {b}, {again}")).map(|s| s.sql);
        assert_eq!(statement.ok().as_deref(), Some("SELECT $1, $2, $3"));
        let mut sql = Sql::new(Dialect::MySql);
        sql.bind("a", 1);
        assert_eq!(sql.statement("SELECT {a}, {a}").map(|s| s.sql).ok().as_deref(), Some("SELECT ?, ?"));
    }

    #[test]
    fn misuse_is_an_error_before_the_statement_runs() {
        let mut sql = Sql::new(Dialect::Sqlite);
        sql.bind("a", 1);
        assert!(sql.statement("SELECT {b}").is_err(), "unbound");
        assert!(sql.statement("SELECT {a").is_err(), "unclosed");
        sql.bind("a", 2);
        assert!(sql.statement("SELECT {a}").is_err(), "a second value under one name");
    }
}
