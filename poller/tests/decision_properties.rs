//! Properties of the price decision over random histories (proptest): an honest market walking
//! at random, providers failing at random, and up to two liars (fewer than the quorum) answering
//! zero, negative, non-finite, 100×, 3 % off, a price stuck at its first value, or anything
//! plausible. Whatever happens:
//! - while honest answers outnumber the liars', the published price is within the honest range;
//!   whenever an honest answer is among those that agree, the price is within twice the
//!   agreement tolerance (2 %) of it;
//! - a price is published only with a strict majority of the valid answers behind it, and a
//!   quorum's price only with a quorum behind it;
//! - a price fewer than the quorum back stays within the band of a confirmation that has not
//!   expired, its sources within 1 % of each other and no valid answer against them;
//! - before the first quorum, nothing is published;
//! - every published price, stored as the poller stores it, is one api-a believes.
//!
//! The answers go through the providers' own plausibility rule first, as the poller's do.

use std::time::Duration;

use poller::decision::combine::Quote;
use poller::decision::continuity::{
    Basis, CONFIRMATION_LASTS, Confirmations, MAX_UNCONFIRMED_SPREAD, QUORUM, allowed_deviation,
};
use poller::decision::{decide, sample};
use poller::providers::{Provider, check_plausible};
use price_store::rules::AGREEMENT_TOLERANCE;
use proptest::prelude::*;
use tokio::time::Instant;

/// How a lying provider answers, given the honest price and its first answer.
#[derive(Debug, Clone, Copy)]
enum Lie {
    Zero,
    Negative,
    NotFinite,
    Hundredfold,
    ThreePercentOff,
    Stuck,
    Anything(f64),
}

impl Lie {
    fn answer(self, honest: f64, first: f64) -> f64 {
        match self {
            Lie::Zero => 0.0,
            Lie::Negative => -honest,
            Lie::NotFinite => f64::NAN,
            Lie::Hundredfold => honest * 100.0,
            Lie::ThreePercentOff => honest * 1.03,
            Lie::Stuck => first,
            Lie::Anything(price) => price,
        }
    }
}

fn lie() -> impl Strategy<Value = Lie> {
    prop_oneof![
        Just(Lie::Zero),
        Just(Lie::Negative),
        Just(Lie::NotFinite),
        Just(Lie::Hundredfold),
        Just(Lie::ThreePercentOff),
        Just(Lie::Stuck),
        (1_000.0..10_000_000.0f64).prop_map(Lie::Anything),
    ]
}

/// One tick of a history.
#[derive(Debug, Clone)]
struct Tick {
    /// The market's move since the last tick, as a ratio.
    step: f64,
    /// Each honest provider's spread around the market, as a ratio.
    noise: [f64; 6],
    /// Which providers answer nothing this tick.
    down: [bool; 6],
    /// Seconds since the last tick.
    seconds: u64,
}

fn tick() -> impl Strategy<Value = Tick> {
    (
        -0.003..0.003f64,
        proptest::array::uniform6(-0.001..0.001f64),
        proptest::array::uniform6(proptest::bool::weighted(0.4)),
        prop_oneof![Just(10u64), 1..120u64],
    )
        .prop_map(|(step, noise, down, seconds)| Tick {
            step,
            noise,
            down,
            seconds,
        })
}

#[derive(Debug, Clone)]
struct History {
    start: f64,
    /// Which providers lie (at most two), and how.
    liars: Vec<(usize, Lie)>,
    ticks: Vec<Tick>,
}

fn history() -> impl Strategy<Value = History> {
    (
        20_000.0..200_000.0f64,
        proptest::collection::vec((0..6usize, lie()), 0..QUORUM),
        proptest::collection::vec(tick(), 1..80),
    )
        .prop_map(|(start, mut liars, ticks)| {
            liars.sort_by_key(|(index, _)| *index);
            liars.dedup_by_key(|(index, _)| *index);
            History {
                start,
                liars,
                ticks,
            }
        })
}

