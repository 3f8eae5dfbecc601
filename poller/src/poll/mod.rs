//! One tick: ask every provider that is due (see `backoff`), all at once, under one deadline;
//! decide on a price from the valid, current answers (see `decision`); hand the sample, with the
//! evidence behind its price, to the Redis writer.
//!
//! Asking all providers concurrently keeps a tick as long as the slowest answer within the
//! deadline (not the sum of them), and gives the combining rule several independent answers
//! to compare every time, which is what makes a wrong one detectable.

mod ask;
mod record;

use std::time::Duration;

use service_kit::clock;

use price_store::{Sample, unix_ms};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::ask::{Outcome, ask_all};
use self::record::ProviderLog;
use crate::backoff::{Pacing, Turn};
use crate::config::ProviderConfig;
use crate::decision::combine::Quote;
use crate::decision::continuity::{Basis, Confirmations, QUORUM, quorum_for};
use crate::decision::{self, NoPrice, Verdict, decide};
use crate::fetch::Fetcher;
use crate::metrics::PollerMetrics;
use crate::providers::Provider;
use crate::schedule::{Heartbeat, Schedule};

struct ProviderSlot {
    config: ProviderConfig,
    log: ProviderLog,
}

pub struct PricePoller {
    providers: Vec<ProviderSlot>,
    pacing: Pacing,
    confirmations: Confirmations,
    /// The last tick's outcome, `quorum`, `continuity` or a [`NoPrice`] label: the log says
    /// when it changes, not every tick.
    last_outcome: Option<&'static str>,
    fetcher: Fetcher,
    fetch_timeout: Duration,
    samples: mpsc::Sender<Sample>,
    metrics: PollerMetrics,
    heartbeat: Heartbeat,
}

impl PricePoller {
    pub fn new(
        providers: Vec<ProviderConfig>,
        poll_interval: Duration,
        fetch_timeout: Duration,
        samples: mpsc::Sender<Sample>,
        metrics: PollerMetrics,
        heartbeat: Heartbeat,
    ) -> Self {
        let quorum = quorum_for(providers.len());
        metrics.configured(poll_interval, providers.len(), quorum);
        if quorum < QUORUM {
            log::warn!(
                "only {} providers configured: a price needs {quorum} of them, so a wrong answer \
                 from one can go unnoticed (configure at least {QUORUM})",
                providers.len()
            );
        }
        for config in &providers {
            metrics.provider_asked(config.provider.name());
        }
        Self {
            pacing: Pacing::new(providers.len(), poll_interval),
            confirmations: Confirmations::new(quorum),
            last_outcome: None,
            providers: providers
                .into_iter()
                .map(|config| ProviderSlot {
                    config,
                    log: ProviderLog::default(),
                })
                .collect(),
            fetcher: Fetcher::new(fetch_timeout),
            fetch_timeout,
            samples,
            metrics,
            heartbeat,
        }
    }

    /// Ticks on `schedule` until `stop` is cancelled; a tick in progress is abandoned then, its
    /// requests stopped and waited for.
    pub async fn run(mut self, mut schedule: Schedule, stop: CancellationToken) {
        while let Some(scheduled) = stop.run_until_cancelled(schedule.next()).await {
            self.tick(scheduled, &stop).await;
        }
        log::info!("polling stopped");
    }

    /// One tick, scheduled for `scheduled`. Never longer than the fetch timeout; cut short, with
    /// nothing recorded, when `stop` is cancelled.
    async fn tick(&mut self, scheduled: Instant, stop: &CancellationToken) {
        self.heartbeat.beat();
        let fetched_at = clock::now();
        let turn = self.pacing.turn(scheduled);
        let asked = self.asked(&turn);
        let timeout = self.fetch_timeout;
        let asking = ask_all(&self.fetcher, asked, timeout, &self.metrics, stop);
        let Some(outcomes) = asking.await else {
            return;
        };
        let quotes = self.quotes(&outcomes);
        let fetched_at_ms = unix_ms(fetched_at);
        let verdict = decide(
            &quotes,
            &mut self.confirmations,
            Instant::now(),
            fetched_at_ms,
        );
        for (index, outcome) in &outcomes {
            self.record(*index, outcome, verdict.outliers(), scheduled);
        }
        self.pacing
            .tick_ended(verdict.published == Ok(Basis::Quorum));
        self.metrics
            .ticked(outcomes.len(), quotes.len(), &verdict, fetched_at_ms);
        self.log_change(&verdict);
        let summary = format!(
            "{} valid answers from {} providers asked ({} backed off)",
            quotes.len(),
            outcomes.len(),
            self.providers.len() - outcomes.len()
        );
        match (verdict.price(), &verdict.published) {
            (Some((agreement, basis)), _) => {
                let sample = decision::sample(
                    agreement,
                    basis,
                    self.providers.len(),
                    self.confirmations.quorum(),
                    fetched_at_ms,
                );
                self.store(sample, &agreement.outliers, &summary);
            }
            (None, Err(no_price)) => self.store_nothing(no_price, &summary),
            (None, Ok(_)) => unreachable!("a published price has an agreement"),
        }
        self.heartbeat.beat();
    }

