//! SLA business calendars: when the clock of a complaint runs.
//!
//! A calendar is a time zone, [`WeeklyHours`] and [`HolidaySpec`]s (the API adds a name).
//! [`Calendar::parse`] validates the wire shapes and compiles them into a form
//! ready for arithmetic: per-weekday periods in seconds, fixed holidays as sorted
//! day ranges, yearly holidays as a bit set over the days of a leap year.
//!
//! # Semantics
//!
//! A UTC instant `t` is *working time* iff, converting `t` to the calendar's zone
//! (chrono-tz), its local date is not a holiday and its local time of day falls in
//! one of that local weekday's periods `[start, end)`. So on a spring-forward day the
//! skipped local hour does not count, and on a fall-back day a repeated local hour
//! counts twice (both UTC instants are working) when it lies inside a period.
//!
//! The calendar is defined for instants in `[1970-01-01T00:00:00Z, 10000-01-01T00:00:00Z)`
//! (the service's timestamp range, see `domain::time`); nothing outside is working time.
//! Arithmetic is exact to the nanosecond of the given instants; every period boundary
//! and offset change falls on a whole second.
//!
//! # How it counts
//!
//! The UTC line is walked in chunks that end at a local midnight (at most
//! [`WINDOW_DAYS`] local days each). The zone's offset is read once at each chunk's
//! end; if it differs from the offset at the chunk's start, the change instant is
//! found by bisection and the chunk is cut there, each side using its own offset.
//! This is exact as long as a zone never changes its offset twice within
//! [`WINDOW_DAYS`] days: in the tz database bundled with chrono-tz 0.10 consecutive
//! changes are at least 6.9 days apart in every zone. Runs of closed local days
//! (weekends without periods, holiday ranges) are skipped without looking at offsets.
//! Every loop is bounded by the calendar's range, and a calendar that can never open
//! answers at once.
use std::collections::BTreeMap;
use std::fmt;
use std::ops::ControlFlow;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// `{"mon": [["09:00", "12:00"], ["13:00", "17:30"]], …}`: a missing or empty day is closed.
pub type WeeklyHours = BTreeMap<String, Vec<[String; 2]>>;

/// The keys of [`WeeklyHours`], Monday first.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
pub const MAX_PERIODS_PER_DAY: usize = 10;
pub const MAX_HOLIDAYS: usize = 366;
pub const MAX_HOLIDAY_NAME_CHARS: usize = 100;
/// How many days `end_date` may lie after `date`.
pub const MAX_HOLIDAY_SPAN_DAYS: i64 = 366;
/// The longest chunk of local days read with one offset look-up (see the module docs).
pub const WINDOW_DAYS: i64 = 4;

const DAY: i64 = 86_400;
const NANOS: i128 = 1_000_000_000;
/// 1970-01-01T00:00:00Z: the first instant a calendar knows.
const RANGE_START: i64 = 0;
/// 10000-01-01T00:00:00Z: the end (exclusive) of the instants a calendar knows.
const RANGE_END: i64 = 253_402_300_800;
/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;
/// Index of February 29 among the days of a leap year (0 = January 1).
const FEB_29: u32 = 59;

/// One holiday: a date, or an inclusive range of dates, optionally every year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaySpec {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `YYYY-MM-DD`, inclusive, at most 366 days after `date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    pub name: String,
    /// The same month/day (range) every year; a range may wrap the year end
    /// (Dec 24 – Jan 2), a yearly Feb 29 is a holiday in leap years only.
    #[serde(default)]
    pub yearly: bool,
}

/// A validation error: which field (`weekly_hours.mon[1]`, `holidays[3].end_date`,
/// `time_zone`, …) and what is wrong with it, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarError {
    pub field: String,
    pub message: String,
}

impl CalendarError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        CalendarError { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for CalendarError {}

/// One weekday's periods: sorted, disjoint, adjacent ones merged; seconds of the local day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct DayHours {
    len: usize,
    periods: [(i64, i64); MAX_PERIODS_PER_DAY],
}

impl DayHours {
    fn periods(&self) -> &[(i64, i64)] {
        &self.periods[..self.len]
    }
}

/// A parsed calendar, ready for arithmetic. Cheap to share; no method allocates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    tz: Tz,
    /// Monday first.
    week: [DayHours; 7],
    /// Fixed holidays: sorted, disjoint, non-adjacent inclusive ranges of local days since 1970-01-01.
    fixed: Vec<(i64, i64)>,
    /// Yearly holidays: bit `i` = day `i` of a leap year (0 = Jan 1, 59 = Feb 29, 365 = Dec 31).
    yearly: [u64; 6],
    has_yearly: bool,
    /// Some weekday has periods and the yearly holidays leave some day free.
    ever_open: bool,
    /// Every day 00:00–24:00 and no holiday (`24x7`): working time is one
    /// interval, whatever the zone, and `scan` need not walk day by day (a
    /// deadline at 9999-12-31 is 2.9 million days away).
    open_throughout: bool,
}

impl Calendar {
    /// UTC, every day 00:00–24:00, no holidays.
    pub fn always_open() -> Calendar {
        let mut day = DayHours::default();
        day.periods[0] = (0, DAY);
        day.len = 1;
        Calendar::every_day_utc(day)
    }

    /// UTC, no working period at all: a clock on it never runs.
    pub fn never_open() -> Calendar {
        Calendar::every_day_utc(DayHours::default())
    }

    /// UTC, the same hours every day, no holidays.
    fn every_day_utc(day: DayHours) -> Calendar {
        Calendar {
            tz: Tz::UTC,
            week: [day; 7],
            fixed: Vec::new(),
            yearly: [0; 6],
            has_yearly: false,
            ever_open: day.len > 0,
            open_throughout: day.periods() == [(0, DAY)],
        }
    }

