//! The samples' format and the rules a reader checks them by.

use super::*;

fn quote(source: &str, price_usd: f64) -> SourceQuote {
    SourceQuote {
        source: source.into(),
        price_usd,
        quoted_at_ms: None,
    }
}

fn sample(basis: Basis, quotes: Vec<SourceQuote>) -> Sample {
    Sample {
        fetched_at_ms: 1_763_730_000_000,
        price_usd: 97_123.456_7,
        answered: quotes.len() as u32,
        quotes,
        providers: 6,
        quorum: 3,
        basis,
    }
}

fn three() -> Vec<SourceQuote> {
    vec![
        quote("coinbase", 97_120.0),
        quote("kraken", 97_123.456_7),
        quote("bitstamp", 97_130.0),
    ]
}

#[test]
fn the_member_format_is_the_documented_json() {
    let mut quorum = sample(Basis::Quorum, three());
    quorum.quotes[0].quoted_at_ms = Some(1_763_729_999_500);
    let member = serde_json::to_string(&quorum).unwrap();
    assert_eq!(
        member,
        r#"{"fetched_at_ms":1763730000000,"price_usd":97123.4567,"quotes":[{"source":"coinbase","price_usd":97120.0,"quoted_at_ms":1763729999500},{"source":"kraken","price_usd":97123.4567},{"source":"bitstamp","price_usd":97130.0}],"providers":6,"answered":3,"quorum":3,"basis":"quorum"}"#
    );
    assert_eq!(serde_json::from_str::<Sample>(&member).unwrap(), quorum);

    let basis = Basis::Continuity {
        confirmed_usd: 97_000.0,
        confirmed_at_ms: 1_763_729_990_000,
    };
    let continuity = sample(basis, vec![quote("kraken", 97_123.456_7)]);
    let member = serde_json::to_string(&continuity).unwrap();
    assert!(
        member.ends_with(
            r#""basis":"continuity","confirmed_usd":97000.0,"confirmed_at_ms":1763729990000}"#
        ),
        "{member}"
    );
    assert_eq!(serde_json::from_str::<Sample>(&member).unwrap(), continuity);
}

#[test]
fn a_reader_believes_only_plausible_self_consistent_samples() {
    let at = 1_763_730_000_000;
    let good = sample(Basis::Quorum, three());
    assert_eq!(good.check(at), Ok(()));
    for price in [f64::NAN, f64::INFINITY, 0.0, -97_000.0, 999.0, 2e7] {
        let mut bad = good.clone();
        bad.price_usd = price;
        assert_eq!(bad.check(at), Err(Rejection::Implausible), "{price}");
        let mut bad = good.clone();
        bad.quotes[1].price_usd = price;
        assert_eq!(bad.check(at), Err(Rejection::Implausible), "quote {price}");
    }
    assert_eq!(good.check(at + 1), Err(Rejection::Inconsistent), "score");
    let mut cents = good.clone();
    cents.price_usd *= 100.0;
    assert_eq!(
        cents.check(at),
        Err(Rejection::Inconsistent),
        "not its quotes'"
    );
    let mut too_few = good.clone();
    too_few.quotes.truncate(2);
    assert_eq!(too_few.check(at), Err(Rejection::Inconsistent), "quorum");
    let mut none = good.clone();
    none.quotes.clear();
    assert_eq!(none.check(at), Err(Rejection::Inconsistent));
    let mut answered = good.clone();
    answered.answered = 7;
    assert_eq!(answered.check(at), Err(Rejection::Inconsistent));
    let future = Basis::Continuity {
        confirmed_usd: 97_000.0,
        confirmed_at_ms: at + 1,
    };
    let lone = sample(future, vec![quote("kraken", 97_100.0)]);
    assert_eq!(lone.check(at), Err(Rejection::Inconsistent));
}

