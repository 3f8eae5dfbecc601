//! The whole poller in-process: fake exchanges (wiremock) serving the real fixture bodies, a
//! real redis-server, a short interval. Prices arrive on schedule, bad answers never reach
//! Redis, a lone or lying source never moves the price far from what a quorum confirmed,
//! failing and rate-limited providers are backed off while the others carry on, and a Redis
//! that dies, restarts or freezes is survived.

#[path = "../shared/fixtures.rs"]
mod fixtures;
mod support;

mod backoff;
mod health;
mod integrity;
mod metrics;
mod pacing;
mod prices;
mod redis;
