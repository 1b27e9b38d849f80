//! The calendar periods of the retention tiers, in UTC: day, ISO week
//! (Monday to Sunday) and calendar month, each as a number that grows with
//! time so that "the newest N periods" is "the N largest keys".

use crate::Timestamp;
use crate::clock::civil_from_days;

/// A retention tier of scheduled backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// The newest backup of each UTC calendar day.
    Daily,
    /// The newest backup of each ISO week (Monday 00:00 to Sunday 24:00 UTC).
    Weekly,
    /// The newest backup of each UTC calendar month.
    Monthly,
}

impl Tier {
    /// Every tier.
    pub const ALL: [Tier; 3] = [Tier::Daily, Tier::Weekly, Tier::Monthly];

    /// The period of this tier that `at` falls in: days since the epoch for
    /// `Daily`, the day number of the week's Monday for `Weekly`, and
    /// `year × 12 + month − 1` for `Monthly`.
    pub fn period(self, at: Timestamp) -> i64 {
        let day = at.as_millis().div_euclid(86_400_000);
        match self {
            Tier::Daily => day,
            // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
            Tier::Weekly => day - (day + 3).rem_euclid(7),
            Tier::Monthly => {
                let (year, month, _) = civil_from_days(day);
                year * 12 + i64::from(month) - 1
            }
        }
    }
}

/// The instant `y-m-d h:00` UTC (tests): Howard Hinnant's `days_from_civil`,
/// the inverse of [`civil_from_days`].
#[cfg(test)]
pub(crate) fn utc(y: i64, m: i64, d: i64, h: i64) -> Timestamp {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Timestamp::from_unix_seconds(days * 86_400 + h * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y_m_d_h: &str) -> Timestamp {
        let p = |r: std::ops::Range<usize>| y_m_d_h[r].parse::<i64>().unwrap();
        utc(p(0..4), p(5..7), p(8..10), p(11..13))
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-23 is a Monday, 2026-11-29 a Sunday, 2026-11-30 the next Monday.
        let week = Tier::Weekly.period(at("2026-11-23T00"));
        assert_eq!(Tier::Weekly.period(at("2026-11-29T23")), week);
        assert_eq!(Tier::Weekly.period(at("2026-11-30T00")), week + 7);
        assert_eq!(Tier::Weekly.period(at("2026-11-22T23")), week - 7);
        // ISO week 1 of 2021 began on Monday 2021-01-04; 2021-01-03 is in 2020's week 53.
        assert_eq!(Tier::Weekly.period(at("2021-01-03T12")) + 7, Tier::Weekly.period(at("2021-01-04T00")));
    }

    #[test]
    fn days_and_months() {
        assert_eq!(Tier::Daily.period(at("2026-11-27T00")), Tier::Daily.period(at("2026-11-27T23")));
        assert_eq!(Tier::Daily.period(at("2026-11-27T00")) + 1, Tier::Daily.period(at("2026-11-28T00")));
        assert_eq!(Tier::Monthly.period(at("2026-11-30T23")) + 1, Tier::Monthly.period(at("2026-12-01T00")));
        assert_eq!(Tier::Monthly.period(at("2026-12-31T23")) + 1, Tier::Monthly.period(at("2027-01-01T00")));
        assert_eq!(Tier::Monthly.period(at("2024-02-29T10")), Tier::Monthly.period(at("2024-02-01T00")));
        // Before the epoch too.
        assert_eq!(Tier::Daily.period(at("1969-12-31T23")), -1);
    }
}
