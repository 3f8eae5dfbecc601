//! How the web page writes money, times and durations for people. `assets/page.js` writes them
//! the same way when it updates the page.

use std::time::Duration;

use crate::models::{rfc3339, round_to_cent};

/// `97123.456` as `$97,123.46`.
pub fn usd(amount: f64) -> String {
    let cents = (round_to_cent(amount.abs()) * 100.0).round() as u64;
    let (dollars, cents) = (cents / 100, cents % 100);
    let digits = dollars.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0.0 && (dollars, cents) != (0, 0) {
        "-"
    } else {
        ""
    };
    format!("{sign}${grouped}.{cents:02}")
}

/// The time of day of `unix_ms`, e.g. `13:30:23 UTC`.
pub fn clock(unix_ms: i64) -> String {
    format!("{} UTC", &rfc3339(unix_ms)[11..19])
}

/// How long ago, roughly: `4 s ago`, `12 min ago`, `3 h ago`.
pub fn ago(age: Duration) -> String {
    let seconds = age.as_secs();
    if seconds < 120 {
        format!("{seconds} s ago")
    } else if seconds < 2 * 3600 {
        format!("{} min ago", seconds / 60)
    } else {
        format!("{} h ago", seconds / 3600)
    }
}

/// A window's length in words: `10 minutes`, `1 hour`, `90 seconds`.
pub fn span(window: Duration) -> String {
    let seconds = window.as_secs();
    let (count, unit) = if seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else if seconds.is_multiple_of(60) {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_grouped_by_thousands_and_rounded_to_the_cent() {
        assert_eq!(usd(97_123.456_7), "$97,123.46");
        assert_eq!(usd(1_234_567.0), "$1,234,567.00");
        assert_eq!(usd(999.999), "$1,000.00");
        assert_eq!(usd(0.1 + 0.2), "$0.30");
        assert_eq!(usd(-12.5), "-$12.50");
    }

    #[test]
    fn times_and_durations_read_naturally() {
        assert_eq!(clock(1_763_731_823_237), "13:30:23 UTC");
        assert_eq!(ago(Duration::from_millis(3_400)), "3 s ago");
        assert_eq!(ago(Duration::from_secs(600)), "10 min ago");
        assert_eq!(ago(Duration::from_secs(3 * 3600 + 5)), "3 h ago");
        assert_eq!(span(Duration::from_secs(600)), "10 minutes");
        assert_eq!(span(Duration::from_secs(3600)), "1 hour");
        assert_eq!(span(Duration::from_secs(24 * 3600)), "24 hours");
        assert_eq!(span(Duration::from_secs(90)), "90 seconds");
    }
}
