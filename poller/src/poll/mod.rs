//! One tick: ask every provider that is due (see `backoff`), all at once, under one deadline;
//! combine the valid answers; hand the sample to the Redis writer.
//!
//! Asking all providers concurrently keeps a tick as long as the slowest answer within the
//! deadline (not the sum of them), and gives the combining rule several independent answers
//! to compare every time, which is what makes a wrong one detectable.

mod ask;
mod record;

use std::future::Future;
use std::time::{Duration, SystemTime};

use common::samples::{Sample, unix_ms};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;

use self::ask::{Outcome, ask_all};
use self::record::ProviderLog;
use crate::backoff::{Pacing, Turn};
use crate::combine::{Agreement, NoPrice, Quote, combine};
use crate::config::ProviderConfig;
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
        metrics.configured(poll_interval);
        for config in &providers {
            metrics.provider_asked(config.provider.name());
        }
        Self {
            pacing: Pacing::new(providers.len(), poll_interval),
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
        let turn = self.pacing.turn(scheduled);
        let asked = self.asked(&turn);
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
        self.pacing.tick_ended(decision.is_ok());
        self.metrics.ticked(outcomes.len(), quotes.len(), &decision);
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

    /// The providers of `turn`, with their indexes; meters and logs a probe.
    fn asked(&self, turn: &Turn) -> Vec<(usize, ProviderConfig)> {
        if let Some(index) = turn.probe {
            let name = self.providers[index].config.provider.name();
            log::debug!("probing {name}, backed off: the last tick stored no price");
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
                outcome.as_ref().ok().map(|&price_usd| Quote {
                    provider: self.providers[*index].config.provider,
                    price_usd,
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
                    .answered(name, *price, outvoted, failures, &self.metrics);
            }
            Err(err) => {
                let answered = Instant::now();
                let was_held = self.pacing.backoff(index).hold().is_some();
                let retry = err.retry(SystemTime::now());
                let until = self.pacing.failed(index, scheduled, answered, retry);
                let wait = until.map(|until| until.saturating_duration_since(answered));
                slot.log.failed(name, err, wait, was_held, &self.metrics);
            }
        }
        let backoff = self.pacing.backoff(index);
        let hold = backoff.hold().map(|(hold, _)| hold);
        self.metrics.provider_state(name, hold, backoff.failures());
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
    }
}

fn outlier_text(outliers: &[Provider]) -> String {
    if outliers.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = outliers.iter().map(|p| p.name()).collect();
    format!(" (outliers: {})", names.join(","))
}
