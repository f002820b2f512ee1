//! Schedules for background runs: the `[[schedules]]` configuration and a small 5-field cron.
//!
//! It owns parsing and validating cron expressions and computing when one fires next. It must not
//! start runs, read clocks or sleep: callers pass the current time in and get the next fire time
//! back, so every rule here is a pure function with exhaustive tests.
//!
//! **All times are UTC** (Unix seconds). There is no time-zone database; `0 9 * * *` fires at
//! 09:00 UTC. That keeps daylight-saving ambiguity (skipped and repeated local hours) out entirely.
//!
//! Expressions are the classic five fields, `minute hour day-of-month month day-of-week`:
//!
//! | field | values | names |
//! |---|---|---|
//! | minute | 0-59 | |
//! | hour | 0-23 | |
//! | day of month | 1-31 | |
//! | month | 1-12 | `jan`-`dec` |
//! | day of week | 0-7 (0 and 7 are Sunday) | `sun`-`sat` |
//!
//! Each field is `*` or a comma list of `n`, `a-b`, `*/s` or `a-b/s` (names are case-insensitive
//! and work wherever a number does). `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//! `@midnight` and `@hourly` are accepted as shorthands. As in Vixie cron, when both day fields are
//! restricted (neither starts with `*`) a day matches if *either* does (`0 0 1 * mon` is the 1st of
//! every month and every Monday); when one starts with `*`, only the other one counts.
//!
//! An expression that can never fire (`0 0 30 2 *`) is refused when it is parsed.
//!
//! Every schedule has a name, unique in the list: the one written (`name = "digest"`) or
//! `schedule-<n>` for the n-th entry (1-based) without one. It labels the schedule's runs in logs
//! and in the transcript ([`Schedule::origin`]).

use std::fmt;
use std::str::FromStr;

use app::wire::{SessionKey, SessionKeyError, MAX_MESSAGE_BYTES};
use serde::Deserialize;

/// One `[[schedules]]` entry.
///
/// ```toml
/// [[schedules]]
/// name = "ops-digest"        # optional; `schedule-<n>` when left out
/// cron = "*/5 * * * *"
/// session = "ops-digest"
/// prompt = "Summarise what changed and send it to webhook ops."
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// A label for logs and the transcript: 1-64 of `A-Z a-z 0-9 _ -`, unique in the list.
    /// [`parse_all`] names an entry without one `schedule-<n>` (1-based position).
    #[serde(default)]
    pub name: Option<String>,
    /// When, in UTC; see the module docs.
    pub cron: String,
    /// The session key whose Codex thread the background run uses.
    pub session: String,
    /// The user message the run starts with.
    pub prompt: String,
}

/// A validated schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Unique in the list; see [`ScheduleConfig::name`].
    pub name: String,
    pub cron: Cron,
    pub session: SessionKey,
    pub prompt: String,
}

/// Why a `[[schedules]]` entry is not usable. One line, naming the key at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("cron {expr:?}: {source}")]
    Cron { expr: String, source: CronError },
    #[error("session {key:?}: {source}")]
    Session {
        key: String,
        source: SessionKeyError,
    },
    #[error("prompt is empty")]
    EmptyPrompt,
    #[error("prompt is longer than {MAX_MESSAGE_BYTES} bytes")]
    LongPrompt,
    #[error("name {0:?}: a name is 1-{MAX_NAME_CHARS} letters, digits, '-' and '_'")]
    Name(String),
    #[error("name {0:?} is used by an earlier schedule")]
    DuplicateName(String),
}

/// The longest schedule name: enough to say what it is, short enough for a log line.
pub const MAX_NAME_CHARS: usize = 64;

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Schedule {
    /// Who a run of this schedule came from, as the transcript shows it.
    pub fn origin(&self) -> String {
        format!("schedule {}", self.name)
    }
}

/// A [`ScheduleError`] with the position of its entry in the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("schedules[{index}]: {error}")]
pub struct ScheduleListError {
    /// 0-based, in file order.
    pub index: usize,
    pub error: ScheduleError,
}

