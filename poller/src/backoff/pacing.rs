//! Who is asked at each tick: every provider that is due and, when the last tick had no quorum
//! (it stored no price, or a price fewer providers than the quorum back), one backed-off provider
//! as a probe.
//!
//! Without the probe, a total outage (every provider failing, so backed off for up to a minute)
//! would end only when the shortest back-off runs out, although the exchanges may have been
//! answering for most of that minute. With it, every tick without a quorum spends one request
//! on the provider whose overload back-off ends soonest, so prices are back (and confirmed
//! again) within one interval of the exchanges returning. The probe is added even when some providers are due (they may be
//! answering garbage every tick), never goes to a provider under its own `Retry-After`, and
//! costs one request per interval in all: far fewer than the ticks that store a price.

use std::time::Duration;

use tokio::time::Instant;

use super::{Backoff, Hold, Retry};

/// The back-off of every provider, in the poller's order, and whether the last tick had a
/// quorum.
#[derive(Debug)]
pub struct Pacing {
    backoffs: Vec<Backoff>,
    quorum_last_tick: bool,
}

/// The providers asked at one tick, by index; each at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// The providers that are due, in order.
    pub due: Vec<usize>,
    /// A backed-off provider asked early because the last tick had no quorum.
    pub probe: Option<usize>,
}

impl Turn {
    /// Every provider asked: the due ones in order, then the probe.
    pub fn asked(&self) -> impl Iterator<Item = usize> + '_ {
        self.due.iter().copied().chain(self.probe)
    }
}

impl Pacing {
    /// `providers` providers asked every `interval`; all of them at the first tick.
    pub fn new(providers: usize, interval: Duration) -> Self {
        Self {
            backoffs: (0..providers).map(|_| Backoff::new(interval)).collect(),
            quorum_last_tick: true,
        }
    }

    /// Who is asked at the tick scheduled for `scheduled`.
    pub fn turn(&self, scheduled: Instant) -> Turn {
        let due: Vec<usize> = (0..self.backoffs.len())
            .filter(|&index| self.backoffs[index].is_due(scheduled))
            .collect();
        let probe = if self.quorum_last_tick {
            None
        } else {
            self.probe(scheduled)
        };
        Turn { due, probe }
    }

    /// The provider whose overload back-off ends soonest (the first in order on a tie); never
    /// one held by its own `Retry-After`, nor one that is due anyway.
    fn probe(&self, scheduled: Instant) -> Option<usize> {
        self.backoffs
            .iter()
            .enumerate()
            .filter(|(_, backoff)| !backoff.is_due(scheduled))
            .filter_map(|(index, backoff)| match backoff.hold() {
                Some((Hold::Overload, until)) => Some((until, index)),
                _ => None,
            })
            .min()
            .map(|(_, index)| index)
    }

    /// Records that provider `index` answered with a price; returns the failures in a row
    /// that this ends.
    pub fn succeeded(&mut self, index: usize) -> u32 {
        self.backoffs[index].succeeded()
    }

    /// Records that provider `index`, asked at the tick `scheduled`, failed at `answered`;
    /// returns until when it sits out, if it does.
    pub fn failed(
        &mut self,
        index: usize,
        scheduled: Instant,
        answered: Instant,
        retry: Retry,
    ) -> Option<Instant> {
        self.backoffs[index].failed(scheduled, answered, retry)
    }

    /// Records whether the tick that just ended had a quorum behind its price.
    pub fn tick_ended(&mut self, quorum: bool) {
        self.quorum_last_tick = quorum;
    }

