//! [`CronExpr`]: a five-field cron expression, validated when set.

use std::fmt;

use super::{InputKind, ValidationError};

/// A standard five-field cron expression `minute hour day-of-month month
/// day-of-week`, or one of `@hourly`, `@daily` (`@midnight`), `@weekly`,
/// `@monthly`, `@yearly` (`@annually`).
///
/// Fields accept `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and
/// comma lists; months accept `jan`–`dec` and days of week `sun`–`sat`
/// (0 and 7 are both Sunday). As in Vixie cron, when both day-of-month and
/// day-of-week are restricted, a day matches if either matches.
///
/// ```
/// use eyrie_core::CronExpr;
/// let nightly: CronExpr = "30 2 * * mon-fri".parse().unwrap();
/// assert!(nightly.matches(30, 2, 14, 11, 3));
/// assert!(!nightly.matches(30, 2, 15, 11, 6));
/// assert!("61 * * * *".parse::<CronExpr>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CronExpr {
    source: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    dom_restricted: bool,
    dow_restricted: bool,
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    names_start: u32,
}

const FIELDS: [FieldSpec; 5] = [
    FieldSpec { name: "minute", min: 0, max: 59, names: &[], names_start: 0 },
    FieldSpec { name: "hour", min: 0, max: 23, names: &[], names_start: 0 },
    FieldSpec { name: "day of month", min: 1, max: 31, names: &[], names_start: 0 },
    FieldSpec { name: "month", min: 1, max: 12, names: &MONTHS, names_start: 1 },
    FieldSpec { name: "day of week", min: 0, max: 7, names: &DAYS, names_start: 0 },
];

fn parse_value(text: &str, spec: &FieldSpec) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = spec.names.iter().position(|n| *n == lower) {
        return Ok(spec.names_start + i as u32);
    }
    let value: u32 = text.parse().map_err(|_| format!("{}: {text:?} is not a number", spec.name))?;
    if value < spec.min || value > spec.max {
        return Err(format!("{}: {value} is outside {}-{}", spec.name, spec.min, spec.max));
    }
    Ok(value)
}

/// Parses one field into a bit set; returns whether it was restricted (not `*`).
fn parse_field(text: &str, spec: &FieldSpec) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("{}: step {s:?} must be a positive number", spec.name))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (parse_value(a, spec)?, parse_value(b, spec)?)
        } else {
            let v = parse_value(range, spec)?;
            // `5/15` means "from 5 to the end, every 15", as in Vixie cron.
            (v, if step > 1 { spec.max } else { v })
        };
        if lo > hi {
            return Err(format!("{}: range {range:?} runs backwards", spec.name));
        }
        for v in (lo..=hi).step_by(step as usize) {
            bits |= 1 << v;
        }
    }
    Ok((bits, text != "*"))
}

/// The longest cron expression accepted, in bytes.
pub const MAX_CRON_BYTES: usize = 256;

impl CronExpr {
    fn parse(s: &str) -> Result<CronExpr, String> {
        if s.len() > MAX_CRON_BYTES {
            return Err(format!("must be at most {MAX_CRON_BYTES} bytes"));
        }
        let trimmed = s.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            _ if trimmed.starts_with('@') => return Err(format!("unknown shorthand {trimmed:?}")),
            _ => trimmed,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("needs 5 fields (minute hour day-of-month month day-of-week), got {}", fields.len()));
        }
        let mut parsed = [(0u64, false); 5];
        for (slot, (text, spec)) in parsed.iter_mut().zip(fields.iter().zip(&FIELDS)) {
            *slot = parse_field(text, spec)?;
        }
        let mut days_of_week = parsed[4].0;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week | 1) & !(1 << 7);
        }
        Ok(CronExpr {
            source: trimmed.to_owned(),
            minutes: parsed[0].0,
            hours: parsed[1].0,
            days_of_month: parsed[2].0,
            months: parsed[3].0,
            days_of_week,
            dom_restricted: parsed[2].1,
            dow_restricted: parsed[4].1,
        })
    }

    /// The expression as it was written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first instant strictly after `after` (UTC, whole minutes) at which
    /// the expression fires, searching up to five years ahead; `None` when
    /// it never fires in that window (e.g. `0 0 31 2 *`).
    pub fn next_after(&self, after: crate::clock::Timestamp) -> Option<crate::clock::Timestamp> {
        use crate::clock::civil_from_days;
        let mut minute_index = after.as_unix_seconds().div_euclid(60) + 1;
        let limit = minute_index + 5 * 366 * 24 * 60;
        let has = |bits: u64, v: u32| v < 64 && bits & (1 << v) != 0;
        while minute_index < limit {
            let days = minute_index.div_euclid(1440);
            let in_day = minute_index.rem_euclid(1440);
            let (_, month, dom) = civil_from_days(days);
            let dow = (days + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday
            let day_ok = {
                let d = has(self.days_of_month, dom);
                let w = has(self.days_of_week, dow);
                if self.dom_restricted && self.dow_restricted { d || w } else { d && w }
            };
            if !has(self.months, month) || !day_ok {
                minute_index = (days + 1) * 1440;
                continue;
            }
            let (hour, minute) = ((in_day / 60) as u32, (in_day % 60) as u32);
            if !has(self.hours, hour) {
                minute_index = days * 1440 + (i64::from(hour) + 1) * 60;
                continue;
            }
            if has(self.minutes, minute) {
                return Some(crate::clock::Timestamp::from_unix_seconds(minute_index * 60));
            }
            minute_index += 1;
        }
        None
    }

    /// Whether the expression fires at this wall-clock minute. `month` is
    /// 1–12 and `day_of_week` 0–6 with 0 = Sunday.
    pub fn matches(&self, minute: u32, hour: u32, day_of_month: u32, month: u32, day_of_week: u32) -> bool {
        let has = |bits: u64, v: u32| v < 64 && bits & (1 << v) != 0;
        let dom = has(self.days_of_month, day_of_month);
        let dow = has(self.days_of_week, day_of_week);
        let day = match (self.dom_restricted, self.dow_restricted) {
            (true, true) => dom || dow,
            _ => dom && dow,
        };
        has(self.minutes, minute) && has(self.hours, hour) && has(self.months, month) && day
    }
}