impl ScheduleConfig {
    /// Validates one entry on its own. A missing name becomes `default_name`; uniqueness is
    /// [`parse_all`]'s business, since only the list knows the other names.
    pub fn parse(&self, default_name: &str) -> Result<Schedule, ScheduleError> {
        let name = self.name.as_deref().unwrap_or(default_name);
        if !valid_name(name) {
            return Err(ScheduleError::Name(name.to_owned()));
        }
        let cron = self.cron.parse().map_err(|source| ScheduleError::Cron {
            expr: self.cron.clone(),
            source,
        })?;
        let session =
            SessionKey::parse(&self.session).map_err(|source| ScheduleError::Session {
                key: self.session.clone(),
                source,
            })?;
        if self.prompt.trim().is_empty() {
            return Err(ScheduleError::EmptyPrompt);
        }
        // The same limit as a typed message: a schedule is a person typing on a timer.
        if self.prompt.len() > MAX_MESSAGE_BYTES {
            return Err(ScheduleError::LongPrompt);
        }
        Ok(Schedule {
            name: name.to_owned(),
            cron,
            session,
            prompt: self.prompt.clone(),
        })
    }
}

/// Validates every entry and names the unnamed ones `schedule-<n>` (1-based); the first bad
/// entry is the error. A repeated name is reported at its later entry, so the first one stands.
pub fn parse_all(configs: &[ScheduleConfig]) -> Result<Vec<Schedule>, ScheduleListError> {
    let mut out: Vec<Schedule> = Vec::with_capacity(configs.len());
    for (index, c) in configs.iter().enumerate() {
        let fail = |error| ScheduleListError { index, error };
        let schedule = c.parse(&format!("schedule-{}", index + 1)).map_err(fail)?;
        // Lists are a handful of entries; a linear scan beats a set here.
        if out.iter().any(|s| s.name == schedule.name) {
            return Err(fail(ScheduleError::DuplicateName(schedule.name)));
        }
        out.push(schedule);
    }
    Ok(out)
}

/// Why a cron expression does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("expected 5 fields (minute hour day-of-month month day-of-week), found {0}")]
    FieldCount(usize),
    #[error("unknown shorthand {0:?} (use @yearly, @monthly, @weekly, @daily or @hourly)")]
    UnknownMacro(String),
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("never fires: no selected month has the selected day of month")]
    Never,
}

/// A parsed cron expression. Each field is a bit set of the values it allows.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    /// Bits 0-6, Sunday = 0 (a 7 in the expression sets bit 0).
    days_of_week: u64,
    /// The day-of-month field starts with `*` (Vixie's rule for combining the two day fields).
    dom_star: bool,
    dow_star: bool,
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    name: "day of week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl FieldSpec {
    fn err(&self, reason: String) -> CronError {
        CronError::Field {
            field: self.name,
            reason,
        }
    }

    fn value(&self, raw: &str) -> Result<u32, CronError> {
        if let Ok(n) = raw.parse::<u32>() {
            if n < self.min || n > self.max {
                return Err(self.err(format!("{n} is out of range {}-{}", self.min, self.max)));
            }
            return Ok(n);
        }
        let lower = raw.to_ascii_lowercase();
        match self.names.iter().position(|n| *n == lower) {
            // Names count from the field's minimum: jan = 1, sun = 0.
            Some(i) => Ok(self.min + u32::try_from(i).unwrap_or(0)),
            None if raw.is_empty() => Err(self.err("a value is missing".to_owned())),
            None if self.names.is_empty() => Err(self.err(format!("{raw:?} is not a number"))),
            None => Err(self.err(format!("{raw:?} is not a number or a name"))),
        }
    }

    /// Parses one field into a bit set.
    fn parse(&self, field: &str) -> Result<u64, CronError> {
        let mut bits = 0u64;
        for item in field.split(',') {
            let (base, step) = match item.split_once('/') {
                Some((base, step)) => {
                    let step: u32 = step
                        .parse()
                        .map_err(|_| self.err(format!("step {step:?} is not a number")))?;
                    if step == 0 {
                        return Err(self.err("a step must be at least 1".to_owned()));
                    }
                    if step > self.max {
                        return Err(self.err(format!("a step must be at most {}", self.max)));
                    }
                    (base, Some(step))
                }
                None => (item, None),
            };
            let (lo, hi) = if base == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = base.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(self.err(format!("range {base} runs backwards")));
                }
                (a, b)
            } else {
                if step.is_some() {
                    return Err(self.err(format!(
                        "{item:?}: a step needs a range or * before it (e.g. */15, 0-30/5)"
                    )));
                }
                let v = self.value(base)?;
                (v, v)
            };
            for v in (lo..=hi).step_by(step.unwrap_or(1) as usize) {
                bits |= 1 << v;
            }
        }
        Ok(bits)
    }
}

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(expr: &str) -> Result<Cron, CronError> {
        let trimmed = expr.trim();
        let expanded = if trimmed.starts_with('@') {
            match trimmed.to_ascii_lowercase().as_str() {
                "@yearly" | "@annually" => "0 0 1 1 *",
                "@monthly" => "0 0 1 * *",
                "@weekly" => "0 0 * * 0",
                "@daily" | "@midnight" => "0 0 * * *",
                "@hourly" => "0 * * * *",
                _ => return Err(CronError::UnknownMacro(trimmed.to_owned())),
            }
        } else {
            trimmed
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, dom, month, dow] = fields[..] else {
            return Err(CronError::FieldCount(fields.len()));
        };
        let mut days_of_week = DAY_OF_WEEK.parse(dow)?;
        // 7 is Sunday too.
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let cron = Cron {
            // One space between fields: `split_whitespace` also splits at CR, VT, FF, U+0085 and
            // U+2028, which the start-up line printing this would otherwise pass to the terminal.
            source: trimmed.split_whitespace().collect::<Vec<_>>().join(" "),
            minutes: MINUTE.parse(minute)?,
            hours: HOUR.parse(hour)?,
            days_of_month: DAY_OF_MONTH.parse(dom)?,
            months: MONTH.parse(month)?,
            days_of_week,
            dom_star: dom.starts_with('*'),
            dow_star: dow.starts_with('*'),
        };
        if !cron.can_fire() {
            return Err(CronError::Never);
        }
        Ok(cron)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.source)
    }
}

