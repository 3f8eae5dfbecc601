fn main() -> std::process::ExitCode {
    service_kit::service::main(
        "api-b",
        api_b::Config::from_env,
        |config| &config.server,
        api_b::run,
    )
}
