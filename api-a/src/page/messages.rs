//! What the page says, in one table the server and `assets/page.js` share: the states without a
//! price, and the sentences about what stands behind it (how many exchanges agree, why a price
//! fewer than the quorum back is shown, how much of the window the samples cover). The page
//! carries the table in its `data-` attributes; the script fills in the same `{placeholders}`
//! from the same JSON answers.

use std::time::Duration;

use price_store::{Basis, Sample, WriterSettings};

use super::format;
use crate::models::{Current, coverage as coverage_share};
use crate::window::WindowStats;

/// What the page says in each state, and what stands behind the price. The script shows the same
/// texts (they are in the page's `data-` attributes), filling in the same `{placeholders}` from
/// the same answers.
pub const MESSAGES: [(&str, &str); 10] = [
    (
        "no-price",
        "No price yet: the first one arrives within one poll interval of the poller's start.",
    ),
    (
        "unavailable",
        "The price store is unavailable: no new price can be shown; it is asked again every second.",
    ),
    ("stale", "Stale: no new price since {time}."),
    ("empty-window", "No price within the last {window}."),
    (
        "unreachable",
        "Could not reach the service at {time}: showing the last values.",
    ),
    (
        "agreement",
        "{agreeing} of {configured} exchanges agree within {spread} %",
    ),
    ("agreement-one", "1 of {configured} exchanges answered"),
    ("dissent", " ({others} more answered, further off)"),
    (
        "continuity",
        "Fewer than the {quorum} needed to confirm a price: shown because it is within \
         {change} % of {confirmed}, confirmed at {time}.",
    ),
    ("coverage", "They cover {coverage} % of the window."),
];

pub fn message(state: &str) -> &'static str {
    MESSAGES
        .iter()
        .find(|(name, _)| *name == state)
        .map(|(_, text)| *text)
        .expect("every state has a message")
}

/// The message `name` with each `{key}` of `values` filled in.
fn filled(name: &str, values: &[(&str, String)]) -> String {
    values
        .iter()
        .fold(message(name).to_owned(), |text, (key, value)| {
            text.replace(&format!("{{{key}}}"), value)
        })
}

/// How many exchanges agree on `current`'s price, how closely, and how many answered otherwise.
pub fn agreement(current: &Current) -> String {
    let providers = current.providers;
    let dissent = match providers.answered.saturating_sub(providers.agreeing) {
        0 => String::new(),
        others => filled("dissent", &[("others", others.to_string())]),
    };
    let agreeing = if providers.agreeing == 1 {
        filled(
            "agreement-one",
            &[("configured", providers.configured.to_string())],
        )
    } else {
        filled(
            "agreement",
            &[
                ("agreeing", providers.agreeing.to_string()),
                ("configured", providers.configured.to_string()),
                ("spread", current.spread_percent.to_string()),
            ],
        )
    };
    agreeing + &dissent
}

/// Why `latest`, shown as `current`, is shown although fewer than the quorum back it; `None`
/// for a quorum's price.
pub fn continuity(latest: &Sample, current: &Current) -> Option<String> {
    let Basis::Continuity {
        confirmed_at_ms, ..
    } = latest.basis
    else {
        return None;
    };
    Some(filled(
        "continuity",
        &[
            ("quorum", current.providers.quorum.to_string()),
            ("change", current.confirmed.change_percent.abs().to_string()),
            ("confirmed", format::usd(current.confirmed.price)),
            ("time", format::clock(confirmed_at_ms)),
        ],
    ))
}

/// How much of the window the samples of `stats` cover, in words.
pub fn coverage(stats: &WindowStats, settings: &WriterSettings, window: Duration) -> String {
    let share = coverage_share(stats.count, settings, window);
    let percent = (share * 1000.0).round() / 10.0;
    filled("coverage", &[("coverage", percent.to_string())])
}

#[cfg(test)]
mod tests {
    use price_store::Basis;

    use super::*;

    const NOW_MS: i64 = 1_763_730_000_000;

    #[test]
    fn every_message_is_named_once() {
        for (i, (name, _)) in MESSAGES.iter().enumerate() {
            assert!(MESSAGES[i + 1..].iter().all(|(other, _)| other != name));
        }
    }

    #[test]
    fn the_page_says_how_many_exchanges_agree_and_how_closely() {
        let mut three = test_support::samples::confirmed(NOW_MS, 90_000.0);
        three.providers = 6;
        three.quotes[2].price_usd = 90_036.0;
        let current = Current::new(&three, NOW_MS, Duration::from_secs(30));
        assert_eq!(agreement(&current), "3 of 6 exchanges agree within 0.04 %");
        assert_eq!(continuity(&three, &current), None);
    }

    #[test]
    fn the_page_says_how_many_more_answered_and_were_further_off() {
        let mut four = test_support::samples::confirmed(NOW_MS, 90_000.0);
        four.providers = 6;
        four.answered = 4;
        let current = Current::new(&four, NOW_MS, Duration::from_secs(30));
        assert_eq!(
            agreement(&current),
            "3 of 6 exchanges agree within 0 % (1 more answered, further off)"
        );
    }

    #[test]
    fn a_price_fewer_than_the_quorum_back_says_what_it_stays_close_to() {
        let mut lone = test_support::samples::confirmed(NOW_MS, 91_000.0);
        lone.quotes.truncate(1);
        lone.answered = 1;
        lone.basis = Basis::Continuity {
            confirmed_usd: 90_000.0,
            confirmed_at_ms: NOW_MS - 61_000,
        };
        let current = Current::new(&lone, NOW_MS, Duration::from_secs(30));
        assert_eq!(agreement(&current), "1 of 6 exchanges answered");
        assert_eq!(
            continuity(&lone, &current).unwrap(),
            "Fewer than the 3 needed to confirm a price: shown because it is within 1.11 % of \
             $90,000.00, confirmed at 12:58:59 UTC."
        );
    }
}
