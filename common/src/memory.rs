//! Giving freed memory back to the operating system after a burst.
//!
//! glibc's allocator keeps memory that was freed in the middle of its heaps: after a flood of
//! connections closes, a service that idles at 5 MiB stayed at 40–55 MiB for good (seen in the
//! hostile-clients drill). A background task asks the allocator every few seconds how much it
//! holds unused and, past a threshold, hands it back (`malloc_trim`), which brought such a service
//! back to its idle size. Other allocators and platforms are left alone.

use std::time::Duration;

/// How often the allocator is asked.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Unused memory the allocator may keep: above this, it is returned.
const KEEP_AT_MOST: usize = 4 * 1024 * 1024;

/// Starts the task that returns unused memory, where the allocator is glibc's.
pub fn spawn_release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut ticks = tokio::time::interval(CHECK_EVERY);
        loop {
            ticks.tick().await;
            if glibc::unused_bytes() > KEEP_AT_MOST {
                glibc::release();
            }
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// The bytes glibc's allocator holds free in its heaps.
    pub fn unused_bytes() -> usize {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let info = unsafe { nix::libc::mallinfo2() };
        info.fordblks
    }

    /// Returns the free memory at the top and in the middle of every heap.
    pub fn release() {
        // SAFETY: malloc_trim is safe to call at any time; 0 keeps no padding.
        unsafe { nix::libc::malloc_trim(0) };
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::glibc;

    fn resident_bytes() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let kib: usize = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().strip_suffix(" kB"))
            .and_then(|kib| kib.trim().parse().ok())
            .unwrap();
        kib * 1024
    }

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
