//! How many connections a server holds at once: the one rule for `MAX_CONNECTIONS`.
//!
//! Set, it is taken as it is. Unset, it is what the container's memory limit ([`cgroup`]) leaves
//! room for once the process's own needs are set aside, at the cost of the costliest connection
//! a client can hold ([`CONNECTION_BYTES`]: measured in the process, plus the kernel's socket
//! buffers at the bound the listener sets, [`socket_buffers`], which cgroup v2 charges to the
//! container too), and at most [`DEFAULT_MAX_CONNECTIONS`] (also the figure without a memory
//! limit): so a flood up to the cap slows the service down (new connections wait in the kernel's
//! backlog) instead of getting it killed for its memory. Either way the open-files limit caps it
//! ([`open_files`]). The figure and where it came from are logged at start-up.

mod cgroup;
mod open_files;
mod socket_buffers;

pub use open_files::raise_open_files_limit;
pub use socket_buffers::{KERNEL_BYTES_PER_CONNECTION, RECEIVE_BUFFER_BYTES, SEND_BUFFER_BYTES};

/// Connections without a memory limit, and at most with one: far above what a replica behind a
/// proxy with keep-alive needs, low enough for the open-files limit of a container.
const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// Memory set aside for everything but the connections: the process at rest (5-10 MiB), the
/// window of samples api-a holds (1.4 MiB for a day at 1 s), requests being answered, and the
/// allocator's slack after a burst.
const RESERVED_BYTES: u64 = 24 << 20;

/// What one connection may cost in the process: above the costliest kind measured on the release
/// binaries (resident memory over 1 000 connections of each kind held at once): 1.7 KiB silent,
/// 12 KiB idle after an answer, 30 KiB for a slow head of 15 KiB, 17 KiB for a client that asked
/// for a large answer and reads nothing, 31-59 KiB for one that pipelines requests and reads
/// nothing (hyper's 64 KiB read buffer filling, an answer waiting to be written). An answer
/// larger than those of the default configuration (api-a's `/history` with a window of more than
/// an hour of samples: up to 245 KB) costs its size more: set `MAX_CONNECTIONS` then
/// (docs/configuration.md).
const PROCESS_BYTES: u64 = 64 << 10;

/// What one connection may cost: in the process, and in the kernel's socket buffers at their
/// bound.
const CONNECTION_BYTES: u64 = PROCESS_BYTES + KERNEL_BYTES_PER_CONNECTION;

/// The fewest connections a memory limit gives: a container too small for them would fail
/// anyway, and a proxy keeps a few dozen open.
const MIN_CONNECTIONS: usize = 64;

/// The number of connections to accept at once: `configured` (`MAX_CONNECTIONS`), or what the
/// memory limit allows; capped by the open-files limit. Logs the figure and its reason.
pub fn connections_allowed(configured: Option<usize>) -> usize {
    let (wanted, reason) = match configured {
        Some(count) => (count, "MAX_CONNECTIONS".to_owned()),
        None => match cgroup::memory_limit() {
            Some(limit) => (
                for_memory_limit(limit),
                format!(
                    "the memory limit of {} MiB, {} MiB set aside, {} KiB a connection: {} KiB in \
                     the process, {} KiB of kernel socket buffers",
                    limit >> 20,
                    RESERVED_BYTES >> 20,
                    CONNECTION_BYTES >> 10,
                    PROCESS_BYTES >> 10,
                    KERNEL_BYTES_PER_CONNECTION >> 10
                ),
            ),
            None => (DEFAULT_MAX_CONNECTIONS, "no memory limit".to_owned()),
        },
    };
    let allowed = open_files::cap(wanted);
    log::info!("at most {allowed} connections at once ({reason})");
    allowed
}

/// The connections a memory limit of `limit` bytes leaves room for.
fn for_memory_limit(limit: u64) -> usize {
    let room = limit.saturating_sub(RESERVED_BYTES) / CONNECTION_BYTES;
    usize::try_from(room)
        .unwrap_or(usize::MAX)
        .clamp(MIN_CONNECTIONS, DEFAULT_MAX_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn the_memory_left_after_the_reserve_is_shared_by_the_connections() {
        let limit = RESERVED_BYTES + 1000 * CONNECTION_BYTES + CONNECTION_BYTES / 2;
        assert_eq!(for_memory_limit(limit), 1000);
    }

    #[test]
    fn the_manifests_limit_gives_connections_that_fit_in_it_kernel_buffers_included() {
        let connections = for_memory_limit(128 * MIB);
        assert_eq!(connections, 256, "the figure docs/configuration.md gives");
        let process = connections as u64 * PROCESS_BYTES;
        let kernel = connections as u64 * 2 * (SEND_BUFFER_BYTES + RECEIVE_BUFFER_BYTES) as u64;
        let worst = RESERVED_BYTES + process + kernel;
        assert!(worst <= 128 * MIB, "{worst}");
    }

    #[test]
    fn a_large_limit_keeps_the_default_and_a_tiny_one_the_minimum() {
        assert_eq!(for_memory_limit(64 << 30), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(for_memory_limit(16 * MIB), MIN_CONNECTIONS);
    }

    #[test]
    fn a_configured_count_is_kept_when_the_open_files_limit_allows_it() {
        assert_eq!(connections_allowed(Some(10)), 10);
    }
}
