//! A staff member's personal delivery preferences (SPEC 10): their time
//! zone, weekly quiet hours in it, do-not-disturb until a time, and what
//! happens to email/SMS that arrive meanwhile (`summary` or `each`).
//!
//! Quiet hours are a [`Calendar`] whose "working" periods are the quiet ones,
//! so zones and daylight saving are handled where the SLA clocks handle them.
//! A night is written as two periods (`mon` 19:00–24:00 and `tue`
//! 00:00–08:00); periods that touch run on as one, so quiet hours end at the
//! first instant inside none of them ([`Quiet::until`]).
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::calendar::{Calendar, DAY_KEYS, WeeklyHours};
use super::events::{Change, StaffEvent};
use super::{App, DomainError, DomainResult, wire};
use crate::storage::{self, entities::staff};

/// At most this many quiet periods a day.
pub const MAX_PERIODS_PER_DAY: usize = 6;
/// `dnd_until` at most this far ahead.
pub const MAX_DND_DAYS: i64 = 366;
/// How far ahead the end of quiet hours is looked for; the week is never
/// all quiet (refused), so it ends within eight days.
const LOOKAHEAD: TimeDelta = TimeDelta::days(15);

/// What arrives in quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuietDelivery {
    /// One message per channel when quiet hours end, listing what came.
    #[default]
    Summary,
    /// Each message in turn when quiet hours end.
    Each,
}

impl QuietDelivery {
    pub const NAMES: [&'static str; 2] = ["summary", "each"];

    pub fn as_str(self) -> &'static str {
        match self {
            QuietDelivery::Summary => "summary",
            QuietDelivery::Each => "each",
        }
    }

    pub fn from_name(name: &str) -> Option<QuietDelivery> {
        match name {
            "summary" => Some(QuietDelivery::Summary),
            "each" => Some(QuietDelivery::Each),
            _ => None,
        }
    }
}

/// `GET /me/preferences`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preferences {
    /// IANA zone the person reads times in (the organisation's when they chose none)
    pub time_zone: String,
    /// Whether `time_zone` is the organisation's default (the person chose none)
    pub time_zone_is_default: bool,
    /// Weekly quiet periods in `time_zone`: `{"mon": [["19:00", "24:00"]], "tue": [["00:00", "08:00"]]}`
    #[schema(value_type = Object)]
    pub quiet_hours: WeeklyHours,
    /// Do not disturb until then (UTC); null or past: off
    pub dnd_until: Option<DateTime<Utc>>,
    /// `summary` (default) or `each`
    pub quiet_hours_delivery: String,
}

/// `PUT /me/preferences`: fields left out stay; `time_zone: null` goes back
/// to the organisation's zone, `quiet_hours: null` or `{}` clears them,
/// `dnd_until: null` ends do-not-disturb.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesChange {
    #[serde(default, deserialize_with = "wire::nullable")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "wire::nullable")]
    #[schema(value_type = Option<Object>)]
    pub quiet_hours: Option<Option<Value>>,
    #[serde(default, deserialize_with = "wire::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub dnd_until: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub quiet_hours_delivery: Option<String>,
}

/// A person's quiet hours, compiled for "is it quiet now, and until when".
#[derive(Debug, Clone)]
pub struct Quiet {
    pub zone: Tz,
    calendar: Option<Calendar>,
    dnd_until: Option<DateTime<Utc>>,
    pub delivery: QuietDelivery,
}

impl Quiet {
    /// A staff row's preferences; what is stored invalid (by hand) counts as none.
    pub fn of(row: &staff::Model, default_zone: Tz) -> Quiet {
        let zone = zone_of(row, default_zone);
        let calendar = row.quiet_hours.as_ref().and_then(|value| {
            let hours: WeeklyHours = serde_json::from_value(value.clone()).ok()?;
            (!hours.values().all(Vec::is_empty)).then(|| Calendar::parse(zone.name(), &hours, &[]).ok()).flatten()
        });
        let delivery = row.quiet_hours_delivery.as_deref().and_then(QuietDelivery::from_name).unwrap_or_default();
        Quiet { zone, calendar, dnd_until: row.dnd_until, delivery }
    }

    /// No quiet hours, no do-not-disturb.
    pub fn never(zone: Tz) -> Quiet {
        Quiet { zone, calendar: None, dnd_until: None, delivery: QuietDelivery::Summary }
    }

    /// When quiet hours (or do-not-disturb) that hold at `now` end: the first
    /// instant after `now` that is in neither; `None` when `now` is in neither.
    pub fn until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = now;
        // Do-not-disturb may end inside quiet hours and quiet hours inside a
        // later do-not-disturb: a few rounds settle it.
        for _ in 0..4 {
            let mut moved = false;
            if let Some(dnd) = self.dnd_until.filter(|d| *d > t) {
                t = dnd;
                moved = true;
            }
            if let Some(end) = self.calendar.as_ref().and_then(|c| c.next_closing(t, LOOKAHEAD)).filter(|e| *e > t) {
                t = end;
                moved = true;
            }
            if !moved {
                break;
            }
        }
        (t > now).then_some(t)
    }
}

