//! The poller's own metrics, next to the HTTP metrics every service has. docs/operations.md's
//! metrics table documents each one; `observability/alerts.yaml` alerts on them.
//!
//! Every series an alert or a dashboard reads exists from the start (at 0), so that "none yet"
//! and "not exported" cannot be confused.

use std::time::{Duration, SystemTime};

use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};
use service_kit::clock;
use service_kit::metrics::register;

use crate::backoff::Hold;
use crate::decision::continuity::Basis;
use crate::decision::{NoPrice, Verdict};

/// Provider latency buckets in seconds: from a nearby fake (5 ms) to the longest timeout.
const FETCH_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Spread buckets (a ratio of the price): exchanges usually quote within 0.1 % of each other;
/// agreeing answers can be at most 2 % apart (twice the 1 % tolerance).
const SPREAD_BUCKETS: &[f64] = &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.04];

/// The `result` label of the tick counter when a price was stored; see [`NoPrice::label`] for
/// the others.
const STORED: &str = "stored";
/// The `basis` labels of the stored-tick counter.
const QUORUM: &str = "quorum";
const CONTINUITY: &str = "continuity";

#[derive(Clone)]
pub struct PollerMetrics {
    fetches: IntCounterVec,
    fetch_duration: HistogramVec,
    backed_off: IntGaugeVec,
    failures_in_a_row: IntGaugeVec,
    probes: IntCounterVec,
    ticks: IntCounterVec,
    stored_by_basis: IntCounterVec,
    disagreeing_ticks: IntCounter,
    tick_asked: IntGauge,
    tick_valid: IntGauge,
    tick_agreeing: IntGauge,
    tick_spread: Gauge,
    spread: Histogram,
    last_valid_answer: GaugeVec,
    poll_interval: Gauge,
    providers: IntGauge,
    quorum: IntGauge,
    last_confirmed: Gauge,
    last_price: Gauge,
    last_sample_time: Gauge,
    redis_write_errors: IntCounter,
    pending_samples: IntGauge,
}

