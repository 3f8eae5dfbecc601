//! Asking several providers at once under one deadline.

use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::ProviderConfig;
use crate::fetch::Fetcher;
use crate::metrics::PollerMetrics;
use crate::providers::{Price, ProviderError};

/// What one provider did in one tick.
pub type Outcome = Result<Price, ProviderError>;

/// Asks every provider of `asked` (each with its index in the poller's list) concurrently and
/// returns each one's outcome by that index, in the order asked. A provider that has not
/// answered when `timeout` has passed timed out, whatever it answers later. The deadline counts
/// from now, not from the tick's scheduled instant, so a tick that starts late does not blame
/// the providers for it.
pub async fn ask_all(
    fetcher: &Fetcher,
    asked: Vec<(usize, ProviderConfig)>,
    timeout: Duration,
    metrics: &PollerMetrics,
) -> Vec<(usize, Outcome)> {
    let deadline = Instant::now() + timeout;
    let mut requests = JoinSet::new();
    let mut outcomes: Vec<(usize, Option<Outcome>)> = Vec::with_capacity(asked.len());
    for (index, ProviderConfig { provider, url }) in asked {
        outcomes.push((index, None));
        let fetcher = fetcher.clone();
        requests.spawn(async move {
            let started = Instant::now();
            let outcome = fetcher.fetch(provider, &url).await;
            (index, provider.name(), outcome, started.elapsed())
        });
    }
    let collect = async {
        while let Some(joined) = requests.join_next().await {
            let (index, name, outcome, latency) = match joined {
                Ok(done) => done,
                Err(err) => {
                    log::error!("a fetch task failed: {err}");
                    continue;
                }
            };
            metrics.answered_in(name, latency);
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
            let outcome = outcome.unwrap_or(Err(ProviderError::Timeout(timeout)));
            (index, outcome)
        })
        .collect()
}