impl std::str::FromStr for CronExpr {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s).map_err(|reason| ValidationError::new(InputKind::Cron, s, reason))
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronExpr({:?})", self.source)
    }
}

impl serde::Serialize for CronExpr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for CronExpr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(s: &str) -> CronExpr {
        s.parse().unwrap()
    }

    #[test]
    fn accepted_forms() {
        for ok in [
            "* * * * *",
            "*/15 * * * *",
            "0 2 * * *",
            "0 0 1,15 * *",
            "5/20 1-5 * jan-mar SUN",
            "0 0 * * 7",
            "@daily",
            " @Weekly ",
        ] {
            assert!(ok.parse::<CronExpr>().is_ok(), "{ok}");
        }
    }

    #[test]
    fn refused_forms_say_why() {
        let cases = [
            ("", "5 fields"),
            ("* * * *", "5 fields"),
            ("60 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day of month"),
            ("* * * 13 *", "month"),
            ("* * * * 8", "day of week"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
            ("x * * * *", "not a number"),
            ("@often", "shorthand"),
        ];
        for (text, needle) in cases {
            let e = text.parse::<CronExpr>().unwrap_err();
            assert_eq!(e.kind, InputKind::Cron);
            assert!(e.reason.contains(needle), "{text}: {}", e.reason);
        }
    }

    #[test]
    fn matching() {
        let every_quarter = cron("*/15 * * * *");
        assert!(every_quarter.matches(45, 3, 1, 1, 0));
        assert!(!every_quarter.matches(46, 3, 1, 1, 0));
        let sunday = cron("0 0 * * 7");
        assert!(sunday.matches(0, 0, 9, 6, 0));
        assert!(!sunday.matches(0, 0, 9, 6, 1));
        // Both day fields restricted: either matches (Vixie semantics).
        let either = cron("0 0 1 * mon");
        assert!(either.matches(0, 0, 1, 5, 4));
        assert!(either.matches(0, 0, 7, 5, 1));
        assert!(!either.matches(0, 0, 7, 5, 2));
        let daily = cron("@daily");
        assert!(daily.matches(0, 0, 31, 12, 5) && !daily.matches(1, 0, 31, 12, 5));
        let offset = cron("5/20 * * * *");
        assert!(offset.matches(5, 0, 1, 1, 0) && offset.matches(25, 0, 1, 1, 0) && !offset.matches(15, 0, 1, 1, 0));
    }

    #[test]
    fn next_after_finds_the_next_firing_minute() {
        use crate::clock::Timestamp;
        let t = |s: &str| -> Timestamp {
            // "YYYY-MM-DDTHH:MM" in UTC, via the Display form as a check.
            let (date, time) = s.split_once('T').unwrap();
            let p: Vec<i64> = date.split('-').chain(time.split(':')).map(|x| x.parse().unwrap()).collect();
            let days = days_from_civil(p[0], p[1] as u32, p[2] as u32);
            Timestamp::from_unix_seconds(days * 86_400 + p[3] * 3600 + p[4] * 60)
        };
        let cases = [
            ("30 2 * * *", "2026-11-26T10:07", "2026-11-27T02:30"),
            ("30 2 * * *", "2026-11-26T02:29", "2026-11-26T02:30"),
            ("30 2 * * *", "2026-11-26T02:30", "2026-11-27T02:30"),
            ("*/15 * * * *", "2026-11-26T10:07", "2026-11-26T10:15"),
            ("0 0 1 * *", "2026-12-15T00:00", "2027-01-01T00:00"),
            ("0 9 * * mon", "2026-11-26T10:00", "2026-11-30T09:00"),
            ("0 0 29 2 *", "2026-03-01T00:00", "2028-02-29T00:00"),
        ];
        for (expr, after, want) in cases {
            let got = cron(expr).next_after(t(after)).unwrap();
            assert_eq!(got, t(want), "{expr} after {after}: got {got}");
            assert!(got.to_string().starts_with(&want[..13]), "{got} vs {want}");
        }
        assert_eq!(cron("0 0 31 2 *").next_after(t("2026-01-01T00:00")), None);
    }

    fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = i64::from((m + 9) % 12);
        let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    #[test]
    fn serde_round_trip() {
        let c = cron("0 3 * * *");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<CronExpr>(&json).unwrap(), c);
        assert!(serde_json::from_str::<CronExpr>("\"99 * * * *\"").is_err());
    }
}
