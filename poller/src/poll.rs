//! One tick: ask every provider that is not backed off, all at once, under one deadline;
//! combine the valid answers; hand the sample to the Redis writer.
//!
//! Asking all providers concurrently keeps a tick as long as the slowest answer within the
//! deadline (not the sum of them), and gives the combining rule several independent answers
//! to compare every time, which is what makes a wrong one detectable.

use std::future::Future;
use std::time::{Duration, SystemTime};

use common::samples::{Sample, unix_ms};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::combine::{Quote, combine};
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

/// What one provider did in one tick.
type Outcome = Result<f64, ProviderError>;

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
        let outcomes = self.ask_providers(scheduled).await;
        let quotes: Vec<Quote> = outcomes
            .iter()
            .filter_map(|(index, outcome)| {
                outcome.as_ref().ok().map(|&price_usd| Quote {
                    provider: self.providers[*index].config.provider,
                    price_usd,
                })
            })
            .collect();
        let decision = combine(&quotes);
        let outliers = decision
            .as_ref()
            .map(|a| a.outliers.clone())
            .unwrap_or_default();
        for (index, outcome) in &outcomes {
            self.record(*index, outcome, &outliers, scheduled);
        }
        let summary = format!(
            "{} valid answers from {} providers asked ({} backed off)",
            quotes.len(),
            outcomes.len(),
            self.providers.len() - outcomes.len()
        );
        match decision {
            Ok(agreement) => {
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
            Err(no_price) => {
                log::debug!("tick: {summary}; nothing stored: {no_price}");
                self.metrics.ticked(no_price.label());
            }
        }
        self.heartbeat.beat();
    }

    /// Asks the providers due at `scheduled` concurrently. Returns each one's outcome by its
    /// index; a provider that has not answered when the deadline passes timed out, whatever
    /// it answers later. The deadline counts from now, not from `scheduled`, so a tick that
    /// starts late does not blame the providers for it.
    async fn ask_providers(&self, scheduled: Instant) -> Vec<(usize, Outcome)> {
        let deadline = Instant::now() + self.fetch_timeout;
        let mut requests = JoinSet::new();
        let mut outcomes: Vec<(usize, Option<Outcome>)> = Vec::new();
        for (index, slot) in self.providers.iter().enumerate() {
            if !slot.backoff.is_due(scheduled) {
                continue;
            }
            outcomes.push((index, None));
            let fetcher = self.fetcher.clone();
            let ProviderConfig { provider, url } = slot.config.clone();
            requests.spawn(async move {
                let started = Instant::now();
                let outcome = fetcher.fetch(provider, &url).await;
                (index, outcome, started.elapsed())
            });
        }
        let collect = async {
            while let Some(joined) = requests.join_next().await {
                let (index, outcome, latency) = match joined {
                    Ok(done) => done,
                    Err(err) => {
                        log::error!("a fetch task failed: {err}");
                        continue;
                    }
                };
                self.metrics
                    .answered_in(self.providers[index].config.provider.name(), latency);
                if let Some(entry) = outcomes.iter_mut().find(|(i, _)| *i == index) {
                    entry.1 = Some(outcome);
                }
            }
        };
        let _ = tokio::time::timeout_at(deadline, collect).await;
        requests.abort_all();
        outcomes
            .into_iter()
            .map(|(index, outcome)| {
                (
                    index,
                    outcome.unwrap_or(Err(ProviderError::Timeout(self.fetch_timeout))),
                )
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
            Err(err) => {
                self.metrics.fetched(name, err.outcome());
                let retry_after = err.retry_after().map(|r| r.delay(SystemTime::now()));
                let now = Instant::now();
                let next = slot.backoff.failed(scheduled, now, retry_after);
                let wait = next.saturating_duration_since(now);
                log::warn!("{name}: {err}; next attempt in {wait:.1?}");
                if slot.backoff.failures() == 1 {
                    log::info!("{name} backed off until it answers again");
                    self.metrics.set_backed_off(name, true);
                }
            }
        }
    }
}

fn outlier_text(outliers: &[Provider]) -> String {
    if outliers.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = outliers.iter().map(|p| p.name()).collect();
    format!(" (outliers: {})", names.join(","))
}