/// The zone a person reads times in: theirs, else the organisation's.
pub fn zone_of(row: &staff::Model, default_zone: Tz) -> Tz {
    row.time_zone.as_deref().and_then(|z| Tz::from_str(z).ok()).unwrap_or(default_zone)
}

/// Validates quiet hours: a JSON object of weekday keys (`mon`…`sun`), each
/// at most [`MAX_PERIODS_PER_DAY`] `["HH:MM", "HH:MM"]` periods (24:00 only as
/// an end, start before end, no overlaps), not the whole week.
pub fn parse_quiet_hours(value: &Value) -> DomainResult<WeeklyHours> {
    let Some(object) = value.as_object() else {
        return Err(DomainError::invalid(
            "quiet_hours",
            "must be an object of weekdays, e.g. {\"mon\": [[\"19:00\", \"24:00\"]]}",
        ));
    };
    let mut hours = WeeklyHours::new();
    for (key, periods) in object {
        let field = format!("quiet_hours.{}", clip(key));
        if !DAY_KEYS.contains(&key.as_str()) {
            return Err(DomainError::invalid(field, "unknown day; use mon, tue, wed, thu, fri, sat or sun"));
        }
        let Some(list) = periods.as_array() else {
            return Err(DomainError::invalid(field, "must be a list of [\"HH:MM\", \"HH:MM\"] periods"));
        };
        if list.len() > MAX_PERIODS_PER_DAY {
            return Err(DomainError::invalid(
                field,
                format!("at most {MAX_PERIODS_PER_DAY} periods a day (got {})", list.len()),
            ));
        }
        let mut day = Vec::with_capacity(list.len());
        for (i, period) in list.iter().enumerate() {
            let pair = period.as_array().filter(|p| p.len() == 2).and_then(|p| Some([p[0].as_str()?, p[1].as_str()?]));
            let Some([start, end]) = pair else {
                return Err(DomainError::invalid(
                    format!("{field}[{i}]"),
                    "must be a period [\"HH:MM\", \"HH:MM\"], e.g. [\"19:00\", \"24:00\"]",
                ));
            };
            day.push([start.to_owned(), end.to_owned()]);
        }
        if !day.is_empty() {
            hours.insert(key.clone(), day);
        }
    }
    let calendar = Calendar::parse("UTC", &hours, &[]).map_err(|e| {
        let field = e.field.replacen("weekly_hours", "quiet_hours", 1);
        DomainError::invalid(field, e.message)
    })?;
    if calendar.next_closing(DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(7), TimeDelta::days(8)).is_none() {
        return Err(DomainError::invalid(
            "quiet_hours",
            "cannot cover the whole week; use dnd_until to be away for a while",
        ));
    }
    Ok(hours)
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A staff member's preferences as the API shows them.
pub fn view(row: &staff::Model, default_zone: Tz) -> Preferences {
    let quiet_hours = row
        .quiet_hours
        .as_ref()
        .and_then(|v| serde_json::from_value::<WeeklyHours>(v.clone()).ok())
        .unwrap_or_default();
    Preferences {
        time_zone: zone_of(row, default_zone).name().to_owned(),
        time_zone_is_default: row.time_zone.is_none(),
        quiet_hours,
        dnd_until: row.dnd_until,
        quiet_hours_delivery: row
            .quiet_hours_delivery
            .as_deref()
            .and_then(QuietDelivery::from_name)
            .unwrap_or_default()
            .as_str()
            .to_owned(),
    }
}

async fn row(app: &App, staff_id: i64) -> DomainResult<staff::Model> {
    storage::staff::by_id(&app.db, staff_id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("staff member {staff_id} not found")))
}

pub async fn get(app: &App, staff_id: i64) -> DomainResult<Preferences> {
    Ok(view(&row(app, staff_id).await?, app.time_zone))
}

/// Checks a change at the edge: every field or a 422 naming the one at fault.
pub fn check(change: PreferencesChange, now: DateTime<Utc>) -> DomainResult<storage::staff::Changes> {
    let time_zone = match change.time_zone {
        Some(Some(zone)) => Some(Some(super::staff::check_time_zone("time_zone", &zone)?)),
        other => other,
    };
    let quiet_hours = match change.quiet_hours {
        Some(Some(value)) => {
            let hours = parse_quiet_hours(&value)?;
            Some((!hours.is_empty()).then(|| serde_json::to_value(hours).unwrap_or_default()))
        }
        Some(None) => Some(None),
        None => None,
    };
    let dnd_until = match change.dnd_until {
        Some(Some(at)) => {
            let latest = now + TimeDelta::days(MAX_DND_DAYS);
            if at < DateTime::<Utc>::UNIX_EPOCH || at > latest {
                return Err(DomainError::invalid(
                    "dnd_until",
                    format!("must be at most {MAX_DND_DAYS} days ahead (a past time turns do-not-disturb off)"),
                ));
            }
            Some(Some(at))
        }
        other => other,
    };
    let quiet_hours_delivery = match change.quiet_hours_delivery {
        Some(mode) => match QuietDelivery::from_name(&mode) {
            Some(mode) => Some(Some(mode.as_str().to_owned())),
            None => {
                return Err(DomainError::invalid(
                    "quiet_hours_delivery",
                    format!("{:?} is not one of {}", clip(&mode), QuietDelivery::NAMES.join(", ")),
                ));
            }
        },
        None => None,
    };
    Ok(storage::staff::Changes { time_zone, quiet_hours, dnd_until, quiet_hours_delivery, ..Default::default() })
}