/// Samples an independent attack wrote straight into Redis, each contradicting its own
/// evidence or the rules it claims to have been published by.
#[test]
fn a_sample_whose_evidence_contradicts_the_rules_is_not_believed() {
    let at = 1_763_730_000_000;
    let good = sample(Basis::Quorum, three());
    let mut cases: Vec<(&str, Sample)> = Vec::new();
    let mut lone_quorum = sample(Basis::Quorum, vec![quote("kraken", 97_123.456_7)]);
    lone_quorum.quorum = 1;
    cases.push(("a quorum of one among six providers", lone_quorum));
    let mut same_source = good.clone();
    for quote in &mut same_source.quotes {
        quote.source = "kraken".into();
    }
    cases.push(("one source three times", same_source));
    let mut strange = good.clone();
    strange.quotes[0].source = "Evil Exchange".into();
    cases.push(("a source no provider is named", strange));
    let mut not_median = good.clone();
    not_median.price_usd = 97_130.0;
    cases.push(("a price that is not the median", not_median));
    let mut apart = sample(
        Basis::Quorum,
        vec![
            quote("coinbase", 95_000.0),
            quote("kraken", 97_123.456_7),
            quote("bitstamp", 99_000.0),
        ],
    );
    apart.answered = 3;
    cases.push(("sources 4 % apart agreeing", apart));
    let mut minority = good.clone();
    minority.answered = 6;
    cases.push(("three of six answers, no majority", minority));
    let mut old_stamp = good.clone();
    old_stamp.quotes[0].quoted_at_ms = Some(at - 86_400_000);
    cases.push(("a quote stamped a day before", old_stamp));
    let mut future_stamp = good.clone();
    future_stamp.quotes[0].quoted_at_ms = Some(at + 86_400_000);
    cases.push(("a quote stamped a day ahead", future_stamp));
    let continuity = |confirmed_usd: f64, confirmed_at_ms: i64, quotes| {
        sample(
            Basis::Continuity {
                confirmed_usd,
                confirmed_at_ms,
            },
            quotes,
        )
    };
    let lone = || vec![quote("kraken", 97_123.456_7)];
    cases.push((
        "50 times the confirmed price",
        continuity(1_942.47, at - 10_000, lone()),
    ));
    cases.push((
        "a confirmation a day old",
        continuity(97_000.0, at - 86_400_000, lone()),
    ));
    let mut dissent = continuity(97_000.0, at - 10_000, lone());
    dissent.answered = 2;
    cases.push(("another answer disagreeing", dissent));
    let two_apart = vec![quote("kraken", 96_400.0), quote("gemini", 97_846.913_4)];
    let mut two = continuity(97_000.0, at - 10_000, two_apart);
    two.price_usd = 97_123.456_7;
    cases.push(("two sources over 1 % apart", two));
    for (what, case) in cases {
        assert_eq!(case.check(at), Err(Rejection::Inconsistent), "{what}");
    }
    assert_eq!(good.check(at), Ok(()));
    let fine = continuity(97_000.0, at - 10_000, lone());
    assert_eq!(fine.check(at), Ok(()));
}

#[test]
fn a_member_that_is_not_a_v2_sample_is_rejected_at_its_score() {
    for member in [
        "not json",
        r#"{"fetched_at_ms":5,"price_usd":97000.0,"sources":["kraken"]}"#,
        r#"{"fetched_at_ms":5,"price_usd":1e999}"#,
    ] {
        assert_eq!(
            Stored::read(member, 5),
            Stored::Rejected {
                at_ms: 5,
                why: Rejection::Unreadable
            },
            "{member}"
        );
    }
}

/// An independent attack's case: six answers, a high outlier left out, so the median of
/// every answer (90 904.50) is above the agreeing ones' (90 000): they are 2.01 % of the
/// price apart, within 1 % of that median, and the poller published them.
#[test]
fn answers_within_the_tolerance_of_every_answer_s_median_are_believed_however_far_from_their_own() {
    let at = 1_763_730_000_000;
    let mut edge = sample(
        Basis::Quorum,
        vec![
            quote("coinbase", 91_809.0),
            quote("kraken", 90_000.0),
            quote("bitstamp", 90_000.0),
            quote("gemini", 90_000.0),
            quote("bitfinex", 91_809.0),
        ],
    );
    edge.price_usd = 90_000.0;
    edge.answered = 6;
    assert!(edge.spread_ratio() > 0.02);
    assert_eq!(edge.check(at), Ok(()));
    // No median has both within 1 %: 89 100 needs one at most 90 000, 90 919 one above it.
    edge.quotes[0].price_usd = 90_919.0;
    edge.quotes[4].price_usd = 89_100.0;
    assert_eq!(edge.check(at), Err(Rejection::Inconsistent));
}

#[test]
fn the_spread_is_relative_to_the_price() {
    let good = sample(Basis::Quorum, three());
    assert_eq!(good.spread_ratio(), 10.0 / 97_123.456_7);
    let lone = sample(Basis::Quorum, vec![quote("kraken", 97_000.0)]);
    assert_eq!(lone.spread_ratio(), 0.0);
}
