//! Giving freed memory back to the operating system after a burst.
//!
//! glibc's allocator keeps memory that was freed in the middle of its heaps: after a flood of
//! connections closes, a service that idles at 5 MiB stayed at 40–55 MiB for good (seen in the
//! hostile-clients drill). A background task looks every few seconds at what the allocator has in
//! use and at the process's resident size, and when memory was freed or pages came back since it
//! last gave memory back, it hands the free pages back (`malloc_trim`); it stops with the service
//! ([`crate::shutdown`]). Other allocators and platforms are left alone.
//!
//! All threads allocate from one heap: with glibc's default of one heap per thread that
//! allocates, a flood's blocks were spread over several heaps, each left with pages it could not
//! return, and after a flood of 2 000 connections api-b settled anywhere from 5 % to 70 % over
//! its idle size (6 runs); with one heap, within 6–11 % (10 runs), at the same throughput.
//!
//! Measured again against the worry that the trigger fires under steady load while holding the
//! heap's lock (api-a `/current` at a steady 5 000 requests a second, 20 s, 4 runs each, on 2
//! shared cores): it fires when the load changes (three times, 2 s apart, as a burst starts or
//! ends), never during steady load, saturating included (40 s at 64 connections), each trim taking
//! 25–60 µs (once 2.4 ms, right after a warm-up). Median p99 / p99.9 with the trigger, without it
//! and with jemalloc (tikv-jemallocator, background purging, 1 s dirty decay), at 1 / 2 / 4 / 8
//! tokio workers: 4.2–4.5 / 7.7–9.8 ms, 3.5–6.5 / 7.8–15.5 ms, 3.6–5.0 / 8.0–10.1 ms: the same
//! within the runs' spread (p99.9 from 7 to 89 ms for one setting), and no gain from more workers
//! than cores (the default, one per core, stays); jemalloc spent 17–21 µs of CPU a request against
//! 19–23 µs. What differs is the memory: after the hostile-clients drill's flood api-a and api-b
//! settled 3–4 % over idle with the trigger, 13–15 % with jemalloc (which also idles 1–2 MiB
//! higher) and 430–550 % without it (31–33 MiB). So glibc, one heap and the trigger stay.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the allocator is asked.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Growth that may stay with the allocator: past this, free memory is returned. Small against a
/// service's idle size (5–7 MiB), so that size is what it goes back to.
const KEEP_AT_MOST: usize = 256 * 1024;

/// Makes every thread allocate from one heap, where the allocator is glibc's. Called before any
/// thread is started: a thread that has already allocated keeps the heap it has.
pub fn use_one_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::one_heap();
}

/// Returns unused memory every [`CHECK_EVERY`], where the allocator is glibc's, until `stop` is
/// cancelled (elsewhere it returns at once): the body of a background task.
pub async fn release_until(stop: CancellationToken) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    stop.run_until_cancelled(release_forever()).await;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    drop(stop);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
async fn release_forever() {
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    let mut since = SinceRelease::default();
    loop {
        ticks.tick().await;
        if since.grew(glibc::usage()) {
            glibc::release();
            since.released(glibc::usage());
        }
    }
}

/// What the allocator has in use and what the process holds resident, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Usage {
    in_use: usize,
    resident: usize,
}

/// Whether memory is worth returning, judged against the usage right after the last release.
/// Two signals, because each misses a case: less memory in use means some was freed, as when a
/// burst ends; and memory taken then freed again between two looks leaves the amount in use
/// where it was, but brought its pages back: the resident size grew. (The allocator's count of
/// free bytes is no signal: it stays the same when the pages of free chunks are returned, and
/// drops when the allocator shrinks a heap on its own.) An idle service changes neither and is
/// not trimmed again.
#[derive(Debug, Default)]
struct SinceRelease {
    at_release: Usage,
}