/// Applies a change to staff member `staff_id`'s preferences (their own, or an
/// admin's through the staff API) and tells their live connections.
pub async fn put(app: &App, staff_id: i64, change: PreferencesChange) -> DomainResult<Preferences> {
    let now = app.clock.now();
    let changes = check(change, now)?;
    row(app, staff_id).await?;
    storage::staff::update(&app.db, staff_id, changes, now).await?;
    app.events.publish(StaffEvent { staff_id, change: Change::PreferencesChanged });
    get(app, staff_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap()
    }

    fn quiet(zone: &str, hours: Value, dnd: Option<&str>) -> Quiet {
        let hours = parse_quiet_hours(&hours).unwrap();
        Quiet {
            zone: Tz::from_str(zone).unwrap(),
            calendar: Some(Calendar::parse(zone, &hours, &[]).unwrap()),
            dnd_until: dnd.map(at),
            delivery: QuietDelivery::Summary,
        }
    }

    #[test]
    fn a_night_across_midnight_ends_in_the_morning() {
        let q = quiet("UTC", serde_json::json!({"mon": [["19:00", "24:00"]], "tue": [["00:00", "08:00"]]}), None);
        // 2027-01-04 is a Monday.
        assert_eq!(q.until(at("2027-01-04T18:59:00Z")), None);
        assert_eq!(q.until(at("2027-01-04T19:00:00Z")), Some(at("2027-01-05T08:00:00Z")));
        assert_eq!(q.until(at("2027-01-05T03:00:00Z")), Some(at("2027-01-05T08:00:00Z")));
        assert_eq!(q.until(at("2027-01-05T08:00:00Z")), None);
    }

    #[test]
    fn dnd_in_the_past_is_ignored_and_a_later_one_chains_with_quiet_hours() {
        let hours = serde_json::json!({"mon": [["19:00", "24:00"]], "tue": [["00:00", "08:00"]]});
        let q = quiet("UTC", hours.clone(), Some("2027-01-01T00:00:00Z"));
        assert_eq!(q.until(at("2027-01-04T12:00:00Z")), None);
        // Do-not-disturb ends inside the night: quiet until the morning.
        let q = quiet("UTC", hours, Some("2027-01-04T20:00:00Z"));
        assert_eq!(q.until(at("2027-01-04T12:00:00Z")), Some(at("2027-01-05T08:00:00Z")));
    }

    #[test]
    fn quiet_hours_follow_daylight_saving_in_berlin() {
        let hours = serde_json::json!({"sat": [["22:00", "24:00"]], "sun": [["00:00", "08:00"]]});
        let q = quiet("Europe/Berlin", hours, None);
        // Spring forward on 2027-03-28: 08:00 CEST is 06:00 UTC.
        assert_eq!(q.until(at("2027-03-27T21:30:00Z")), Some(at("2027-03-28T06:00:00Z")));
        // Fall back on 2027-10-31: 08:00 CET is 07:00 UTC.
        assert_eq!(q.until(at("2027-10-30T20:30:00Z")), Some(at("2027-10-31T07:00:00Z")));
        assert_eq!(q.until(at("2027-10-30T19:30:00Z")), None, "21:30 CEST is not quiet yet");
    }

    #[test]
    fn the_whole_week_and_bad_periods_are_refused() {
        let all: serde_json::Map<String, Value> =
            DAY_KEYS.iter().map(|d| (d.to_string(), serde_json::json!([["00:00", "24:00"]]))).collect();
        assert!(parse_quiet_hours(&Value::Object(all)).is_err());
        for bad in [
            serde_json::json!({"monday": []}),
            serde_json::json!({"mon": [["24:00", "08:00"]]}),
            serde_json::json!({"mon": [["08:00", "07:00"]]}),
            serde_json::json!({"mon": [["8:00", "09:00"]]}),
            serde_json::json!({"mon": [["01:00", "02:00"], ["01:30", "03:00"]]}),
            serde_json::json!({"mon": [["01:00"]]}),
            serde_json::json!([]),
        ] {
            assert!(parse_quiet_hours(&bad).is_err(), "{bad}");
        }
    }
}