/// Replays `history`, checking every tick's verdict against the properties.
fn replay(history: &History) -> Result<(), TestCaseError> {
    let mut confirmations = Confirmations::new(QUORUM);
    let mut confirmed_once = false;
    let start = Instant::now();
    let mut now = start;
    let mut market = history.start;
    let mut firsts: [Option<f64>; 6] = [None; 6];
    for (number, tick) in history.ticks.iter().enumerate() {
        now += Duration::from_secs(tick.seconds);
        market *= 1.0 + tick.step;
        let mut quotes = Vec::new();
        let mut honest = Vec::new();
        let mut honest_providers = Vec::new();
        let mut lying = 0;
        for (index, provider) in Provider::ALL.into_iter().enumerate() {
            if tick.down[index] {
                continue;
            }
            let fair = market * (1.0 + tick.noise[index]);
            let first = *firsts[index].get_or_insert(fair);
            let liar = history.liars.iter().find(|(i, _)| *i == index);
            let answer = liar.map_or(fair, |(_, lie)| lie.answer(fair, first));
            let Ok(price) = check_plausible(answer) else {
                continue;
            };
            if liar.is_some() {
                lying += 1;
            } else {
                honest.push(price);
                honest_providers.push(provider);
            }
            quotes.push(Quote::new(provider, price));
        }
        let now_ms = now.duration_since(start).as_millis() as i64;
        let verdict = decide(&quotes, &mut confirmations, now, now_ms);
        let Some((agreement, basis)) = verdict.price() else {
            continue;
        };
        let context = format!("tick {number}: {quotes:?} -> {verdict:?}");
        let agreeing = agreement.agreeing.len();
        prop_assert!(agreeing * 2 > quotes.len(), "no majority: {context}");
        if honest.len() > lying {
            let low = honest.iter().copied().fold(f64::INFINITY, f64::min);
            let high = honest.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(
                (low..=high).contains(&agreement.price_usd),
                "outside the honest range {low}..{high}: {context}"
            );
        }
        for quote in &agreement.agreeing {
            if honest_providers.contains(&quote.provider) {
                let off = (agreement.price_usd - quote.price_usd).abs() / quote.price_usd;
                prop_assert!(
                    off <= 2.0 * AGREEMENT_TOLERANCE + 1e-9,
                    "{off} from an honest answer that agrees: {context}"
                );
            }
        }
        match basis {
            Basis::Quorum => {
                prop_assert!(agreeing >= QUORUM, "a quorum of {agreeing}: {context}");
                confirmed_once = true;
            }
            Basis::Continuity(confirmed) => {
                prop_assert!(confirmed_once, "published before any quorum: {context}");
                prop_assert!(agreeing < QUORUM, "{context}");
                let since = now.duration_since(confirmed.at);
                prop_assert!(
                    since <= CONFIRMATION_LASTS,
                    "an expired confirmation: {context}"
                );
                let deviation =
                    (agreement.price_usd - confirmed.price_usd).abs() / confirmed.price_usd;
                prop_assert!(
                    deviation <= allowed_deviation(since),
                    "{deviation} from the confirmed price: {context}"
                );
                prop_assert!(
                    agreement.spread_ratio <= MAX_UNCONFIRMED_SPREAD,
                    "sources too far apart: {context}"
                );
                prop_assert!(agreement.outliers.is_empty(), "a dissent: {context}");
            }
        }
        prop_assert!(
            agreement.spread_ratio
                <= 2.0 * AGREEMENT_TOLERANCE / (1.0 - AGREEMENT_TOLERANCE) + 1e-12,
            "{context}"
        );
        let stored = sample(agreement, basis, Provider::ALL.len(), QUORUM, now_ms);
        prop_assert_eq!(
            stored.check(now_ms),
            Ok(()),
            "a reader refuses it: {}",
            context
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn fewer_liars_than_the_quorum_never_publish_a_price_the_rules_do_not_allow(
        history in history()
    ) {
        replay(&history)?;
    }
}