impl SinceRelease {
    /// Whether, at `now`, more than [`KEEP_AT_MOST`] was freed or came back resident.
    fn grew(&self, now: Usage) -> bool {
        self.at_release.in_use.saturating_sub(now.in_use) > KEEP_AT_MOST
            || now.resident.saturating_sub(self.at_release.resident) > KEEP_AT_MOST
    }

    /// Records the usage right after a release.
    fn released(&mut self, now: Usage) {
        self.at_release = now;
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use super::Usage;

    /// What glibc's allocator has in use and what the process holds resident.
    pub fn usage() -> Usage {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let info = unsafe { nix::libc::mallinfo2() };
        Usage {
            in_use: info.uordblks,
            resident: resident_bytes(),
        }
    }

    /// The process's resident size, from `/proc/self/statm` (in pages); 0 if unreadable.
    pub fn resident_bytes() -> usize {
        let pages = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<usize>().ok())
            .unwrap_or(0);
        // SAFETY: sysconf only reads a system setting.
        let page_size = unsafe { nix::libc::sysconf(nix::libc::_SC_PAGESIZE) };
        pages * usize::try_from(page_size).unwrap_or(4096)
    }

    /// The bytes glibc's allocator holds free in its heaps.
    #[cfg(test)]
    pub fn unused_bytes() -> usize {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let info = unsafe { nix::libc::mallinfo2() };
        info.fordblks
    }

    /// Every thread allocates from the main heap (glibc's `M_ARENA_MAX` = 1).
    pub fn one_heap() {
        // SAFETY: mallopt only changes a setting of the allocator.
        if unsafe { nix::libc::mallopt(nix::libc::M_ARENA_MAX, 1) } != 1 {
            log::warn!("cannot make the allocator use one heap");
        }
    }

    /// Returns the free memory at the top and in the middle of every heap.
    pub fn release() {
        // SAFETY: malloc_trim is safe to call at any time; 0 keeps no padding.
        unsafe { nix::libc::malloc_trim(0) };
    }
}

#[cfg(test)]
mod since_release_tests {
    use super::{SinceRelease, Usage};

    const MIB: usize = 1024 * 1024;

    fn usage(in_use: usize, resident: usize) -> Usage {
        Usage { in_use, resident }
    }

    fn released_at(in_use: usize, resident: usize) -> SinceRelease {
        let mut since = SinceRelease::default();
        since.released(usage(in_use, resident));
        since
    }

    #[test]
    fn an_idle_service_is_not_released_again() {
        let since = released_at(2 * MIB, 6 * MIB);
        assert!(!since.grew(usage(2 * MIB, 6 * MIB)));
        assert!(!since.grew(usage(2 * MIB + 1000, 6 * MIB)));
    }

    #[test]
    fn memory_freed_when_a_burst_ends_is_released() {
        let since = released_at(30 * MIB, 36 * MIB);
        assert!(since.grew(usage(2 * MIB, 36 * MIB)));
    }

    #[test]
    fn memory_taken_then_freed_again_between_two_looks_is_released() {
        let since = released_at(2 * MIB, 6 * MIB);
        assert!(since.grew(usage(2 * MIB, 10 * MIB)));
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::glibc::{self, resident_bytes};

    #[test]
    fn memory_freed_in_the_middle_of_the_heap_goes_back_to_the_system() {
        const MIB: usize = 1024 * 1024;
        // 64 MiB of small blocks, freed but for one in a thousand, which pins the heap's top.
        let blocks: Vec<Vec<u8>> = (0..64 * 1024).map(|_| vec![1u8; 1024]).collect();
        let pins: Vec<Vec<u8>> = blocks.iter().step_by(1000).cloned().collect();
        drop(blocks);
        assert!(
            glibc::unused_bytes() > 32 * MIB,
            "glibc keeps what was freed"
        );
        let before = resident_bytes();
        glibc::release();
        let after = resident_bytes();
        assert!(
            before - after > 32 * MIB,
            "{before} -> {after} bytes resident"
        );
        drop(pins);
    }
}
