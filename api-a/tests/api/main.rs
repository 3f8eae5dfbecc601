//! Service A's API in-process on 127.0.0.1:0, reading samples from a real redis-server that the
//! test seeds with the poller's writer. One test binary, a module per subject.

mod evidence;
mod history;
mod http;
mod outages;
mod page;
mod prices;
mod refresh;
mod support;