    /// Parses and validates a definition.
    ///
    /// Refused: a zone chrono-tz does not know; day keys other than `mon`…`sun`; more than
    /// 10 periods a day; times other than `HH:MM` (00:00–23:59, or `24:00` as an end);
    /// an end not after its start; overlapping periods of a day (touching ones are fine);
    /// more than 366 holidays; a holiday name empty or over 100 characters; dates other
    /// than `YYYY-MM-DD` between 1970-01-01 and 9999-12-31; an `end_date` before `date`
    /// or more than 366 days after it.
    pub fn parse(
        time_zone: &str,
        weekly_hours: &WeeklyHours,
        holidays: &[HolidaySpec],
    ) -> Result<Calendar, CalendarError> {
        let tz = Tz::from_str(time_zone).map_err(|_| {
            CalendarError::new(
                "time_zone",
                format!("unknown time zone {:?}; use an IANA name such as Europe/Berlin or UTC", clip(time_zone)),
            )
        })?;
        let mut week = [DayHours::default(); 7];
        for (key, periods) in weekly_hours {
            let Some(weekday) = DAY_KEYS.iter().position(|day| day == key) else {
                return Err(CalendarError::new(
                    format!("weekly_hours.{}", clip(key)),
                    "unknown day; use mon, tue, wed, thu, fri, sat or sun",
                ));
            };
            week[weekday] = parse_day(key, periods)?;
        }

        if holidays.len() > MAX_HOLIDAYS {
            return Err(CalendarError::new(
                "holidays",
                format!("at most {MAX_HOLIDAYS} holidays (got {})", holidays.len()),
            ));
        }
        let mut fixed = Vec::new();
        let mut yearly = [0u64; 6];
        for (i, holiday) in holidays.iter().enumerate() {
            let (first, last) = parse_holiday(i, holiday)?;
            if holiday.yearly {
                mark_yearly(&mut yearly, first, last);
            } else {
                fixed.push((day_number(first), day_number(last)));
            }
        }
        fixed.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(fixed.len());
        for (first, last) in fixed {
            match merged.last_mut() {
                Some(prev) if first <= prev.1 + 1 => prev.1 = prev.1.max(last),
                _ => merged.push((first, last)),
            }
        }

        let has_yearly = yearly.iter().any(|&word| word != 0);
        let yearly_full = (0..366).all(|i| yearly[i / 64] & (1 << (i % 64)) != 0);
        let ever_open = week.iter().any(|day| day.len > 0) && !yearly_full;
        let open_throughout = week.iter().all(|day| day.periods() == [(0, DAY)]) && merged.is_empty() && !has_yearly;
        Ok(Calendar { tz, week, fixed: merged, yearly, has_yearly, ever_open, open_throughout })
    }

    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// True when no instant is ever working time (no periods, or every day a yearly holiday).
    pub fn never_opens(&self) -> bool {
        !self.ever_open
    }

    /// Whether `t` is working time.
    pub fn is_working(&self, t: DateTime<Utc>) -> bool {
        self.working_second(t.timestamp())
    }

