//! What one provider's answers leave behind: the fetch counter, the time of its last valid
//! answer and the log.
//!
//! Every answer is counted (`poller_fetches_total` by outcome). The log says when a provider's
//! state changes: a WARN for a new kind of failure or a new disagreement, an INFO when it backs
//! off and when it recovers; the same failure again is logged at DEBUG only, so a provider that
//! stays down, or keeps answering garbage every tick, does not fill the log with a WARN per
//! tick. `poller_provider_failures_in_a_row` tells how long it has lasted.

use std::time::Duration;

use crate::metrics::PollerMetrics;
use crate::providers::ProviderError;

/// The outcome label of a provider's last answer.
pub struct ProviderLog {
    last_outcome: &'static str,
}

impl Default for ProviderLog {
    fn default() -> Self {
        Self { last_outcome: OK }
    }
}

const OK: &str = "ok";
const OUTLIER: &str = "outlier";

impl ProviderLog {
    /// A valid `price`, `outvoted` by the others or not, ending `failures` failures in a row.
    pub fn answered(
        &mut self,
        name: &str,
        price: f64,
        outvoted: bool,
        failures: u32,
        metrics: &PollerMetrics,
    ) {
        let outcome = if outvoted { OUTLIER } else { OK };
        metrics.fetched(name, outcome);
        metrics.valid_answer(name);
        if failures > 0 {
            log::info!("{name} recovered after {failures} failed attempts");
        }
        if outvoted {
            self.log_at_change(
                outcome,
                format!("{name}: {price:.2} USD disagrees with the other providers"),
            );
        } else if self.last_outcome == OUTLIER {
            log::info!("{name} agrees with the other providers again");
        }
        self.last_outcome = outcome;
    }

    /// A failure; `wait` is how long the provider now sits out (`None`: it is asked at the
    /// next tick), `was_held` whether it already did before this answer.
    pub fn failed(
        &mut self,
        name: &str,
        err: &ProviderError,
        wait: Option<Duration>,
        was_held: bool,
        metrics: &PollerMetrics,
    ) {
        metrics.fetched(name, err.outcome());
        let next = match wait {
            Some(wait) => format!("next attempt in {wait:.1?}"),
            None => "asked again at the next tick".to_owned(),
        };
        self.log_at_change(err.outcome(), format!("{name}: {err}; {next}"));
        if wait.is_some() && !was_held {
            log::info!("{name} backed off until it answers again");
        }
        self.last_outcome = err.outcome();
    }

    /// `message` at WARN if `outcome` differs from the last one, at DEBUG if it repeats it.
    fn log_at_change(&self, outcome: &str, message: String) {
        if outcome == self.last_outcome {
            log::debug!("{message}");
        } else {
            log::warn!("{message}");
        }
    }
}