impl PollerMetrics {
    pub fn register(registry: &Registry) -> Self {
        Self {
            fetches: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "poller_fetches_total",
                        "Provider requests by outcome: ok, outlier (valid but outvoted), or the error kind.",
                    ),
                    &["provider", "outcome"],
                ),
            ),
            fetch_duration: register(
                registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "poller_fetch_duration_seconds",
                        "Time for a provider to answer, for answers within the deadline.",
                    )
                    .buckets(FETCH_BUCKETS.to_vec()),
                    &["provider"],
                ),
            ),
            backed_off: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "poller_provider_backed_off",
                        "1 while a provider sits out ticks, by reason: overload (429, 408, 5xx, \
                         timeouts, connection errors, rate-limit bodies) or retry_after (its own \
                         Retry-After).",
                    ),
                    &["provider", "reason"],
                ),
            ),
            failures_in_a_row: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "poller_provider_failures_in_a_row",
                        "Failed attempts in a row, of any kind, backed off or not; 0 once a \
                         provider answers with a price.",
                    ),
                    &["provider"],
                ),
            ),
            probes: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "poller_probes_total",
                        "Backed-off providers asked early because the last tick had no quorum (no price, or \
                         a price fewer providers than the quorum back).",
                    ),
                    &["provider"],
                ),
            ),
            ticks: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "poller_ticks_total",
                        "Ticks by result: stored, or why no price was: no_valid_answer, \
                         no_majority, unconfirmed (fewer than the quorum agree and no recent \
                         confirmed price), outside_band (fewer than the quorum agree on a price \
                         too far from the last confirmed one), sources_apart (fewer than the \
                         quorum agree, more than 1 % apart).",
                    ),
                    &["result"],
                ),
            ),
            stored_by_basis: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "poller_stored_ticks_total",
                        "Ticks that stored a price, by basis: quorum (at least the quorum \
                         agreed) or continuity (fewer agreed, close to a recently confirmed \
                         price).",
                    ),
                    &["basis"],
                ),
            ),
            disagreeing_ticks: register(
                registry,
                IntCounter::new(
                    "poller_disagreeing_ticks_total",
                    "Ticks whose valid answers did not all agree (within 1 % of their \
                     median): some were \
                     outvoted, or no majority agreed.",
                ),
            ),
            tick_asked: register(
                registry,
                IntGauge::new(
                    "poller_tick_providers_asked",
                    "Providers asked in the last tick (a probe included).",
                ),
            ),
            tick_valid: register(
                registry,
                IntGauge::new(
                    "poller_tick_valid_answers",
                    "Valid answers (a plausible BTC/USD price) in the last tick.",
                ),
            ),
            tick_agreeing: register(
                registry,
                IntGauge::new(
                    "poller_tick_agreeing_providers",
                    "Providers whose answers made the last tick's price (its sources); 0 when \
                     the tick stored nothing.",
                ),
            ),
            tick_spread: register(
                registry,
                Gauge::new(
                    "poller_tick_spread_ratio",
                    "(highest - lowest) / price of the agreeing answers, in the last tick \
                     that stored a price.",
                ),
            ),
            spread: register(
                registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "poller_spread_ratio",
                        "(highest - lowest) / price of the agreeing answers, every tick that \
                         stored a price.",
                    )
                    .buckets(SPREAD_BUCKETS.to_vec()),
                ),
            ),
            last_valid_answer: register(
                registry,
                GaugeVec::new(
                    Opts::new(
                        "poller_provider_last_success_timestamp_seconds",
                        "When the provider last answered with a valid price (agreeing or \
                         not), in Unix seconds; 0: not since the poller started.",
                    ),
                    &["provider"],
                ),
            ),
            poll_interval: register(
                registry,
                Gauge::new(
                    "poller_poll_interval_seconds",
                    "POLL_INTERVAL: the time between ticks (alerts count in intervals).",
                ),
            ),
            providers: register(
                registry,
                IntGauge::new(
                    "poller_providers_configured",
                    "Providers the poller is configured to ask (PROVIDERS).",
                ),
            ),
            quorum: register(
                registry,
                IntGauge::new(
                    "poller_quorum",
                    "Agreeing sources that confirm a price on their own: 3, or every \
                     provider when fewer are configured.",
                ),
            ),
            last_confirmed: register(
                registry,
                Gauge::new(
                    "poller_last_confirmed_timestamp_seconds",
                    "When a quorum last agreed on a price, in Unix seconds; 0: not since \
                     the poller started.",
                ),
            ),
            last_price: register(
                registry,
                Gauge::new(
                    "poller_last_price_usd",
                    "The price of the newest sample written to Redis.",
                ),
            ),
            last_sample_time: register(
                registry,
                Gauge::new(
                    "poller_last_sample_timestamp_seconds",
                    "When the newest sample written to Redis was fetched, in Unix seconds.",
                ),
            ),
            redis_write_errors: register(
                registry,
                IntCounter::new(
                    "poller_redis_write_errors_total",
                    "Failed attempts to write a sample to Redis.",
                ),
            ),
            pending_samples: register(
                registry,
                IntGauge::new(
                    "poller_pending_samples",
                    "Samples waiting for Redis to come back.",
                ),
            ),
        }
    }

    pub fn fetched(&self, provider: &str, outcome: &str) {
        self.fetches.with_label_values(&[provider, outcome]).inc();
    }

    pub fn answered_in(&self, provider: &str, latency: Duration) {
        self.fetch_duration
            .with_label_values(&[provider])
            .observe(latency.as_secs_f64());
    }

    /// Shows the series of the configuration, and of the ticks' results, from the start.
    pub fn configured(&self, poll_interval: Duration, providers: usize, quorum: usize) {
        self.poll_interval.set(poll_interval.as_secs_f64());
        self.providers.set(count(providers));
        self.quorum.set(count(quorum));
        self.last_confirmed.set(0.0);
        for result in std::iter::once(STORED).chain(NoPrice::LABELS) {
            self.ticks.with_label_values(&[result]);
        }
        for basis in [QUORUM, CONTINUITY] {
            self.stored_by_basis.with_label_values(&[basis]);
        }
    }

    /// Shows `provider`'s series from the start: not backed off, no failures, no probes, no
    /// valid answer yet.
    pub fn provider_asked(&self, provider: &str) {
        self.provider_state(provider, None, 0);
        self.probes.with_label_values(&[provider]);
        self.last_valid_answer
            .with_label_values(&[provider])
            .set(0.0);
        for outcome in ["ok", "outlier"] {
            self.fetches.with_label_values(&[provider, outcome]);
        }
    }

    /// `provider` answered with a valid price just now.
    pub fn valid_answer(&self, provider: &str) {
        self.last_valid_answer
            .with_label_values(&[provider])
            .set(unix_seconds(clock::now()));
    }

    /// Where `provider` stands: why it sits out ticks (if it does) and its failures in a row.
    pub fn provider_state(&self, provider: &str, hold: Option<Hold>, failures_in_a_row: u32) {
        for reason in [Hold::Overload, Hold::RetryAfter] {
            self.backed_off
                .with_label_values(&[provider, reason.label()])
                .set(i64::from(hold == Some(reason)));
        }
        self.failures_in_a_row
            .with_label_values(&[provider])
            .set(i64::from(failures_in_a_row));
    }

    pub fn probed(&self, provider: &str) {
        self.probes.with_label_values(&[provider]).inc();
    }

    /// One tick ended: `asked` providers asked, `valid` valid answers, and its verdict, reached
    /// for the answers fetched at `fetched_at_ms`.
    pub fn ticked(&self, asked: usize, valid: usize, verdict: &Verdict, fetched_at_ms: i64) {
        self.tick_asked.set(count(asked));
        self.tick_valid.set(count(valid));
        let outvoted = !verdict.outliers().is_empty();
        let (result, agreeing, disagreed) = match verdict.price() {
            Some((agreement, basis)) => {
                self.tick_spread.set(agreement.spread_ratio);
                self.spread.observe(agreement.spread_ratio);
                let basis = match basis {
                    Basis::Quorum => {
                        self.last_confirmed.set(fetched_at_ms as f64 / 1000.0);
                        QUORUM
                    }
                    Basis::Continuity(_) => CONTINUITY,
                };
                self.stored_by_basis.with_label_values(&[basis]).inc();
                (STORED, agreement.agreeing.len(), outvoted)
            }
            None => match &verdict.published {
                Err(no_price @ NoPrice::NoMajority { .. }) => (no_price.label(), 0, true),
                Err(no_price) => (no_price.label(), 0, outvoted),
                Ok(_) => unreachable!("a published price has an agreement"),
            },
        };
        self.tick_agreeing.set(count(agreeing));
        self.ticks.with_label_values(&[result]).inc();
        if disagreed {
            self.disagreeing_ticks.inc();
        }
    }

    pub fn sample_written(&self, price_usd: f64, fetched_at_ms: i64) {
        self.last_price.set(price_usd);
        self.last_sample_time.set(fetched_at_ms as f64 / 1000.0);
    }

    pub fn redis_write_failed(&self) {
        self.redis_write_errors.inc();
    }

    pub fn set_pending(&self, pending: usize) {
        self.pending_samples.set(count(pending));
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}
