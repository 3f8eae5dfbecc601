//! Liveness and readiness, as `/healthz` and `/readyz` report them.
//!
//! Checks are plain synchronous closures over state a service keeps up to date in the
//! background, so a probe never waits on a dependency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

type Check = Box<dyn Fn() -> bool + Send + Sync>;

#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    draining: AtomicBool,
    live: Check,
    ready: Check,
}

/// What `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady,
    ShuttingDown,
}

impl Health {
    /// Live and ready for as long as the process runs, until shutdown starts.
    pub fn always() -> Self {
        Self::with_checks(|| true, || true)
    }

    /// `live` decides `/healthz`; `ready` decides `/readyz` until shutdown starts.
    pub fn with_checks(
        live: impl Fn() -> bool + Send + Sync + 'static,
        ready: impl Fn() -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                draining: AtomicBool::new(false),
                live: Box::new(live),
                ready: Box::new(ready),
            }),
        }
    }

    pub fn is_live(&self) -> bool {
        (self.inner.live)()
    }

    pub fn readiness(&self) -> Readiness {
        if self.is_draining() {
            Readiness::ShuttingDown
        } else if (self.inner.ready)() {
            Readiness::Ready
        } else {
            Readiness::NotReady
        }
    }

    /// Whether shutdown has started.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
    }

    /// From now on `/readyz` answers 503, for good.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draining_wins_over_a_ready_check() {
        let health = Health::always();
        assert_eq!(health.readiness(), Readiness::Ready);
        health.start_draining();
        assert_eq!(health.readiness(), Readiness::ShuttingDown);
        assert!(health.is_live());
    }

    #[test]
    fn checks_are_consulted_on_every_call() {
        let ready = Arc::new(AtomicBool::new(false));
        let flag = ready.clone();
        let health = Health::with_checks(|| false, move || flag.load(Ordering::Relaxed));
        assert!(!health.is_live());
        assert_eq!(health.readiness(), Readiness::NotReady);
        ready.store(true, Ordering::Relaxed);
        assert_eq!(health.readiness(), Readiness::Ready);
    }
}
