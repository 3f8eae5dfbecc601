//! The process's open-files limit, which bounds how many connections a server can hold.
//!
//! Every connection is a file descriptor. Container runtimes and Kubernetes give a high hard
//! limit but often a low soft one (1024), so a service raises its soft limit to the hard limit at
//! start-up, as Go's runtime does, and never accepts more connections than the limit leaves room
//! for.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Descriptors kept for everything but client connections: the listener, Redis, outbound
/// requests to the exchanges, the runtime's own.
const RESERVED_DESCRIPTORS: u64 = 128;

/// Raises the soft open-files limit to the hard limit; returns the new soft limit.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard.max(soft))
}

/// `configured` connections, or fewer if the open-files limit does not leave room for them.
pub fn cap(configured: usize) -> usize {
    let Ok((soft, _)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return configured;
    };
    let room = usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
    if room < configured {
        log::warn!(
            "{configured} connections exceed what the open-files limit ({soft}) allows: \
             accepting at most {room}"
        );
    }
    configured.min(room.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_caps_the_connections_and_never_raises_them() {
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let room = usize::try_from(soft - RESERVED_DESCRIPTORS).unwrap();
        assert_eq!(cap(10), 10.min(room));
        assert_eq!(cap(usize::MAX), room);
    }
}