/// 9999-12-31T23:59:59Z: beyond it there is no next time worth computing.
const MAX_SECS: u64 = 253_402_300_799;
/// The longest a valid expression can wait between fires, in years. With both day fields
/// restricted (the OR rule) some weekday fires within a year; so the worst is a day of month alone,
/// `0 0 29 2 *`, across a century that skips its leap year (2096 to 2104: 8 years).
const SEARCH_YEARS: i64 = 9;

impl Cron {
    /// The expression as written, with one space between fields (so it is printable ASCII).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first fire time strictly after `after`, in Unix seconds (UTC, always on a whole
    /// minute). `None` only past the year 9999.
    pub fn next_after(&self, after: u64) -> Option<u64> {
        if after >= MAX_SECS {
            return None;
        }
        let mut t = (after / 60 + 1) * 60;
        let (start_year, ..) = civil_from_days(to_i64(t / 86_400));
        loop {
            if t > MAX_SECS {
                return None;
            }
            let days = to_i64(t / 86_400);
            let (y, m, d) = civil_from_days(days);
            if y > start_year + SEARCH_YEARS {
                return None;
            }
            if !has(self.months, m) {
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                t = to_u64(days_from_civil(ny, nm, 1)) * 86_400;
                continue;
            }
            if !self.day_matches(d, weekday(days)) {
                t = to_u64(days + 1) * 86_400;
                continue;
            }
            let secs = t % 86_400;
            let (hour, minute) = (secs / 3_600, (secs % 3_600) / 60);
            if !has(self.hours, to_u32(hour)) {
                t = to_u64(days) * 86_400 + (hour + 1) * 3_600;
                continue;
            }
            if !has(self.minutes, to_u32(minute)) {
                t += 60;
                continue;
            }
            return Some(t);
        }
    }

    /// Vixie cron: both day fields restricted means either may match; otherwise both must (and
    /// the `*` one always does).
    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = has(self.days_of_month, day);
        let dow = has(self.days_of_week, weekday);
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// Whether some day can ever match: only the AND case with a restricted day of month can be
    /// impossible (30 February).
    fn can_fire(&self) -> bool {
        if self.dom_star || !self.dow_star {
            return true;
        }
        (1..=12).filter(|m| has(self.months, *m)).any(|m| {
            // 29 for February: leap years come round.
            let longest = days_in_month(2000, m);
            (1..=longest).any(|d| has(self.days_of_month, d))
        })
    }
}

fn has(bits: u64, v: u32) -> bool {
    v < 64 && bits & (1 << v) != 0
}

