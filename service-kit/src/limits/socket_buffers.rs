//! How much the kernel may buffer for one connection: the sizes the listener sets with
//! `SO_SNDBUF` and `SO_RCVBUF` (every accepted socket inherits them), and the worst case the
//! connection cap counts for them. Unbounded, Linux autotunes a socket's send buffer up to
//! `tcp_wmem`'s maximum (4 MiB) and its receive buffer up to `tcp_rmem`'s: a client that pipelines
//! requests and never reads held 4 MiB of kernel memory per connection on the server's side, and
//! under cgroup v2 that memory is charged to the container's memory limit.

/// What `SO_SNDBUF` asks for; Linux doubles it for its bookkeeping (`skmem`'s `tb`). Within a
/// cluster (about 1 ms round trip, a pod's share of the node's link about 1 Gbit/s) the
/// bandwidth-delay product is about 125 KB: a kernel buffer of 256 KiB keeps a whole window in
/// flight while the next is queued, and holds the largest answer (api-a's `/history` of 5 000
/// samples, about 245 KB) at once, so it leaves at the pace of the congestion window, never
/// waiting for the server. More would only serve clients that do not read.
pub const SEND_BUFFER_BYTES: usize = 128 << 10;

/// What `SO_RCVBUF` asks for (doubled as well, `rb`): requests are heads of at most 16 KiB (see
/// `server::MAX_HEAD_BYTES`) and no bodies, so the largest head fits the window the kernel
/// advertises for a buffer of 32 KiB (about half of it) and is read in one flight. Set on the
/// listener before `listen`, so the window offered in the handshake is already this buffer's.
pub const RECEIVE_BUFFER_BYTES: usize = 16 << 10;

/// The kernel memory one connection may hold at worst: both buffers as the kernel doubles them,
/// and what the send buffer may take over its size (the kernel checks for room before it adds a
/// packet, not after). Measured with `ss -tm` on clients that pipeline requests and never read:
/// 35 KB over the send buffer, 320 KiB held in all, against 352 KiB counted.
pub const KERNEL_BYTES_PER_CONNECTION: u64 =
    2 * (SEND_BUFFER_BYTES + RECEIVE_BUFFER_BYTES) as u64 + OVERSHOOT_BYTES;

/// What the send buffer may hold over its size: one packet of the largest the kernel builds
/// (64 KiB).
const OVERSHOOT_BYTES: u64 = 64 << 10;
