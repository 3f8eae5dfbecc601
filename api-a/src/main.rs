fn main() -> std::process::ExitCode {
    common::service::main(
        "api-a",
        api_a::Config::from_env,
        |config| &config.server,
        api_a::run,
    )
}
