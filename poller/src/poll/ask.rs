//! Asking several providers at once under one deadline.
//!
//! Each request is a task of the tick's own [`TaskTracker`] and stops on the tick's own token, a
//! child of the poller's: cancelled at the deadline (whatever a provider answers later is not
//! waited for) or when the poller stops. The tick waits for every request task to end before it
//! goes on, so none outlives the tick that asked, as `service_kit::shutdown` has every task.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ProviderConfig;
use crate::fetch::Fetcher;
use crate::metrics::PollerMetrics;
use crate::providers::{Price, ProviderError};

/// What one provider did in one tick.
pub type Outcome = Result<Price, ProviderError>;

/// Asks every provider of `asked` (each with its index in the poller's list) concurrently and
/// returns each one's outcome by that index, in the order asked. A provider that has not
/// answered when `timeout` has passed timed out, and its request is stopped. The deadline
/// counts from now, not from the tick's scheduled instant, so a tick that starts late does not
/// blame the providers for it. `None` when `stop` is cancelled meanwhile: the tick is abandoned,
/// its requests stopped, and nobody is blamed for it.
pub async fn ask_all(
    fetcher: &Fetcher,
    asked: Vec<(usize, ProviderConfig)>,
    timeout: Duration,
    metrics: &PollerMetrics,
    stop: &CancellationToken,
) -> Option<Vec<(usize, Outcome)>> {
    let deadline = Instant::now() + timeout;
    let tick = stop.child_token();
    let requests = TaskTracker::new();
    let asking: Vec<_> = asked
        .into_iter()
        .map(|(index, ProviderConfig { provider, url })| {
            let fetcher = fetcher.clone();
            let tick = tick.clone();
            let request = requests.spawn(async move {
                let started = Instant::now();
                let outcome = tick
                    .run_until_cancelled(fetcher.fetch(provider, &url))
                    .await;
                outcome.map(|outcome| (outcome, started.elapsed()))
            });
            (index, provider.name(), request)
        })
        .collect();
    requests.close();
    let collect = async {
        let mut outcomes = Vec::with_capacity(asking.len());
        for (index, name, request) in asking {
            let outcome = match request.await {
                Ok(Some((outcome, latency))) => {
                    metrics.answered_in(name, latency);
                    outcome
                }
                Ok(None) => Err(ProviderError::Timeout(timeout)),
                Err(err) => {
                    log::error!("a fetch task failed: {err}");
                    Err(ProviderError::Timeout(timeout))
                }
            };
            outcomes.push((index, outcome));
        }
        outcomes
    };
    tokio::pin!(collect);
    let outcomes = tokio::select! {
        outcomes = &mut collect => outcomes,
        () = tokio::time::sleep_until(deadline) => {
            // The requests still running end at once, as timed out; those that answered in time
            // are collected as they are.
            tick.cancel();
            collect.await
        }
    };
    requests.wait().await;
    (!stop.is_cancelled()).then_some(outcomes)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;
    use crate::providers::Provider;

    /// A provider that takes the request and never answers: its connection stays open until
    /// the poller gives the request up.
    async fn silent_provider() -> (TcpListener, ProviderConfig) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ticker", listener.local_addr().unwrap());
        let config = ProviderConfig {
            provider: Provider::ALL[0],
            url: url.parse().unwrap(),
        };
        (listener, config)
    }

    #[tokio::test]
    async fn a_request_unanswered_at_the_deadline_is_stopped_then_and_counted_as_a_timeout() {
        let (listener, config) = silent_provider().await;
        // The client's own timeout far beyond the tick's: only the tick's deadline stops it.
        let fetcher = Fetcher::new(Duration::from_secs(60));
        let metrics = PollerMetrics::register(&prometheus::Registry::new());
        let deadline = Duration::from_millis(300);
        let stop = CancellationToken::new();
        let asked = ask_all(&fetcher, vec![(3, config)], deadline, &metrics, &stop);
        let outcomes = tokio::time::timeout(Duration::from_secs(2), asked)
            .await
            .expect("the tick ends at its deadline")
            .expect("not stopped");
        assert!(matches!(
            outcomes.as_slice(),
            [(3, Err(ProviderError::Timeout(d)))] if *d == deadline
        ));
        let (mut connection, _) = listener.accept().await.unwrap();
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(1), connection.read_to_end(&mut rest));
        assert!(
            closed.await.is_ok(),
            "the late request's connection is closed once the tick has ended"
        );
        drop(fetcher);
    }
}
