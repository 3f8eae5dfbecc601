fn main() -> std::process::ExitCode {
    common::service::main::<poller::Poller>()
}