    /// The providers of `turn`, with their indexes; meters and logs a probe.
    fn asked(&self, turn: &Turn) -> Vec<(usize, ProviderConfig)> {
        if let Some(index) = turn.probe {
            let name = self.providers[index].config.provider.name();
            log::debug!("probing {name}, backed off: the last tick had no quorum");
            self.metrics.probed(name);
        }
        turn.asked()
            .map(|index| (index, self.providers[index].config.clone()))
            .collect()
    }

    /// The valid answers among `outcomes`.
    fn quotes(&self, outcomes: &[(usize, Outcome)]) -> Vec<Quote> {
        outcomes
            .iter()
            .filter_map(|(index, outcome)| {
                outcome.as_ref().ok().map(|price| Quote {
                    provider: self.providers[*index].config.provider,
                    price_usd: price.usd,
                    quoted_at: price.stamped_at,
                })
            })
            .collect()
    }

    /// Metrics, back-off and logs for one provider's outcome.
    fn record(
        &mut self,
        index: usize,
        outcome: &Outcome,
        outliers: &[Provider],
        scheduled: Instant,
    ) {
        let slot = &mut self.providers[index];
        let provider = slot.config.provider;
        let name = provider.name();
        match outcome {
            Ok(price) => {
                let outvoted = outliers.contains(&provider);
                let failures = self.pacing.succeeded(index);
                slot.log
                    .answered(name, price.usd, outvoted, failures, &self.metrics);
            }
            Err(err) => {
                let answered = Instant::now();
                let was_held = self.pacing.backoff(index).hold().is_some();
                let retry = err.retry(clock::now());
                let until = self.pacing.failed(index, scheduled, answered, retry);
                let wait = until.map(|until| until.saturating_duration_since(answered));
                slot.log.failed(name, err, wait, was_held, &self.metrics);
            }
        }
        let backoff = self.pacing.backoff(index);
        let hold = backoff.hold().map(|(hold, _)| hold);
        self.metrics.provider_state(name, hold, backoff.failures());
    }

    /// Logs and hands `sample` to the Redis writer without waiting.
    fn store(&self, sample: Sample, outliers: &[Provider], summary: &str) {
        log::debug!(
            "tick: {summary}; price {:.2} USD from {}{}",
            sample.price_usd,
            sample.sources().collect::<Vec<_>>().join(","),
            outlier_text(outliers)
        );
        match self.samples.try_send(sample) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                log::warn!("sample dropped: the Redis writer is not keeping up")
            }
            Err(TrySendError::Closed(_)) => {
                log::error!("sample dropped: the Redis writer has stopped")
            }
        }
    }

    /// One line when the tick's outcome changes from the last tick's: back to a quorum (INFO),
    /// a price resting on fewer sources, or no price and why (WARN).
    fn log_change(&mut self, verdict: &Verdict) {
        let outcome = match &verdict.published {
            Ok(Basis::Quorum) => "quorum",
            Ok(Basis::Continuity(_)) => "continuity",
            Err(no_price) => no_price.label(),
        };
        if self.last_outcome.replace(outcome) == Some(outcome) {
            return;
        }
        let quorum = self.confirmations.quorum();
        match (&verdict.published, verdict.price()) {
            (Ok(Basis::Quorum), Some((agreement, _))) => log::info!(
                "price confirmed by a quorum: {} of {} providers agree",
                agreement.agreeing.len(),
                self.providers.len()
            ),
            (Ok(Basis::Continuity(confirmed)), Some((agreement, _))) => log::warn!(
                "only {} of {} providers agree, fewer than the quorum of {quorum}: publishing \
                 their price only while it stays close to {:.2} USD, confirmed {} ago",
                agreement.agreeing.len(),
                self.providers.len(),
                confirmed.price_usd,
                humantime::format_duration(Duration::from_secs(
                    Instant::now()
                        .saturating_duration_since(confirmed.at)
                        .as_secs()
                ))
            ),
            (Err(no_price), _) => log::warn!("publishing no price: {no_price}"),
            _ => {}
        }
    }

    fn store_nothing(&self, no_price: &NoPrice, summary: &str) {
        log::debug!("tick: {summary}; nothing stored: {no_price}");
    }
}

fn outlier_text(outliers: &[Provider]) -> String {
    if outliers.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = outliers.iter().map(|p| p.name()).collect();
    format!(" (outliers: {})", names.join(","))
}
