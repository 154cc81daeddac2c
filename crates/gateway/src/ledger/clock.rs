//! UTC calendar arithmetic on unix milliseconds: where a budget's day and month start and end, and how a time is
//! shown. Budgets reset at UTC midnight and on the first of the month, UTC, whatever the machine's time zone.

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// 00:00 UTC of the day holding `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// 00:00 UTC of the day after the one holding `ms`.
pub fn next_day_start(ms: i64) -> i64 {
    day_start(ms) + DAY_MS
}

/// 00:00 UTC on the first of the month holding `ms`.
pub fn month_start(ms: i64) -> i64 {
    let (year, month, _) = civil_from_days(ms.div_euclid(DAY_MS));
    days_from_civil(year, month, 1) * DAY_MS
}

/// 00:00 UTC on the first of the month after the one holding `ms`.
pub fn next_month_start(ms: i64) -> i64 {
    let (year, month, _) = civil_from_days(ms.div_euclid(DAY_MS));
    let (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    days_from_civil(year, month, 1) * DAY_MS
}

/// `2026-11-25 22:23 UTC`: for people.
pub fn format_minutes(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    let in_day = ms.rem_euclid(DAY_MS);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", in_day / HOUR_MS, in_day % HOUR_MS / 60_000)
}

/// `2026-11-25T22:23:00.123Z` (RFC 3339): for exports that spreadsheets and scripts read.
pub fn format_rfc3339(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    let in_day = ms.rem_euclid(DAY_MS);
    let (hour, minute) = (in_day / HOUR_MS, in_day % HOUR_MS / 60_000);
    let (second, milli) = (in_day % 60_000 / 1000, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Days since 1970-01-01 of a proleptic Gregorian date. Years are counted in 400-year eras starting in March, so
/// the leap day falls at the end of each counted year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month 1–12, day 1–31).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small by construction (1–31, 1–12).
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_25_2026: i64 = 1_795_564_800_000;

    #[test]
    fn dates_round_trip_through_day_numbers() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 11, 25) * DAY_MS, NOV_25_2026);
        assert_eq!(days_from_civil(2000, 2, 29) * DAY_MS, 951_782_400_000);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn days_and_months_start_and_end_at_utc_midnight() {
        let evening = NOV_25_2026 + 22 * HOUR_MS + 23 * 60_000;
        assert_eq!(day_start(evening), NOV_25_2026);
        assert_eq!(next_day_start(evening), NOV_25_2026 + DAY_MS);
        assert_eq!(month_start(evening), days_from_civil(2026, 11, 1) * DAY_MS);
        assert_eq!(next_month_start(evening), days_from_civil(2026, 12, 1) * DAY_MS);
        let december = days_from_civil(2026, 12, 31) * DAY_MS + 5;
        assert_eq!(next_month_start(december), days_from_civil(2027, 1, 1) * DAY_MS);
        // Midnight itself belongs to the day it starts.
        assert_eq!(day_start(NOV_25_2026), NOV_25_2026);
        assert_eq!(next_day_start(NOV_25_2026 - 1), NOV_25_2026);
        // February in a leap year.
        assert_eq!(next_month_start(days_from_civil(2024, 2, 29) * DAY_MS), days_from_civil(2024, 3, 1) * DAY_MS);
    }

    #[test]
    fn formats() {
        let t = NOV_25_2026 + 22 * HOUR_MS + 23 * 60_000 + 7_123;
        assert_eq!(format_minutes(t), "2026-11-25 22:23 UTC");
        assert_eq!(format_rfc3339(t), "2026-11-25T22:23:07.123Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