    /// Working time in `[from, to)`, in whole seconds (rounded down); 0 if `to <= from`.
    pub fn working_seconds_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let (from_s, from_ns) = (from.timestamp(), i128::from(from.timestamp_subsec_nanos()));
        let (to_s, to_ns) = (to.timestamp(), i128::from(to.timestamp_subsec_nanos()));
        let mut whole: i64 = 0;
        let _ = self.scan(from_s, to_s, |a, b| {
            whole += b - a;
            ControlFlow::Continue(())
        });
        // Each second [s, s + 1) is working throughout or not at all.
        let mut nanos = i128::from(whole) * NANOS;
        if from_ns > 0 && self.working_second(from_s) {
            nanos -= from_ns;
        }
        if to_ns > 0 && self.working_second(to_s) {
            nanos += to_ns;
        }
        i64::try_from(nanos.div_euclid(NANOS)).unwrap_or(i64::MAX)
    }

    /// The earliest instant `r >= start` with `seconds` of working time in `[start, r)`,
    /// so `working_seconds_between(start, r) == seconds`. With `seconds > 0` that is the
    /// end of working time, never an instant after closed time. `seconds <= 0` gives
    /// `start`. `None` when the calendar does not provide that much working time before
    /// 10000-01-01T00:00:00Z (e.g. it never opens).
    pub fn add_working_seconds(&self, start: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        if seconds <= 0 {
            return Some(start);
        }
        let start_s = start.timestamp();
        let start_ns = i128::from(start.timestamp_subsec_nanos());
        let mut remaining = i128::from(seconds) * NANOS;
        let mut found = None;
        let _ = self.scan(start_s, RANGE_END, |a, b| {
            // The interval begins at `start` itself when it holds start's second.
            let begin = i128::from(a) * NANOS + if a == start_s { start_ns } else { 0 };
            let length = i128::from(b) * NANOS - begin;
            if remaining <= length {
                found = Some(begin + remaining);
                return ControlFlow::Break(());
            }
            remaining -= length;
            ControlFlow::Continue(())
        });
        let at = found?;
        let secs = i64::try_from(at.div_euclid(NANOS)).ok()?;
        let nanos = u32::try_from(at.rem_euclid(NANOS)).ok()?;
        DateTime::from_timestamp(secs, nanos)
    }

    /// The first instant `>= t` that is working time; `None` if there is none before
    /// 10000-01-01T00:00:00Z.
    pub fn next_opening(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_working(t) {
            return Some(t);
        }
        let mut found = None;
        let _ = self.scan(t.timestamp(), RANGE_END, |a, _| {
            found = Some(a);
            ControlFlow::Break(())
        });
        DateTime::from_timestamp(found?, 0)
    }

    /// The first instant `>= t` that is not working time, looking at most `within`
    /// ahead: working periods that touch (a day's 24:00 and the next day's
    /// 00:00) run on as one. `t` itself when it is not working time; `None`
    /// when the calendar is working throughout `[t, t + within)`.
    pub fn next_closing(&self, t: DateTime<Utc>, within: chrono::TimeDelta) -> Option<DateTime<Utc>> {
        if !self.is_working(t) {
            return Some(t);
        }
        let from = t.timestamp();
        let until = from.saturating_add(within.num_seconds().max(0));
        let mut end = from;
        let mut found = None;
        let _ = self.scan(from, until, |a, b| {
            if a > end {
                found = Some(end);
                return ControlFlow::Break(());
            }
            end = end.max(b);
            ControlFlow::Continue(())
        });
        let end = match found {
            Some(end) => end,
            None if end < until => end,
            None => return None,
        };
        DateTime::from_timestamp(end, 0)
    }

    /// Whether the second `[s, s + 1)` (UTC, seconds since the epoch) is working time.
    fn working_second(&self, s: i64) -> bool {
        if !(RANGE_START..RANGE_END).contains(&s) || !self.ever_open {
            return false;
        }
        let local = s + self.offset_at(s);
        let day = local.div_euclid(DAY);
        let second = local.rem_euclid(DAY);
        !self.is_holiday(day) && self.week[weekday(day)].periods().iter().any(|&(a, b)| a <= second && second < b)
    }

    /// Calls `visit(a, b)` for the working UTC intervals (seconds since the epoch) within
    /// `[from, until)`, in order, each clipped to that span, until `visit` breaks.
    fn scan<F>(&self, from: i64, until: i64, mut visit: F) -> ControlFlow<()>
    where
        F: FnMut(i64, i64) -> ControlFlow<()>,
    {
        let until = until.min(RANGE_END);
        let mut u = from.max(RANGE_START);
        if u >= until || !self.ever_open {
            return ControlFlow::Continue(());
        }
        if self.open_throughout {
            return visit(u, until);
        }
        let mut offset = self.offset_at(u);
        // Every pass moves `u` forward to a local midnight, an offset change or past a closed run.
        while u < until {
            let day = (u + offset).div_euclid(DAY);
            if self.is_closed(day) {
                // Instants in [u, p) with p <= (d2 - 1) * DAY have local dates in [day - 2, d2 - 1],
                // since offsets are less than a day: all closed, so skip them without offsets.
                let last_day = (until + DAY).div_euclid(DAY);
                match self.next_open_day(day - 2, last_day) {
                    None => return ControlFlow::Continue(()),
                    Some(open) if open >= day + 3 && (open - 1) * DAY > u => {
                        u = (open - 1) * DAY;
                        if u >= until {
                            return ControlFlow::Continue(());
                        }
                        offset = self.offset_at(u);
                        continue;
                    }
                    Some(_) => {}
                }
            }
            let days_needed = (until - 1 + offset).div_euclid(DAY) - day + 1;
            let window_end = (day + days_needed.clamp(1, WINDOW_DAYS)) * DAY - offset;
            let end_offset = self.offset_at(window_end);
            let (chunk_end, next_offset) = if end_offset == offset {
                (window_end, offset)
            } else {
                let change = self.offset_change(u, window_end, offset);
                (change, self.offset_at(change))
            };
            let stop = chunk_end.min(until);
            self.visit_local(u + offset, stop + offset, offset, &mut visit)?;
            u = chunk_end;
            offset = next_offset;
        }
        ControlFlow::Continue(())
    }

    /// Visits the working time in the local span `[from, to)` read with one `offset`.
    fn visit_local<F>(&self, from: i64, to: i64, offset: i64, visit: &mut F) -> ControlFlow<()>
    where
        F: FnMut(i64, i64) -> ControlFlow<()>,
    {
        let mut day = from.div_euclid(DAY);
        let mut base = day * DAY;
        while base < to {
            let periods = self.week[weekday(day)].periods();
            if !periods.is_empty() && !self.is_holiday(day) {
                for &(a, b) in periods {
                    if base + a >= to {
                        break;
                    }
                    let begin = (base + a).max(from);
                    let end = (base + b).min(to);
                    if begin < end {
                        visit(begin - offset, end - offset)?;
                    }
                }
            }
            day += 1;
            base += DAY;
        }
        ControlFlow::Continue(())
    }

    /// The first instant in `(lo, hi]` whose offset is not `offset`, given that `hi`'s is not.
    fn offset_change(&self, mut lo: i64, mut hi: i64, offset: i64) -> i64 {
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.offset_at(mid) == offset {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// Local time minus UTC, in seconds, at the instant `t` (seconds since the epoch).
    fn offset_at(&self, t: i64) -> i64 {
        DateTime::from_timestamp(t, 0)
            .map_or(0, |utc| i64::from(self.tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()))
    }

    fn is_closed(&self, day: i64) -> bool {
        self.week[weekday(day)].len == 0 || self.is_holiday(day)
    }

    /// The first local day in `[from, last]` with periods that is not a holiday.
    fn next_open_day(&self, from: i64, last: i64) -> Option<i64> {
        let mut day = from;
        while day <= last {
            if self.week[weekday(day)].len == 0 {
                day += 1;
            } else if let Some(range_end) = self.fixed_range_end(day) {
                day = range_end.max(day) + 1;
            } else if self.is_yearly_holiday(day) {
                day += 1;
            } else {
                return Some(day);
            }
        }
        None
    }

    fn is_holiday(&self, day: i64) -> bool {
        self.fixed_range_end(day).is_some() || self.is_yearly_holiday(day)
    }

    /// The last day of the fixed holiday range holding `day`.
    fn fixed_range_end(&self, day: i64) -> Option<i64> {
        if self.fixed.is_empty() {
            return None;
        }
        let i = self.fixed.partition_point(|&(_, last)| last < day);
        self.fixed.get(i).filter(|&&(first, _)| first <= day).map(|&(_, last)| last)
    }

    fn is_yearly_holiday(&self, day: i64) -> bool {
        if !self.has_yearly {
            return false;
        }
        let Some(date) = i32::try_from(day + EPOCH_DAYS_FROM_CE).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
        else {
            return false;
        };
        let i = leap_year_index(date);
        self.yearly[i / 64] & (1 << (i % 64)) != 0
    }
}

/// Monday = 0 for a day number counted from 1970-01-01 (a Thursday).
fn weekday(day: i64) -> usize {
    // rem_euclid(7) is in 0..7.
    (day + 3).rem_euclid(7) as usize
}

/// Days since 1970-01-01.
fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The date's index among the 366 days of a leap year (Feb 29 = 59).
fn leap_year_index(date: NaiveDate) -> usize {
    let ordinal = date.ordinal0();
    let index = if !is_leap(date.year()) && ordinal >= FEB_29 { ordinal + 1 } else { ordinal };
    index as usize
}

/// Marks the month/days from `first` to `last` (wrapping the year end) as yearly holidays.
fn mark_yearly(bits: &mut [u64; 6], first: NaiveDate, last: NaiveDate) {
    let all = (last - first).num_days() >= 365;
    let (mut i, end) = (leap_year_index(first), leap_year_index(last));
    for _ in 0..366 {
        bits[i / 64] |= 1 << (i % 64);
        if !all && i == end {
            break;
        }
        i = (i + 1) % 366;
    }
}

fn parse_day(key: &str, periods: &[[String; 2]]) -> Result<DayHours, CalendarError> {
    if periods.len() > MAX_PERIODS_PER_DAY {
        return Err(CalendarError::new(
            format!("weekly_hours.{key}"),
            format!("at most {MAX_PERIODS_PER_DAY} periods a day (got {})", periods.len()),
        ));
    }
    let mut parsed = [(0i64, 0i64, 0usize); MAX_PERIODS_PER_DAY];
    for (i, [start, end]) in periods.iter().enumerate() {
        let field = || format!("weekly_hours.{key}[{i}]");
        let start_s = parse_hhmm(start, false).ok_or_else(|| {
            CalendarError::new(field(), format!("start {:?} is not a time HH:MM from 00:00 to 23:59", clip(start)))
        })?;
        let end_s = parse_hhmm(end, true).ok_or_else(|| {
            CalendarError::new(field(), format!("end {:?} is not a time HH:MM from 00:00 to 24:00", clip(end)))
        })?;
        if end_s <= start_s {
            return Err(CalendarError::new(field(), format!("end {end} must be after start {start}")));
        }
        parsed[i] = (start_s, end_s, i);
    }
    let parsed = &mut parsed[..periods.len()];
    parsed.sort_unstable();
    let mut day = DayHours::default();
    for (k, &(start, end, i)) in parsed.iter().enumerate() {
        if k > 0 {
            let (prev_start, prev_end, j) = parsed[k - 1];
            if start < prev_end {
                return Err(CalendarError::new(
                    format!("weekly_hours.{key}[{i}]"),
                    format!(
                        "{}–{} overlaps {}–{} (weekly_hours.{key}[{j}])",
                        hhmm(start),
                        hhmm(end),
                        hhmm(prev_start),
                        hhmm(prev_end)
                    ),
                ));
            }
        }
        match day.len.checked_sub(1).map(|last| &mut day.periods[last]) {
            Some(last) if last.1 == start => last.1 = end,
            _ => {
                day.periods[day.len] = (start, end);
                day.len += 1;
            }
        }
    }
    Ok(day)
}

/// Seconds of the day of a strict `HH:MM` (00:00–23:59, or `24:00` when `end`).
fn parse_hhmm(text: &str, end: bool) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![b[0], b[1], b[3], b[4]].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let hours = i64::from((b[0] - b'0') * 10 + (b[1] - b'0'));
    let minutes = i64::from((b[3] - b'0') * 10 + (b[4] - b'0'));
    match (hours, minutes) {
        (24, 0) if end => Some(DAY),
        (0..=23, 0..=59) => Some(hours * 3600 + minutes * 60),
        _ => None,
    }
}

