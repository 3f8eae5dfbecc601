//! The tokio runtime a binary runs on, sized to the CPUs it may use: `TOKIO_WORKER_THREADS` when
//! set, else what `std::thread::available_parallelism` reports, which honours the affinity mask
//! and the cgroup's CPU quota (1 under the manifests' limit of 500m).
//!
//! One worker is a current-thread runtime: every task, the accept loop included, runs on the main
//! thread, with no work-stealing queues and no wake-up sent from one thread to another, which a
//! replica limited to one core would only pay for (see docs/benchmarks.md). More workers are a
//! multi-thread runtime with that many. Either keeps a blocking pool, so `spawn_blocking` (a DNS
//! lookup uses it) works on both; `block_in_place` panics on a current-thread runtime, so nothing
//! here calls it.

use std::fmt;
use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Runtime};

/// How many threads run a service's tasks, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workers {
    pub count: usize,
    /// Whether `TOKIO_WORKER_THREADS` chose the count (else the CPUs available did).
    pub configured: bool,
}

impl Workers {
    /// `configured` (`TOKIO_WORKER_THREADS`), else one per CPU the process may use.
    pub fn choose(configured: Option<usize>) -> Self {
        match configured {
            Some(count) => Self {
                count,
                configured: true,
            },
            None => Self {
                count: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
                configured: false,
            },
        }
    }

    /// The runtime: current-thread for one worker, multi-thread for more.
    pub fn runtime(self) -> std::io::Result<Runtime> {
        let mut builder = if self.count == 1 {
            Builder::new_current_thread()
        } else {
            let mut builder = Builder::new_multi_thread();
            builder.worker_threads(self.count);
            builder
        };
        builder.enable_all().build()
    }
}

impl fmt::Display for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = if self.configured {
            "TOKIO_WORKER_THREADS"
        } else {
            "the CPUs available"
        };
        match self.count {
            1 => write!(f, "current-thread runtime: one worker ({source})"),
            count => write!(f, "multi-thread runtime: {count} workers ({source})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::runtime::RuntimeFlavor;

    #[test]
    fn one_worker_is_a_current_thread_runtime_and_more_a_multi_thread_one() {
        let one = Workers::choose(Some(1));
        let runtime = one.runtime().unwrap();
        assert_eq!(
            runtime.handle().runtime_flavor(),
            RuntimeFlavor::CurrentThread
        );
        assert_eq!(
            one.to_string(),
            "current-thread runtime: one worker (TOKIO_WORKER_THREADS)"
        );
        // spawn_blocking still has its pool.
        assert_eq!(
            runtime
                .block_on(async { tokio::task::spawn_blocking(|| 7).await })
                .unwrap(),
            7
        );

        let three = Workers::choose(Some(3));
        let runtime = three.runtime().unwrap();
        assert_eq!(
            runtime.handle().runtime_flavor(),
            RuntimeFlavor::MultiThread
        );
        assert_eq!(runtime.metrics().num_workers(), 3);
    }

    #[test]
    fn unset_it_is_one_worker_per_cpu_the_process_may_use() {
        let workers = Workers::choose(None);
        let cpus = std::thread::available_parallelism().unwrap().get();
        assert_eq!(
            workers,
            Workers {
                count: cpus,
                configured: false
            }
        );
        assert!(
            workers.to_string().ends_with("(the CPUs available)"),
            "{workers}"
        );
    }
}
