//! One tick: ask every provider that is not backed off, all at once, under one deadline;
//! combine the valid answers; hand the sample to the Redis writer.
//!
//! Asking all providers concurrently keeps a tick as long as the slowest answer within the
//! deadline (not the sum of them), and gives the combining rule several independent answers
//! to compare every time, which is what makes a wrong one detectable.

mod ask;

use std::future::Future;
use std::time::{Duration, SystemTime};

use common::samples::{Sample, unix_ms};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;

use self::ask::{Outcome, ask_all};
use crate::backoff::Backoff;
use crate::combine::{Agreement, NoPrice, Quote, combine};
use crate::config::ProviderConfig;
use crate::fetch::Fetcher;
use crate::metrics::PollerMetrics;
use crate::providers::{Provider, ProviderError};
use crate::schedule::{Heartbeat, Schedule};

struct ProviderSlot {
    config: ProviderConfig,
    backoff: Backoff,
}

pub struct PricePoller {
    providers: Vec<ProviderSlot>,
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
        for config in &providers {
            metrics.set_backed_off(config.provider.name(), false);
        }
        Self {
            providers: providers
                .into_iter()
                .map(|config| ProviderSlot {
                    config,
                    backoff: Backoff::new(poll_interval),
                })
                .collect(),
            fetcher: Fetcher::new(fetch_timeout),
            fetch_timeout,
            samples,
            metrics,
            heartbeat,
        }
    }

    /// Ticks on `schedule` until `stop` completes; a tick in progress is abandoned then.
    pub async fn run(mut self, mut schedule: Schedule, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                () = async {
                    let scheduled = schedule.next().await;
                    self.tick(scheduled).await;
                } => {}
            }
        }
        log::info!("polling stopped");
    }

    /// One tick, scheduled for `scheduled`. Never longer than the fetch timeout.
    async fn tick(&mut self, scheduled: Instant) {
        self.heartbeat.beat();
        let fetched_at = SystemTime::now();
        let asked = self.due_providers(scheduled);
        let outcomes = ask_all(&self.fetcher, asked, self.fetch_timeout, &self.metrics).await;
        let quotes = self.quotes(&outcomes);
        let decision = combine(&quotes);
        let outliers = decision
            .as_ref()
            .map(|agreement| agreement.outliers.as_slice())
            .unwrap_or_default();
        for (index, outcome) in &outcomes {
            self.record(*index, outcome, outliers, scheduled);
        }
        let summary = format!(
            "{} valid answers from {} providers asked ({} backed off)",
            quotes.len(),
            outcomes.len(),
            self.providers.len() - outcomes.len()
        );
        match decision {
            Ok(agreement) => self.store(&agreement, fetched_at, &summary),
            Err(no_price) => self.store_nothing(&no_price, &summary),
        }
        self.heartbeat.beat();
    }

    /// The providers to ask at the tick scheduled for `scheduled`, with their indexes.
    fn due_providers(&self, scheduled: Instant) -> Vec<(usize, ProviderConfig)> {
        self.providers
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.backoff.is_due(scheduled))
            .map(|(index, slot)| (index, slot.config.clone()))
            .collect()
    }

    /// The valid answers among `outcomes`.
    fn quotes(&self, outcomes: &[(usize, Outcome)]) -> Vec<Quote> {
        outcomes
            .iter()
            .filter_map(|(index, outcome)| {
                outcome.as_ref().ok().map(|&price_usd| Quote {
                    provider: self.providers[*index].config.provider,
                    price_usd,
                })
            })
            .collect()
    }

    /// Builds the tick's sample from the providers' `agreement`, logs and meters it, and hands
    /// it to the Redis writer without waiting.
    fn store(&self, agreement: &Agreement, fetched_at: SystemTime, summary: &str) {
        let sample = Sample {
            fetched_at_ms: unix_ms(fetched_at),
            price_usd: agreement.price_usd,
            sources: agreement
                .sources
                .iter()
                .map(|p| p.name().to_owned())
                .collect(),
        };
        log::debug!(
            "tick: {summary}; price {:.2} USD from {}{}",
            sample.price_usd,
            sample.sources.join(","),
            outlier_text(&agreement.outliers)
        );
        self.metrics.ticked("stored");
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

    fn store_nothing(&self, no_price: &NoPrice, summary: &str) {
        log::debug!("tick: {summary}; nothing stored: {no_price}");
        self.metrics.ticked(no_price.label());
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
                self.metrics
                    .fetched(name, if outvoted { "outlier" } else { "ok" });
                if outvoted {
                    log::warn!("{name}: {price:.2} USD disagrees with the other providers");
                }
                let failures = slot.backoff.succeeded();
                if failures > 0 {
                    log::info!("{name} recovered after {failures} failed attempts");
                    self.metrics.set_backed_off(name, false);
                }
            }
            Err(err) => record_failure(slot, err, scheduled, &self.metrics),
        }
    }
}

/// Back-off, metrics and logs for one provider's failure.
fn record_failure(
    slot: &mut ProviderSlot,
    err: &ProviderError,
    scheduled: Instant,
    metrics: &PollerMetrics,
) {
    let name = slot.config.provider.name();
    metrics.fetched(name, err.outcome());
    let retry_after = err.retry_after().map(|r| r.delay(SystemTime::now()));
    let now = Instant::now();
    let next = slot.backoff.failed(scheduled, now, retry_after);
    let wait = next.saturating_duration_since(now);
    log::warn!("{name}: {err}; next attempt in {wait:.1?}");
    if slot.backoff.failures() == 1 {
        log::info!("{name} backed off until it answers again");
        metrics.set_backed_off(name, true);
    }
}

fn outlier_text(outliers: &[Provider]) -> String {
    if outliers.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = outliers.iter().map(|p| p.name()).collect();
    format!(" (outliers: {})", names.join(","))
}
