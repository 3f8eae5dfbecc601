//! The `poller` binary: configuration from the environment, then `poller::run` (see the library).

fn main() -> std::process::ExitCode {
    service_kit::service::main(
        "poller",
        poller::Config::from_env,
        |config| &config.server,
        poller::run,
    )
}
