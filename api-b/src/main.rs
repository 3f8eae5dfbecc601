fn main() -> std::process::ExitCode {
    common::service::main::<api_b::ApiB>()
}