    pub fn backoff(&self, index: usize) -> &Backoff {
        &self.backoffs[index]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::schedule::Schedule;

    const INTERVAL: Duration = Duration::from_secs(10);
    const PROVIDERS: usize = 6;
    /// How long after its tick every answer arrives.
    const ANSWER_TIME: Duration = Duration::from_millis(300);

    /// What one provider answers when asked.
    #[derive(Clone, Copy)]
    enum Answer {
        Price,
        Fails(Retry),
    }
    use Answer::*;

    /// What happened in a simulated run, tick by tick and provider by provider.
    struct Run {
        turns: Vec<Turn>,
        stored: Vec<bool>,
        asked_at: Vec<Vec<Instant>>,
    }

    /// `ticks` ticks of the real schedule on the paused clock, each provider answering what
    /// `answer(tick, provider)` says.
    async fn simulate(ticks: u32, answer: impl Fn(u32, usize) -> Answer) -> Run {
        let mut pacing = Pacing::new(PROVIDERS, INTERVAL);
        let mut schedule = Schedule::new(INTERVAL);
        let mut run = Run {
            turns: Vec::new(),
            stored: Vec::new(),
            asked_at: vec![Vec::new(); PROVIDERS],
        };
        for tick in 0..ticks {
            let scheduled = schedule.next().await;
            let turn = pacing.turn(scheduled);
            let mut stored = false;
            for index in turn.asked() {
                run.asked_at[index].push(scheduled);
                match answer(tick, index) {
                    Price => {
                        pacing.succeeded(index);
                        stored = true;
                    }
                    Fails(retry) => {
                        pacing.failed(index, scheduled, scheduled + ANSWER_TIME, retry);
                    }
                }
            }
            pacing.tick_ended(stored);
            run.turns.push(turn);
            run.stored.push(stored);
        }
        run
    }

    fn asked(turn: &Turn) -> Vec<usize> {
        turn.asked().collect()
    }

    const OVERLOADED: Answer = Fails(Retry::BackOff);
    const UNUSABLE: Answer = Fails(Retry::NextTick);

    #[tokio::test(start_paused = true)]
    async fn a_provider_answering_garbage_is_asked_every_tick() {
        let run = simulate(20, |_, provider| match provider {
            1 => UNUSABLE,
            _ => Price,
        })
        .await;
        assert_eq!(run.asked_at[1].len(), 20);
        assert!(run.turns.iter().all(|turn| turn.due.len() == PROVIDERS));
    }

    #[tokio::test(start_paused = true)]
    async fn while_prices_are_stored_nobody_is_probed() {
        let run = simulate(30, |_, provider| match provider {
            0 | 1 => Price,
            _ => OVERLOADED,
        })
        .await;
        assert!(run.turns.iter().all(|turn| turn.probe.is_none()));
        // Asked at ticks 0, 2, 6 and 12 (waits of 2, 4 then 6 intervals, the cap), 18 and 24.
        let start = run.asked_at[2][0];
        let ticks: Vec<u64> = run.asked_at[2]
            .iter()
            .map(|at| (*at - start).as_secs() / INTERVAL.as_secs())
            .collect();
        assert_eq!(ticks, [0, 2, 6, 12, 18, 24]);
    }

    #[tokio::test(start_paused = true)]
    async fn during_a_total_outage_one_backed_off_provider_is_probed_per_tick() {
        let run = simulate(60, |_, _| OVERLOADED).await;
        assert_eq!(asked(&run.turns[0]).len(), PROVIDERS);
        for (tick, turn) in run.turns.iter().enumerate().skip(1) {
            assert!(turn.probe.is_some(), "tick {tick}: {turn:?}");
            let asked = asked(turn);
            let distinct: HashSet<usize> = asked.iter().copied().collect();
            assert_eq!(distinct.len(), asked.len(), "tick {tick}: {turn:?}");
        }
        // The probes take turns: nobody is left out, nobody is asked every other tick.
        for (provider, times) in run.asked_at.iter().enumerate() {
            assert!((5..30).contains(&times.len()), "{provider}: {times:?}");
        }
        let requests: usize = run.asked_at.iter().map(Vec::len).sum();
        assert!(
            requests <= 6 + 2 * 59,
            "{requests} requests in 60 ticks of outage"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_total_outage_ends_at_the_first_tick_after_the_exchanges_return() {
        for returned in [1, 3, 17, 40, 41, 55] {
            let run = simulate(returned + 3, |tick, _| {
                if tick < returned { OVERLOADED } else { Price }
            })
            .await;
            let first_price = run.stored.iter().position(|&stored| stored);
            assert_eq!(first_price, Some(returned as usize), "back at {returned}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn garbage_from_a_due_provider_does_not_stop_the_probe() {
        // Kraken's outage: an error body with HTTP 200 every tick, while the others are down.
        let returned = 30;
        let run = simulate(returned + 2, |tick, provider| match provider {
            1 => UNUSABLE,
            _ if tick < returned => OVERLOADED,
            _ => Price,
        })
        .await;
        let outage = &run.turns[1..=returned as usize];
        assert!(outage.iter().all(|turn| turn.probe.is_some()));
        let first_price = run.stored.iter().position(|&stored| stored);
        assert_eq!(first_price, Some(returned as usize));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_is_never_cut_short_by_a_probe() {
        let wait = Duration::from_secs(45);
        // Provider 0 always asks for 45 s; the others are overloaded: every tick has a probe,
        // and provider 0's wait is often the one that ends soonest.
        let run = simulate(40, |_, provider| match provider {
            0 => Fails(Retry::After(wait)),
            _ => OVERLOADED,
        })
        .await;
        let asked_at = &run.asked_at[0];
        for pair in asked_at.windows(2) {
            assert!(pair[1] >= pair[0] + ANSWER_TIME + wait, "{asked_at:?}");
        }
        assert_eq!(
            asked_at.len(),
            8,
            "asked again as soon as allowed: {asked_at:?}"
        );
        assert!(run.turns.iter().all(|turn| turn.probe != Some(0)));
    }

    #[tokio::test(start_paused = true)]
    async fn nobody_is_probed_while_every_provider_is_under_its_retry_after() {
        let run = simulate(8, |tick, _| {
            if tick == 0 {
                Fails(Retry::After(Duration::from_secs(55)))
            } else {
                Price
            }
        })
        .await;
        for turn in &run.turns[1..6] {
            assert!(asked(turn).is_empty(), "{turn:?}");
        }
        assert_eq!(asked(&run.turns[6]), (0..PROVIDERS).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn the_probe_goes_to_the_back_off_that_ends_soonest() {
        let start = Instant::now();
        let mut pacing = Pacing::new(3, INTERVAL);
        pacing.failed(0, start, start, Retry::BackOff);
        pacing.failed(0, start, start, Retry::BackOff);
        pacing.failed(1, start, start, Retry::BackOff);
        pacing.failed(2, start, start, Retry::After(Duration::from_secs(11)));
        pacing.tick_ended(false);
        let next = start + INTERVAL;
        // 0 ends at +40 s, 1 at +20 s, 2 (its own Retry-After) at +11 s.
        assert_eq!(
            pacing.turn(next),
            Turn {
                due: vec![],
                probe: Some(1)
            }
        );
        pacing.tick_ended(true);
        assert_eq!(pacing.turn(next).probe, None, "a price was stored");
    }
}