fn hhmm(seconds: i64) -> String {
    format!("{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

/// A strict `YYYY-MM-DD` between 1970-01-01 and 9999-12-31.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, digits(5..7)?, digits(8..10)?)?;
    (year >= 1970).then_some(date)
}

fn parse_holiday(i: usize, holiday: &HolidaySpec) -> Result<(NaiveDate, NaiveDate), CalendarError> {
    const DATE_RULE: &str = "is not a date YYYY-MM-DD between 1970-01-01 and 9999-12-31";
    let first = parse_date(&holiday.date).ok_or_else(|| {
        CalendarError::new(format!("holidays[{i}].date"), format!("{:?} {DATE_RULE}", clip(&holiday.date)))
    })?;
    let name_chars = holiday.name.chars().count();
    if holiday.name.trim().is_empty() {
        return Err(CalendarError::new(format!("holidays[{i}].name"), "must not be empty"));
    }
    if name_chars > MAX_HOLIDAY_NAME_CHARS {
        return Err(CalendarError::new(
            format!("holidays[{i}].name"),
            format!("at most {MAX_HOLIDAY_NAME_CHARS} characters (got {name_chars})"),
        ));
    }
    let Some(end_text) = &holiday.end_date else {
        return Ok((first, first));
    };
    let field = format!("holidays[{i}].end_date");
    let last = parse_date(end_text)
        .ok_or_else(|| CalendarError::new(field.clone(), format!("{:?} {DATE_RULE}", clip(end_text))))?;
    if last < first {
        return Err(CalendarError::new(field, format!("{last} is before date {first}")));
    }
    if (last - first).num_days() > MAX_HOLIDAY_SPAN_DAYS {
        return Err(CalendarError::new(
            field,
            format!("{last} is more than {MAX_HOLIDAY_SPAN_DAYS} days after date {first}"),
        ));
    }
    Ok((first, last))
}

/// At most 40 characters of client text, for messages.
fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(40).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDateTime, NaiveTime, TimeDelta, Timelike};
    use proptest::prelude::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    /// A local wall time in `tz` (must exist and be unambiguous) as UTC.
    fn local(tz: Tz, text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive).single().unwrap().with_timezone(&Utc)
    }

    fn hours(spec: &[(&str, &[(&str, &str)])]) -> WeeklyHours {
        spec.iter()
            .map(|(day, periods)| {
                (day.to_string(), periods.iter().map(|(a, b)| [a.to_string(), b.to_string()]).collect())
            })
            .collect()
    }

    fn every_day(periods: &[(&str, &str)]) -> WeeklyHours {
        let all: Vec<(&str, &[(&str, &str)])> = DAY_KEYS.iter().map(|d| (*d, periods)).collect();
        hours(&all)
    }

    fn holiday(date: &str, end_date: Option<&str>, yearly: bool) -> HolidaySpec {
        HolidaySpec { date: date.into(), end_date: end_date.map(Into::into), name: "Holiday".into(), yearly }
    }

    const SPLIT: &[(&str, &str)] = &[("09:00", "12:00"), ("13:00", "17:30")];

    fn split_berlin(holidays: &[HolidaySpec]) -> Calendar {
        let week = hours(&[("mon", SPLIT), ("tue", SPLIT), ("wed", SPLIT), ("thu", SPLIT), ("fri", SPLIT)]);
        Calendar::parse("Europe/Berlin", &week, holidays).unwrap()
    }

    fn err(time_zone: &str, week: &WeeklyHours, holidays: &[HolidaySpec]) -> CalendarError {
        Calendar::parse(time_zone, week, holidays).unwrap_err()
    }

    #[test]
    fn never_open_is_an_empty_week() {
        let cal = Calendar::never_open();
        assert_eq!(cal, Calendar::parse("UTC", &WeeklyHours::new(), &[]).unwrap());
        let t = utc("2026-05-17T10:11:12Z");
        assert!(!cal.is_working(t));
        assert_eq!(cal.next_opening(t), None);
        assert_eq!(cal.add_working_seconds(t, 60), None);
    }

    /// A calendar open throughout is one interval (no walk day by day); the
    /// walk gives the same answers, in any zone, across daylight-saving
    /// changes and up to the calendar's end.
    #[test]
    fn open_throughout_answers_as_the_walk_does() {
        let fast = Calendar::parse("Europe/Berlin", &every_day(&[("00:00", "24:00")]), &[]).unwrap();
        assert!(fast.open_throughout && Calendar::always_open().open_throughout);
        assert!(!split_berlin(&[]).open_throughout);
        let with_holiday = [holiday("2026-12-25", None, false)];
        assert!(!Calendar::parse("UTC", &every_day(&[("00:00", "24:00")]), &with_holiday).unwrap().open_throughout);
        let walk = Calendar { open_throughout: false, ..fast.clone() };
        let starts =
            ["2026-03-29T00:30:00.25Z", "2026-10-25T00:59:59Z", "1970-01-01T00:00:00Z", "9999-12-31T23:00:00Z"];
        let ends = ["2026-03-29T03:00:00Z", "2027-01-01T00:00:00.5Z", "9999-12-31T23:59:59.999999Z"];
        for start in starts.map(utc) {
            for end in ends.map(utc) {
                let between = fast.working_seconds_between(start, end);
                assert_eq!(between, walk.working_seconds_between(start, end), "{start} to {end}");
                assert_eq!(between, (end - start).num_seconds().max(0), "{start} to {end}: wall time");
            }
            for seconds in [0, 1, 3600, 86_400 * 400, 400_000_000_000] {
                assert_eq!(fast.add_working_seconds(start, seconds), walk.add_working_seconds(start, seconds));
            }
            assert_eq!(fast.next_opening(start), walk.next_opening(start));
            assert_eq!(fast.next_closing(start, TimeDelta::days(3)), walk.next_closing(start, TimeDelta::days(3)));
        }
        let last = utc("9999-12-31T23:59:00Z");
        assert_eq!(fast.add_working_seconds(last, 61), None, "past the calendar's end");
    }

    #[test]
    fn always_open_is_the_identity() {
        let cal = Calendar::always_open();
        let whole_days: WeeklyHours =
            DAY_KEYS.iter().map(|day| (day.to_string(), vec![["00:00".to_string(), "24:00".to_string()]])).collect();
        assert_eq!(cal, Calendar::parse("UTC", &whole_days, &[]).unwrap());
        let t = utc("2026-05-17T10:11:12.345678Z");
        assert!(cal.is_working(t));
        assert_eq!(cal.next_opening(t), Some(t));
        assert_eq!(cal.add_working_seconds(t, 0), Some(t));
        assert_eq!(cal.add_working_seconds(t, 1), Some(t + TimeDelta::seconds(1)));
        assert_eq!(cal.add_working_seconds(t, 86_400 * 400), Some(t + TimeDelta::days(400)));
        assert_eq!(cal.working_seconds_between(t, t + TimeDelta::days(3)), 3 * 86_400);
        assert_eq!(cal.working_seconds_between(t, t + TimeDelta::milliseconds(1999)), 1);
        assert_eq!(cal.working_seconds_between(t + TimeDelta::days(1), t), 0);
        // Across the whole range at once.
        let (first, end) = (DateTime::<Utc>::UNIX_EPOCH, utc("9999-12-31T23:59:59Z"));
        assert_eq!(cal.working_seconds_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC), RANGE_END);
        assert_eq!(cal.working_seconds_between(first, end), RANGE_END - 1);
        assert_eq!(cal.add_working_seconds(end, 1), Some(end + TimeDelta::seconds(1)));
        assert_eq!(cal.add_working_seconds(end, 2), None);
        assert!(!cal.is_working(first - TimeDelta::seconds(1)));
    }

    #[test]
    fn split_day_berlin() {
        let cal = split_berlin(&[]);
        let tz = cal.time_zone();
        let friday = local(tz, "2026-06-05 17:20");
        assert_eq!(cal.add_working_seconds(friday, 3600), Some(local(tz, "2026-06-08 09:50")));
        assert_eq!(cal.add_working_seconds(friday, 600), Some(local(tz, "2026-06-05 17:30")));
        assert_eq!(cal.working_seconds_between(friday, local(tz, "2026-06-08 09:50")), 3600);
        // Lunch is closed; the clock lands at the end of the morning, not after lunch.
        let morning = local(tz, "2026-06-08 11:00");
        assert_eq!(cal.add_working_seconds(morning, 3600), Some(local(tz, "2026-06-08 12:00")));
        assert_eq!(cal.add_working_seconds(morning, 3601), Some(local(tz, "2026-06-08 13:00") + TimeDelta::seconds(1)));
        assert!(!cal.is_working(local(tz, "2026-06-08 12:30")));
        assert_eq!(cal.next_opening(local(tz, "2026-06-08 12:30")), Some(local(tz, "2026-06-08 13:00")));
        assert_eq!(cal.next_opening(local(tz, "2026-06-06 08:00")), Some(local(tz, "2026-06-08 09:00")));
        // A week has 5 × 7.5 h.
        let monday = local(tz, "2026-06-08 00:00");
        assert_eq!(cal.working_seconds_between(monday, monday + TimeDelta::days(7)), 5 * 27_000);
        assert_eq!(cal.add_working_seconds(monday, 5 * 27_000), Some(local(tz, "2026-06-12 17:30")));
        // Sub-second starts.
        let t = local(tz, "2026-06-08 09:00") + TimeDelta::milliseconds(250);
        assert_eq!(cal.add_working_seconds(t, 10), Some(t + TimeDelta::seconds(10)));
        let noon = local(tz, "2026-06-08 11:59") + TimeDelta::milliseconds(59_500);
        assert_eq!(
            cal.add_working_seconds(noon, 1),
            Some(local(tz, "2026-06-08 13:00") + TimeDelta::milliseconds(500))
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let friday = |cal: &Calendar| local(cal.time_zone(), "2026-06-05 17:20");
        let tz = chrono_tz::Europe::Berlin;
        let single = split_berlin(&[holiday("2026-06-08", None, false)]);
        assert_eq!(single.add_working_seconds(friday(&single), 3600), Some(local(tz, "2026-06-09 09:50")));
        let range = split_berlin(&[holiday("2026-06-08", Some("2026-06-10"), false)]);
        assert_eq!(range.add_working_seconds(friday(&range), 3600), Some(local(tz, "2026-06-11 09:50")));
        let yearly = split_berlin(&[holiday("2020-06-08", None, true)]);
        assert_eq!(yearly.add_working_seconds(friday(&yearly), 3600), Some(local(tz, "2026-06-09 09:50")));
        assert!(!yearly.is_working(local(tz, "2027-06-08 10:00")));
        // A yearly range over the year end (defined in 2019, applied in 2026/27).
        let christmas = split_berlin(&[holiday("2019-12-24", Some("2020-01-02"), true)]);
        let wednesday = local(tz, "2026-12-23 17:00");
        assert_eq!(christmas.add_working_seconds(wednesday, 3600), Some(local(tz, "2027-01-04 09:30")));
        assert_eq!(christmas.working_seconds_between(wednesday, local(tz, "2027-01-04 09:30")), 3600);
        assert!(!christmas.is_working(local(tz, "2026-01-02 10:00")));
        assert!(christmas.is_working(local(tz, "2026-01-05 10:00")));
        // A yearly Feb 29: leap years only (2028-02-29 is a Tuesday).
        let leap = split_berlin(&[holiday("2024-02-29", None, true)]);
        assert!(!leap.is_working(local(tz, "2028-02-29 10:00")));
        assert!(leap.is_working(local(tz, "2027-02-26 10:00")));
        assert!(leap.is_working(local(tz, "2027-03-01 10:00")));
        // A yearly range through February covers Feb 29 in leap years even when defined in another year.
        let february = split_berlin(&[holiday("2023-02-20", Some("2023-03-03"), true)]);
        assert!(!february.is_working(local(tz, "2028-02-29 10:00")));
        assert!(february.is_working(local(tz, "2028-03-06 10:00")));
        // Overlapping, nested and adjacent fixed ranges merge.
        let merged = split_berlin(&[
            holiday("2026-06-10", Some("2026-06-12"), false),
            holiday("2026-06-08", Some("2026-06-10"), false),
            holiday("2026-06-15", None, false),
            holiday("2026-06-16", Some("2026-06-19"), false),
            holiday("2026-06-17", None, false),
        ]);
        assert_eq!(merged.fixed.len(), 2);
        assert_eq!(merged.next_opening(local(tz, "2026-06-05 18:00")), Some(local(tz, "2026-06-22 09:00")));
    }

    #[test]
    fn whole_days_and_midnight() {
        let week = hours(&[("mon", &[("00:00", "24:00")]), ("tue", &[("00:00", "01:00")])]);
        let cal = Calendar::parse("Asia/Kolkata", &week, &[]).unwrap();
        let tz = cal.time_zone();
        let monday = local(tz, "2026-06-08 00:00");
        assert_eq!(cal.working_seconds_between(monday - TimeDelta::days(1), monday + TimeDelta::days(7)), 25 * 3600);
        assert_eq!(cal.add_working_seconds(monday, 24 * 3600), Some(local(tz, "2026-06-09 00:00")));
        assert_eq!(
            cal.add_working_seconds(monday, 24 * 3600 + 1),
            Some(local(tz, "2026-06-09 00:00") + TimeDelta::seconds(1))
        );
        assert_eq!(
            cal.add_working_seconds(monday, 25 * 3600 + 1),
            Some(local(tz, "2026-06-15 00:00") + TimeDelta::seconds(1))
        );
        assert!(cal.is_working(local(tz, "2026-06-08 23:59") + TimeDelta::seconds(59)));
    }

    #[test]
    fn calendars_that_never_open() {
        let empty = Calendar::parse("Europe/Berlin", &WeeklyHours::new(), &[]).unwrap();
        let t = utc("2026-01-01T00:00:00Z");
        assert!(empty.never_opens());
        assert_eq!(empty.add_working_seconds(t, 1), None);
        assert_eq!(empty.add_working_seconds(t, 0), Some(t));
        assert_eq!(empty.next_opening(t), None);
        assert_eq!(empty.working_seconds_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC), 0);
        let all_year = Calendar::parse(
            "UTC",
            &every_day(&[("00:00", "24:00")]),
            &[holiday("2025-01-01", Some("2025-12-31"), true)],
        )
        .unwrap();
        assert!(all_year.never_opens());
        let year_and_a_day = [holiday("2025-03-01", Some("2026-03-01"), true)];
        assert!(Calendar::parse("UTC", &every_day(&[("00:00", "24:00")]), &year_and_a_day).unwrap().never_opens());
        let all_but_one = [holiday("2025-03-02", Some("2026-02-28"), true)];
        let march_first = Calendar::parse("UTC", &every_day(&[("00:00", "24:00")]), &all_but_one).unwrap();
        assert_eq!(march_first.next_opening(t), Some(utc("2026-03-01T00:00:00Z")));
        assert_eq!(all_year.next_opening(t), None);
        // Open on Mondays only, and a yearly holiday over every day but Feb 29: 2044-02-29 is a Monday.
        let rare = Calendar::parse(
            "Europe/Berlin",
            &hours(&[("mon", &[("09:00", "10:00")])]),
            &[holiday("2023-03-01", Some("2024-02-28"), true)],
        )
        .unwrap();
        assert!(!rare.never_opens());
        let tz = rare.time_zone();
        assert_eq!(rare.next_opening(t), Some(local(tz, "2044-02-29 09:00")));
        assert_eq!(rare.add_working_seconds(t, 7200), Some(local(tz, "2072-02-29 10:00")));
        // Fixed holidays till the end of the range.
        let mut until_end: Vec<HolidaySpec> = Vec::new();
        let mut first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        while until_end.len() < MAX_HOLIDAYS {
            let last = first + TimeDelta::days(MAX_HOLIDAY_SPAN_DAYS);
            until_end.push(holiday(&first.to_string(), Some(&last.to_string()), false));
            first = last + TimeDelta::days(1);
        }
        let closed = Calendar::parse("UTC", &every_day(&[("00:00", "24:00")]), &until_end).unwrap();
        assert_eq!(closed.next_opening(t), Some(utc(&format!("{first}T00:00:00Z"))));
    }

    #[test]
    fn dst_berlin_and_new_york_open_all_day() {
        let days = [
            ("Europe/Berlin", [("2026-03-29", 23), ("2026-10-25", 25), ("2026-03-08", 24), ("2026-11-01", 24)]),
            ("America/New_York", [("2026-03-29", 24), ("2026-10-25", 24), ("2026-03-08", 23), ("2026-11-01", 25)]),
        ];
        for (zone, lengths) in days {
            let cal = Calendar::parse(zone, &every_day(&[("00:00", "24:00")]), &[]).unwrap();
            let tz = cal.time_zone();
            for (day, length) in lengths {
                let from = local(tz, &format!("{day} 00:00"));
                let next = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap() + TimeDelta::days(1);
                let to = local(tz, &format!("{next} 00:00"));
                assert_eq!((to - from).num_hours(), length, "{zone} {day}");
                assert_eq!(cal.working_seconds_between(from, to), length * 3600, "{zone} {day}");
                assert_eq!(cal.add_working_seconds(from, length * 3600), Some(to), "{zone} {day}");
                assert_eq!(
                    cal.add_working_seconds(from + TimeDelta::minutes(90), 3600),
                    Some(from + TimeDelta::minutes(150))
                );
            }
        }
    }

    #[test]
    fn dst_periods_over_the_changed_hours() {
        let night = every_day(&[("01:00", "04:00")]);
        let berlin = Calendar::parse("Europe/Berlin", &night, &[]).unwrap();
        // Spring: 01:00 CET = 00:00Z, 02:00 CET → 03:00 CEST at 01:00Z, 04:00 CEST = 02:00Z: two hours.
        let (from, to) = (utc("2026-03-28T22:00:00Z"), utc("2026-03-29T21:00:00Z"));
        assert_eq!(berlin.working_seconds_between(from, to), 2 * 3600);
        assert_eq!(berlin.next_opening(from), Some(utc("2026-03-29T00:00:00Z")));
        assert_eq!(berlin.add_working_seconds(from, 3600), Some(utc("2026-03-29T01:00:00Z")));
        assert_eq!(berlin.add_working_seconds(from, 5400), Some(utc("2026-03-29T01:30:00Z")));
        assert_eq!(berlin.add_working_seconds(from, 7200), Some(utc("2026-03-29T02:00:00Z")));
        assert_eq!(berlin.add_working_seconds(from, 7201), Some(utc("2026-03-29T23:00:01Z")));
        // Autumn: 01:00 CEST = 23:00Z, 03:00 CEST → 02:00 CET at 01:00Z, 04:00 CET = 03:00Z: four hours.
        let (from, to) = (utc("2026-10-24T21:00:00Z"), utc("2026-10-25T22:00:00Z"));
        assert_eq!(berlin.working_seconds_between(from, to), 4 * 3600);
        assert_eq!(berlin.add_working_seconds(from, 4 * 3600), Some(utc("2026-10-25T03:00:00Z")));
        assert!(berlin.is_working(utc("2026-10-25T00:30:00Z")) && berlin.is_working(utc("2026-10-25T01:30:00Z")));

        let new_york = Calendar::parse("America/New_York", &night, &[]).unwrap();
        // Spring: 01:00 EST = 06:00Z, 02:00 EST → 03:00 EDT at 07:00Z, 04:00 EDT = 08:00Z.
        let (from, to) = (utc("2026-03-08T04:00:00Z"), utc("2026-03-09T04:00:00Z"));
        assert_eq!(new_york.working_seconds_between(from, to), 2 * 3600);
        assert_eq!(new_york.add_working_seconds(from, 7200), Some(utc("2026-03-08T08:00:00Z")));
        // Autumn: 01:00 EDT = 05:00Z, 02:00 EDT → 01:00 EST at 06:00Z, 04:00 EST = 09:00Z.
        let (from, to) = (utc("2026-11-01T04:00:00Z"), utc("2026-11-02T04:00:00Z"));
        assert_eq!(new_york.working_seconds_between(from, to), 4 * 3600);
        assert_eq!(new_york.next_opening(from), Some(utc("2026-11-01T05:00:00Z")));
        assert_eq!(new_york.add_working_seconds(from, 3 * 3600), Some(utc("2026-11-01T08:00:00Z")));

        // A period wholly inside the skipped hour never opens that day.
        let gap = Calendar::parse("Europe/Berlin", &every_day(&[("02:15", "02:45")]), &[]).unwrap();
        assert_eq!(gap.working_seconds_between(utc("2026-03-28T22:00:00Z"), utc("2026-03-29T21:00:00Z")), 0);
        assert_eq!(gap.next_opening(utc("2026-03-28T22:00:00Z")), Some(utc("2026-03-30T00:15:00Z")));
    }

    #[test]
    fn validation_names_the_field() {
        let ok = every_day(&[("09:00", "17:00")]);
        let e = err("Mars/Olympus", &ok, &[]);
        assert_eq!(e.field, "time_zone");
        assert!(e.message.contains("Mars/Olympus"), "{e}");
        assert_eq!(err("", &ok, &[]).field, "time_zone");
        assert_eq!(err("UTC", &hours(&[("monday", &[("09:00", "10:00")])]), &[]).field, "weekly_hours.monday");
        let e = err("UTC", &hours(&[("mon", &[("13:00", "17:00"), ("09:00", "12:00"), ("11:30", "12:30")])]), &[]);
        assert_eq!(e.field, "weekly_hours.mon[2]");
        assert!(e.message.contains("overlaps"), "{e}");
        assert_eq!(
            err("UTC", &hours(&[("tue", &[("09:00", "10:00"), ("9:30", "10:00")])]), &[]).field,
            "weekly_hours.tue[1]"
        );
        for bad in ["24:00", "23:60", "9:00", "09:00:00", "0900", "ab:cd", "-1:00", "+9:00"] {
            assert_eq!(err("UTC", &hours(&[("wed", &[(bad, "23:59")])]), &[]).field, "weekly_hours.wed[0]", "{bad}");
        }
        assert_eq!(err("UTC", &hours(&[("wed", &[("09:00", "24:01")])]), &[]).field, "weekly_hours.wed[0]");
        let e = err("UTC", &hours(&[("thu", &[("10:00", "10:00")])]), &[]);
        assert_eq!(e.field, "weekly_hours.thu[0]");
        assert!(e.message.contains("after"), "{e}");
        assert_eq!(err("UTC", &hours(&[("thu", &[("10:00", "09:00")])]), &[]).field, "weekly_hours.thu[0]");
        let many: Vec<(String, String)> = (0..11).map(|h| (format!("{h:02}:00"), format!("{h:02}:30"))).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(err("UTC", &hours(&[("fri", &many)]), &[]).field, "weekly_hours.fri");
        assert!(Calendar::parse("UTC", &hours(&[("fri", &many[..10])]), &[]).is_ok());
        // Touching periods, unsorted input, 24:00 and empty days are fine.
        let fine = hours(&[("sat", &[("12:00", "24:00"), ("00:00", "12:00")]), ("sun", &[])]);
        let cal = Calendar::parse("UTC", &fine, &[]).unwrap();
        assert_eq!(cal.week[5].periods(), &[(0, DAY)]);

        let h = |date: &str, end: Option<&str>| vec![holiday(date, end, false)];
        let e = err("UTC", &ok, &h("2026-05-10", Some("2026-05-09")));
        assert_eq!(e.field, "holidays[0].end_date");
        assert!(e.message.contains("before"), "{e}");
        assert_eq!(err("UTC", &ok, &h("2026-01-01", Some("2027-01-03"))).field, "holidays[0].end_date");
        assert!(Calendar::parse("UTC", &ok, &h("2026-01-01", Some("2027-01-02"))).is_ok());
        for bad in ["1969-12-31", "2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "+2026-01-01", "10000-01-01", ""]
        {
            assert_eq!(err("UTC", &ok, &h(bad, None)).field, "holidays[0].date", "{bad}");
        }
        assert_eq!(err("UTC", &ok, &h("2026-01-01", Some("x"))).field, "holidays[0].end_date");
        assert!(Calendar::parse("UTC", &ok, &h("9999-12-31", None)).is_ok());
        let mut named = h("2026-01-01", None);
        named.push(HolidaySpec { name: " ".into(), ..holiday("2026-01-02", None, false) });
        assert_eq!(err("UTC", &ok, &named).field, "holidays[1].name");
        named[1].name = "é".repeat(101);
        assert_eq!(err("UTC", &ok, &named).field, "holidays[1].name");
        named[1].name = "é".repeat(100);
        assert!(Calendar::parse("UTC", &ok, &named).is_ok());
        let too_many = vec![holiday("2026-01-01", None, false); MAX_HOLIDAYS + 1];
        assert_eq!(err("UTC", &ok, &too_many).field, "holidays");
        assert!(Calendar::parse("UTC", &ok, &too_many[1..]).is_ok());
    }

    #[test]
    fn wire_shapes() {
        let week: WeeklyHours = serde_json::from_str(r#"{"mon": [["09:00", "12:00"], ["13:00", "17:30"]]}"#).unwrap();
        let holidays: Vec<HolidaySpec> = serde_json::from_str(
            r#"[{"date": "2026-12-24", "end_date": "2027-01-02", "name": "Christmas", "yearly": true},
                {"date": "2026-05-01", "name": "May Day"}]"#,
        )
        .unwrap();
        assert_eq!(
            holidays[1],
            HolidaySpec { date: "2026-05-01".into(), end_date: None, name: "May Day".into(), yearly: false }
        );
        let back = serde_json::to_value(&holidays).unwrap();
        assert_eq!(back[1], serde_json::json!({"date": "2026-05-01", "name": "May Day", "yearly": false}));
        assert_eq!(serde_json::from_value::<Vec<HolidaySpec>>(back).unwrap(), holidays);
        assert!(Calendar::parse("Europe/Berlin", &week, &holidays).is_ok());
        assert!(serde_json::from_str::<HolidaySpec>(r#"{"date":"2026-01-01","name":"x","extra":1}"#).is_err());
        let e = CalendarError::new("time_zone", "unknown");
        assert_eq!(e.to_string(), "time_zone: unknown");
    }

    // ---- property tests against a brute force over minutes ----

    const ZONES: [&str; 5] = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"];
    /// Days of 2026 near offset changes of the zones above, and the year end.
    const ANCHORS: [(u32, u32); 7] = [(3, 8), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1), (12, 31)];

    /// The definition, read directly by the brute force.
    #[derive(Debug, Clone)]
    struct Case {
        zone: &'static str,
        week: WeeklyHours,
        holidays: Vec<HolidaySpec>,
    }

    impl Case {
        /// The SEMANTICS, read straight off the specs via chrono-tz.
        fn working(&self, t: DateTime<Utc>) -> bool {
            let tz: Tz = self.zone.parse().unwrap();
            let wall = t.with_timezone(&tz);
            let date = wall.date_naive();
            let md = (date.month(), date.day());
            for h in &self.holidays {
                let first = NaiveDate::parse_from_str(&h.date, "%Y-%m-%d").unwrap();
                let last = h.end_date.as_ref().map_or(first, |e| NaiveDate::parse_from_str(e, "%Y-%m-%d").unwrap());
                let hit = if !h.yearly {
                    first <= date && date <= last
                } else if (last - first).num_days() >= 365 {
                    true
                } else {
                    let (a, b) = ((first.month(), first.day()), (last.month(), last.day()));
                    if a <= b { a <= md && md <= b } else { md >= a || md <= b }
                };
                if hit {
                    return false;
                }
            }
            let key = DAY_KEYS[date.weekday().num_days_from_monday() as usize];
            let second = wall.time().num_seconds_from_midnight();
            let secs = |s: &str| {
                let (h, m) = s.split_once(':').unwrap();
                h.parse::<u32>().unwrap() * 3600 + m.parse::<u32>().unwrap() * 60
            };
            self.week.get(key).is_some_and(|ps| ps.iter().any(|[a, b]| secs(a) <= second && second < secs(b)))
        }

        fn calendar(&self) -> Calendar {
            Calendar::parse(self.zone, &self.week, &self.holidays).unwrap()
        }
    }

    fn minute_text(m: u32) -> String {
        format!("{:02}:{:02}", m / 60, m % 60)
    }

    /// A random day: 0–3 periods from sorted distinct boundaries, biased to midnight and the DST hours.
    fn day_strategy() -> impl Strategy<Value = Vec<[String; 2]>> {
        let boundary = prop_oneof![4 => 0u32..=1440, 1 => Just(0u32), 1 => Just(1440u32), 3 => 60u32..=240];
        prop::collection::vec(boundary, 0..=6).prop_map(|mut b| {
            b.sort_unstable();
            b.dedup();
            b.chunks_exact(2).map(|p| [minute_text(p[0]), minute_text(p[1])]).collect()
        })
    }

    /// (zone, start, case)
    fn case_strategy() -> impl Strategy<Value = (Case, DateTime<Utc>)> {
        let start = prop_oneof![
            (0i64..365 * 1440).prop_map(|m| utc("2026-01-01T00:00:00Z") + TimeDelta::minutes(m)),
            (0..ANCHORS.len(), -4 * 1440i64..4 * 1440).prop_map(|(i, m)| {
                let (month, day) = ANCHORS[i];
                NaiveDate::from_ymd_opt(2026, month, day).unwrap().and_time(NaiveTime::MIN).and_utc()
                    + TimeDelta::minutes(m)
            }),
        ];
        // (days after start, length in days, yearly, years back)
        let holiday = (-3i64..20, 0i64..4, any::<bool>(), 0i32..4);
        (0..ZONES.len(), prop::array::uniform7(day_strategy()), prop::collection::vec(holiday, 0..=3), start).prop_map(
            |(zone, days, hol, start)| {
                let week = DAY_KEYS.iter().zip(days).map(|(k, p)| (k.to_string(), p)).collect();
                let holidays = hol
                    .into_iter()
                    .filter_map(|(after, len, yearly, back)| {
                        let mut first = start.date_naive() + TimeDelta::days(after);
                        if yearly {
                            first = first.with_year(first.year() - back)?;
                        }
                        let last = first + TimeDelta::days(len);
                        Some(HolidaySpec {
                            date: first.to_string(),
                            end_date: (len > 0).then(|| last.to_string()),
                            name: "h".into(),
                            yearly,
                        })
                    })
                    .collect();
                (Case { zone: ZONES[zone], week, holidays }, start)
            },
        )
    }

    fn config() -> ProptestConfig {
        // No regression files next to the sources.
        ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// Brute force: walk minutes from `start` (working status is constant within a
    /// minute for these zones and minute periods).
    const MAX_WALK_MINUTES: usize = 60 * 1440;

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn matches_brute_force(
            (case, start) in case_strategy(),
            n in 0usize..=3000,
            pick in any::<prop::sample::Index>(),
        ) {
            let cal = case.calendar();
            let mut prefix = vec![0usize];
            let mut t = start;
            while prefix[prefix.len() - 1] < n && prefix.len() <= MAX_WALK_MINUTES {
                let w = case.working(t);
                prop_assert_eq!(cal.is_working(t), w, "is_working at {}", t);
                prefix.push(prefix[prefix.len() - 1] + usize::from(w));
                t += TimeDelta::minutes(1);
            }
            let walked = prefix.len() - 1;
            let secs = |m: usize| i64::try_from(m * 60).unwrap();
            if prefix[walked] == n {
                // (2) the brute-force answer; (1) the exact inverse.
                prop_assert_eq!(cal.add_working_seconds(start, secs(n)), Some(t));
                prop_assert_eq!(cal.working_seconds_between(start, t), secs(n));
            } else {
                let cap = start + TimeDelta::minutes(i64::try_from(walked).unwrap());
                prop_assert!(cal.add_working_seconds(start, secs(n)).is_none_or(|r| r > cap));
            }
            // (1) any prefix of the walk.
            let m = pick.index(walked + 1);
            let to = start + TimeDelta::minutes(i64::try_from(m).unwrap());
            prop_assert_eq!(cal.working_seconds_between(start, to), secs(prefix[m]));
            // next_opening: the first working minute of the walk.
            if let Some(first) = (0..walked).find(|&i| prefix[i + 1] > prefix[i]) {
                let expected = start + TimeDelta::minutes(i64::try_from(first).unwrap());
                prop_assert_eq!(cal.next_opening(start), Some(expected));
            }
        }

        #[test]
        fn monotonic_and_exact_to_the_nanosecond(
            (case, start) in case_strategy(),
            later in 0i64..3 * 86_400_000_000_000,
            jitter in 0i64..60_000_000_000,
            n in 0i64..=3000 * 60,
        ) {
            let cal = case.calendar();
            let s1 = start + TimeDelta::nanoseconds(jitter);
            let s2 = s1 + TimeDelta::nanoseconds(later);
            let (r1, r2) = (cal.add_working_seconds(s1, n), cal.add_working_seconds(s2, n));
            // (3) monotonic (None = never).
            let ordered = match (r1, r2) {
                (Some(a), Some(b)) => a <= b,
                (None, later) => later.is_none(),
                (Some(_), None) => true,
            };
            prop_assert!(ordered, "{:?} then {:?}", r1, r2);
            for (s, r) in [(s1, r1), (s2, r2)] {
                let Some(r) = r else { continue };
                prop_assert!(r >= s);
                prop_assert_eq!(cal.working_seconds_between(s, r), n);
                if n > 0 {
                    // The earliest such instant: just before it the count is short, and that was working time.
                    let before = r - TimeDelta::nanoseconds(1);
                    prop_assert_eq!(cal.working_seconds_between(s, before), n - 1);
                    prop_assert!(cal.is_working(before));
                    prop_assert!(case.working(before));
                }
            }
            let open = cal.next_opening(s2);
            if let Some(o) = open {
                prop_assert!(cal.is_working(o) && case.working(o));
                prop_assert_eq!(cal.working_seconds_between(s2, o), 0);
                let before = o - TimeDelta::nanoseconds(1);
                prop_assert!(before < s2 || (!cal.is_working(before) && !case.working(before)));
            }
        }
    }
}
