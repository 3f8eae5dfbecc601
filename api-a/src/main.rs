fn main() -> std::process::ExitCode {
    service_kit::service::main(
        "api-a",
        api_a::Config::from_env,
        |config| &config.server,
        api_a::run,
    )
}