/// `unix` (seconds) as `YYYY-MM-DD HH:MM UTC`, for people reading the start-up lines and logs.
pub fn format_utc(unix: u64) -> String {
    let secs = to_i64(unix);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let minute_of_day = secs.rem_euclid(86_400) / 60;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Day of the week of a day count since 1970-01-01 (a Thursday); Sunday = 0.
fn weekday(days: i64) -> u32 {
    u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month 1-12, day 1-31).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_utc_is_a_calendar_date_and_minute() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 23:59:59 UTC, a leap day.
        assert_eq!(format_utc(1_709_251_199), "2024-02-29 23:59 UTC");
        assert_eq!(format_utc(1_709_251_200), "2024-03-01 00:00 UTC");
    }

    /// Unix seconds of a UTC date and time.
    fn at(y: i64, mo: u32, d: u32, h: u64, mi: u64) -> u64 {
        to_u64(days_from_civil(y, mo, d)) * 86_400 + h * 3_600 + mi * 60
    }

    fn cron(expr: &str) -> Cron {
        expr.parse()
            .unwrap_or_else(|e| panic!("{expr:?} should parse: {e}"))
    }

    fn next(expr: &str, after: u64) -> u64 {
        cron(expr).next_after(after).unwrap()
    }

    /// The next `n` fire times after `after`.
    fn series(expr: &str, after: u64, n: usize) -> Vec<u64> {
        let c = cron(expr);
        let mut out = Vec::new();
        let mut t = after;
        for _ in 0..n {
            t = c.next_after(t).unwrap();
            out.push(t);
        }
        out
    }

    #[test]
    fn calendar_arithmetic_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(at(2000, 3, 1, 0, 0), 951_868_800);
        assert_eq!(at(2024, 2, 29, 12, 0), 1_709_208_000);
        assert_eq!(at(2038, 1, 19, 3, 14), 2_147_483_640);
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
        assert_eq!(weekday(days_from_civil(2024, 2, 29)), 4);
        assert_eq!(weekday(days_from_civil(2026, 11, 21)), 6, "a Saturday");
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2024, 2), 29);
    }

    #[test]
    fn next_is_strictly_after_and_on_a_whole_minute() {
        let t = at(2026, 11, 21, 10, 0);
        assert_eq!(next("* * * * *", t), t + 60);
        assert_eq!(next("* * * * *", t + 59), t + 60);
        assert_eq!(next("* * * * *", t + 1), t + 60);
        assert_eq!(next("*/5 * * * *", t), t + 300);
        assert_eq!(next("*/5 * * * *", t + 301), t + 600);
        assert_eq!(next("0 * * * *", t), t + 3_600);
        assert_eq!(
            series("*/20 * * * *", t, 4),
            vec![t + 1_200, t + 2_400, t + 3_600, t + 4_800]
        );
    }

    #[test]
    fn lists_ranges_and_steps() {
        let t = at(2026, 11, 21, 10, 0);
        assert_eq!(
            series("5,10-12,50-59/4 * * * *", t, 7),
            [5, 10, 11, 12, 50, 54, 58]
                .iter()
                .map(|m| t + m * 60)
                .collect::<Vec<_>>()
        );
        assert_eq!(next("30 9-17/4 * * *", t), at(2026, 11, 21, 13, 30));
        assert_eq!(next("0 0 * * *", t), at(2026, 11, 22, 0, 0));
        // The last minute of the year rolls into the next year.
        assert_eq!(
            next("0 0 1 1 *", at(2026, 12, 31, 23, 59)),
            at(2027, 1, 1, 0, 0)
        );
        assert_eq!(
            next("59 23 31 12 *", at(2026, 12, 31, 23, 58)),
            at(2026, 12, 31, 23, 59)
        );
    }

    #[test]
    fn month_ends_skip_months_without_the_day() {
        // The 31st: January, March, May, July, ...
        assert_eq!(
            series("0 0 31 * *", at(2026, 1, 1, 0, 0), 4),
            vec![
                at(2026, 1, 31, 0, 0),
                at(2026, 3, 31, 0, 0),
                at(2026, 5, 31, 0, 0),
                at(2026, 7, 31, 0, 0),
            ]
        );
        assert_eq!(
            series("0 12 30 * *", at(2026, 1, 30, 12, 0), 2),
            vec![at(2026, 3, 30, 12, 0), at(2026, 4, 30, 12, 0)]
        );
    }

    #[test]
    fn leap_days_follow_the_gregorian_rules() {
        assert_eq!(
            next("0 0 29 2 *", at(2026, 1, 1, 0, 0)),
            at(2028, 2, 29, 0, 0)
        );
        assert_eq!(
            next("0 0 29 2 *", at(2024, 2, 29, 0, 0)),
            at(2028, 2, 29, 0, 0)
        );
        // 2100 is not a leap year: eight years from 2096 to 2104.
        assert_eq!(
            next("0 0 29 2 *", at(2096, 3, 1, 0, 0)),
            at(2104, 2, 29, 0, 0)
        );
        // 2000 is.
        assert_eq!(
            next("0 0 29 2 *", at(1999, 1, 1, 0, 0)),
            at(2000, 2, 29, 0, 0)
        );
        // Every day of February 2024 then March 1st.
        assert_eq!(
            next("0 0 * * *", at(2024, 2, 28, 0, 0)),
            at(2024, 2, 29, 0, 0)
        );
        assert_eq!(
            next("0 0 * * *", at(2023, 2, 28, 0, 0)),
            at(2023, 3, 1, 0, 0)
        );
    }

    #[test]
    fn day_fields_combine_as_in_vixie_cron() {
        // 2026-11-21 is a Saturday; the next Monday is the 23rd, the next 1st is December 1st.
        let sat = at(2026, 11, 21, 12, 0);
        // Both restricted: either matches.
        assert_eq!(
            series("0 0 1 * mon", sat, 3),
            vec![
                at(2026, 11, 23, 0, 0),
                at(2026, 11, 30, 0, 0),
                at(2026, 12, 1, 0, 0),
            ]
        );
        // Only the day of week restricted.
        assert_eq!(next("0 0 * * mon", sat), at(2026, 11, 23, 0, 0));
        // Only the day of month restricted.
        assert_eq!(next("0 0 1 * *", sat), at(2026, 12, 1, 0, 0));
        // A field starting with `*` counts as unrestricted even with a step, so this is days
        // 1, 11, 21, 31 AND Mondays (the OR rule would give Monday the 23rd).
        assert_eq!(next("0 0 */10 * mon", sat), at(2026, 12, 21, 0, 0));
        // 7 and 0 are both Sunday; names and numbers mix.
        assert_eq!(next("0 0 * * 7", sat), at(2026, 11, 22, 0, 0));
        assert_eq!(next("0 0 * * 0", sat), at(2026, 11, 22, 0, 0));
        assert_eq!(next("0 0 * * MON-fri", sat), at(2026, 11, 23, 0, 0));
        assert_eq!(next("0 0 * * 5-7", sat), at(2026, 11, 22, 0, 0));
        assert_eq!(next("0 0 1 feb,Jun *", sat), at(2027, 2, 1, 0, 0));
        // 30 February with a day of week: the OR rule still fires on the weekday.
        assert_eq!(next("0 0 30 2 sun", sat), at(2027, 2, 7, 0, 0));
    }

    /// The skipping search agrees with checking every single minute.
    #[test]
    fn next_agrees_with_a_minute_by_minute_scan() {
        let exprs = [
            "*/7 */5 * * *",
            "59 23 * * *",
            "0 0 31 * *",
            "15 3 1,15 * 1",
            "0 12 * 2 sun,sat",
            "30 1 */9 */2 *",
            "0 0 29 2 *",
            "10-20/3 0-5 10-12 * mon-wed",
        ];
        let starts = [
            at(2023, 12, 31, 23, 59),
            at(2024, 2, 28, 22, 33),
            at(2026, 11, 21, 10, 7),
        ];
        for expr in exprs {
            let c = cron(expr);
            for start in starts {
                let fast = c.next_after(start).unwrap();
                let mut t = (start / 60 + 1) * 60;
                let slow = loop {
                    let days = to_i64(t / 86_400);
                    let (_, m, d) = civil_from_days(days);
                    let secs = t % 86_400;
                    if has(c.months, m)
                        && c.day_matches(d, weekday(days))
                        && has(c.hours, to_u32(secs / 3_600))
                        && has(c.minutes, to_u32(secs % 3_600 / 60))
                    {
                        break t;
                    }
                    t += 60;
                    assert!(t < start + 5 * 366 * 86_400, "{expr}: no fire in 5 years");
                };
                assert_eq!(fast, slow, "{expr} after {start}");
            }
        }
    }

    #[test]
    fn shorthands() {
        let t = at(2026, 11, 21, 10, 30);
        assert_eq!(next("@hourly", t), at(2026, 11, 21, 11, 0));
        assert_eq!(next("@daily", t), at(2026, 11, 22, 0, 0));
        assert_eq!(next("@midnight", t), at(2026, 11, 22, 0, 0));
        assert_eq!(next("@weekly", t), at(2026, 11, 22, 0, 0));
        assert_eq!(next("@monthly", t), at(2026, 12, 1, 0, 0));
        assert_eq!(next("@Yearly", t), at(2027, 1, 1, 0, 0));
        assert_eq!(next("@annually", t), at(2027, 1, 1, 0, 0));
    }

    #[test]
    fn a_cron_is_shown_with_single_spaces_whatever_whitespace_it_was_written_with() {
        let odd = " 0\r6\u{85}*\u{2028}*\x0bmon-fri\t";
        assert_eq!(cron(odd).as_str(), "0 6 * * mon-fri");
        assert_eq!(cron(odd).to_string(), "0 6 * * mon-fri");
        assert_eq!(cron(odd), cron("0 6 * * mon-fri"));
        assert_eq!(cron(" @Daily ").as_str(), "@Daily");
    }

    #[test]
    fn the_end_of_time_has_no_next() {
        assert_eq!(cron("* * * * *").next_after(MAX_SECS), None);
        assert_eq!(cron("* * * * *").next_after(u64::MAX), None);
        assert_eq!(cron("0 0 1 1 *").next_after(at(9999, 6, 1, 0, 0)), None);
        assert_eq!(
            cron("59 23 31 12 *").next_after(at(9999, 6, 1, 0, 0)),
            Some(MAX_SECS - 59)
        );
    }

    #[test]
    fn invalid_expressions_are_one_clear_line() {
        let cases = [
            (
                "",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 0",
            ),
            (
                "* * * *",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 4",
            ),
            (
                "* * * * * *",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 6",
            ),
            ("60 * * * *", "minute: 60 is out of range 0-59"),
            ("* 24 * * *", "hour: 24 is out of range 0-23"),
            ("* * 0 * *", "day of month: 0 is out of range 1-31"),
            ("* * 32 * *", "day of month: 32 is out of range 1-31"),
            ("* * * 13 *", "month: 13 is out of range 1-12"),
            ("* * * * 8", "day of week: 8 is out of range 0-7"),
            ("*/0 * * * *", "minute: a step must be at least 1"),
            ("*/x * * * *", "minute: step \"x\" is not a number"),
            (
                "5/10 * * * *",
                "minute: \"5/10\": a step needs a range or * before it (e.g. */15, 0-30/5)",
            ),
            ("30-10 * * * *", "minute: range 30-10 runs backwards"),
            ("1,,2 * * * *", "minute: a value is missing"),
            ("a * * * *", "minute: \"a\" is not a number"),
            ("* * * foo *", "month: \"foo\" is not a number or a name"),
            (
                "* * * * funday",
                "day of week: \"funday\" is not a number or a name",
            ),
            ("-1 * * * *", "minute: a value is missing"),
            ("*/4294967295 * * * *", "minute: a step must be at most 59"),
            (
                "0 0 30 2 *",
                "never fires: no selected month has the selected day of month",
            ),
            (
                "0 0 31 4,6,9,11 *",
                "never fires: no selected month has the selected day of month",
            ),
            (
                "@reboot",
                "unknown shorthand \"@reboot\" (use @yearly, @monthly, @weekly, @daily or @hourly)",
            ),
        ];
        for (expr, want) in cases {
            let err = expr.parse::<Cron>().unwrap_err().to_string();
            assert_eq!(err, want, "for {expr:?}");
            assert!(!err.contains('\n'));
        }
        // 29 February alone is fine: leap years come.
        cron("0 0 29 2 *");
    }

    #[test]
    fn schedule_config_reads_and_validates() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            schedules: Vec<ScheduleConfig>,
        }
        let file: File = toml::from_str(
            r#"
            [[schedules]]
            cron = "*/5 * * * *"
            session = "ops-digest"
            prompt = "/send webhook ops hi"

            [[schedules]]
            name = "stand_up-1"
            cron = "0 9 * * mon-fri"
            session = "standup"
            prompt = "Post the stand-up summary."
            "#,
        )
        .unwrap();
        let all = parse_all(&file.schedules).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].name, "schedule-1");
        assert_eq!(all[0].origin(), "schedule schedule-1");
        assert_eq!(all[1].name, "stand_up-1");
        assert_eq!(all[1].origin(), "schedule stand_up-1");
        assert_eq!(all[0].session.as_str(), "ops-digest");
        assert_eq!(all[0].cron.as_str(), "*/5 * * * *");
        assert_eq!(all[1].prompt, "Post the stand-up summary.");

        assert!(toml::from_str::<File>(
            "[[schedules]]\ncron = \"* * * * *\"\nsession = \"a\"\nprompt = \"p\"\ntz = \"UTC\"\n"
        )
        .unwrap_err()
        .to_string()
        .contains("unknown field `tz`"));

        let good = file.schedules[0].clone();
        let bad = |f: &dyn Fn(&mut ScheduleConfig)| {
            let mut c = good.clone();
            f(&mut c);
            let list = [good.clone(), c];
            parse_all(&list).unwrap_err().to_string()
        };
        assert_eq!(
            bad(&|c| c.cron = "61 * * * *".into()),
            "schedules[1]: cron \"61 * * * *\": minute: 61 is out of range 0-59"
        );
        assert_eq!(
            bad(&|c| c.session = "no spaces".into()),
            "schedules[1]: session \"no spaces\": session key may only contain letters, digits, '-' and '_'"
        );
        assert_eq!(
            bad(&|c| c.session = String::new()),
            "schedules[1]: session \"\": session key is empty"
        );
        assert_eq!(
            bad(&|c| c.prompt = "  ".into()),
            "schedules[1]: prompt is empty"
        );
        assert_eq!(
            bad(&|c| c.prompt = "x".repeat(MAX_MESSAGE_BYTES + 1)),
            format!("schedules[1]: prompt is longer than {MAX_MESSAGE_BYTES} bytes")
        );
        assert_eq!(
            bad(&|c| c.name = Some("has space".into())),
            "schedules[1]: name \"has space\": a name is 1-64 letters, digits, '-' and '_'"
        );
    }

    #[test]
    fn names_default_by_position_and_must_be_valid_and_unique() {
        let entry = |name: Option<&str>| ScheduleConfig {
            name: name.map(str::to_owned),
            cron: "0 * * * *".into(),
            session: "s".into(),
            prompt: "p".into(),
        };
        let names = |list: &[ScheduleConfig]| -> Vec<String> {
            parse_all(list)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(
            names(&[entry(None), entry(Some("x")), entry(None)]),
            ["schedule-1", "x", "schedule-3"]
        );
        let longest = "a".repeat(MAX_NAME_CHARS);
        assert_eq!(
            names(&[entry(Some(&longest)), entry(Some("A-z_09"))]),
            [longest.as_str(), "A-z_09"]
        );
        assert_eq!(names(&[]), Vec::<String>::new());

        let too_long = "a".repeat(MAX_NAME_CHARS + 1);
        for bad in ["", "a b", "a/b", "é", "a.b", "name\n", too_long.as_str()] {
            let err = parse_all(&[entry(Some(bad))]).unwrap_err();
            assert_eq!(err.index, 0);
            assert_eq!(
                err.error,
                ScheduleError::Name(bad.to_owned()),
                "for {bad:?}"
            );
            let line = err.to_string();
            assert!(!line.contains('\n'), "one line: {line:?}");
        }

        // The later entry is the one at fault, including a written name that collides with a
        // default one.
        let err = parse_all(&[entry(Some("a")), entry(None), entry(Some("a"))]).unwrap_err();
        assert_eq!(err.index, 2);
        assert_eq!(
            err.to_string(),
            "schedules[2]: name \"a\" is used by an earlier schedule"
        );
        let err = parse_all(&[entry(None), entry(Some("schedule-1"))]).unwrap_err();
        assert_eq!(
            err,
            ScheduleListError {
                index: 1,
                error: ScheduleError::DuplicateName("schedule-1".into()),
            }
        );
        // Case matters: these are two names.
        assert_eq!(names(&[entry(Some("a")), entry(Some("A"))]), ["a", "A"]);
    }
}
