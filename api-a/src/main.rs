fn main() -> std::process::ExitCode {
    common::service::main::<api_a::ApiA>()
}
