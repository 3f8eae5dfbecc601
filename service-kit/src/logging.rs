//! Logging to stdout with `log` + `fern`: one JSON object per line by default, or plain text.
//! A record's key-values (e.g. the access log's `request_id`) become fields of the JSON object,
//! or `key=value` after the text.

use std::str::FromStr;
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `{"timestamp":..,"level":..,"target":..,"message":..}` per line, for log collectors.
    Json,
    /// `timestamp LEVEL target: message`, for people.
    Text,
}

impl FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            _ => Err("expected json or text"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    pub level: log::LevelFilter,
    pub format: LogFormat,
}

/// Libraries whose debug output is about their own internals (connections, TLS, pools); at
/// `debug` they stay at `info` so the services' own lines remain readable. `trace` shows all.
const CHATTY_DEPENDENCIES: &[&str] = &[
    "hyper",
    "hyper_util",
    "reqwest",
    "rustls",
    "rustls_platform_verifier",
    "warp",
];

/// Installs the global logger. Fails only if a logger is already installed.
pub fn init(config: LogConfig) -> Result<(), log::SetLoggerError> {
    let mut dispatch = fern::Dispatch::new().level(config.level);
    if config.level == log::LevelFilter::Debug {
        for target in CHATTY_DEPENDENCIES {
            dispatch = dispatch.level_for(*target, log::LevelFilter::Info);
        }
    }
    let dispatch = match config.format {
        LogFormat::Json => dispatch.format(|out, message, record| {
            out.finish(format_args!("{}", json_line(record, &message.to_string())))
        }),
        LogFormat::Text => dispatch.format(|out, message, record| {
            let fields: String = fields(record)
                .iter()
                .map(|(key, value)| format!(" {key}={value}"))
                .collect();
            out.finish(format_args!(
                "{} {:<5} {}: {}{}",
                humantime::format_rfc3339_millis(SystemTime::now()),
                record.level(),
                record.target(),
                message,
                fields
            ))
        }),
    };
    dispatch.chain(std::io::stdout()).apply()
}

#[derive(serde::Serialize)]
struct JsonLine<'a> {
    timestamp: String,
    level: &'static str,
    target: &'a str,
    message: &'a str,
    #[serde(flatten)]
    fields: std::collections::BTreeMap<String, String>,
}

fn json_line(record: &log::Record, message: &str) -> String {
    serde_json::to_string(&JsonLine {
        timestamp: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        level: record.level().as_str(),
        target: record.target(),
        message,
        fields: fields(record).into_iter().collect(),
    })
    .expect("a struct of strings always serializes")
}

/// The record's key-values, as text.
fn fields(record: &log::Record) -> Vec<(String, String)> {
    struct Collect(Vec<(String, String)>);
    impl<'kvs> log::kv::VisitSource<'kvs> for Collect {
        fn visit_pair(
            &mut self,
            key: log::kv::Key<'kvs>,
            value: log::kv::Value<'kvs>,
        ) -> Result<(), log::kv::Error> {
            self.0.push((key.to_string(), value.to_string()));
            Ok(())
        }
    }
    let mut collect = Collect(Vec::new());
    let _ = record.key_values().visit(&mut collect);
    collect.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_is_one_object_with_the_four_fields() {
        let line = json_line(
            &log::Record::builder()
                .level(log::Level::Warn)
                .target("poller::tick")
                .build(),
            "multi\nline \"quoted\"",
        );
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["level"], "WARN");
        assert_eq!(value["target"], "poller::tick");
        assert_eq!(value["message"], "multi\nline \"quoted\"");
        let timestamp = value["timestamp"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(timestamp).is_ok(), "{timestamp}");
    }

    #[test]
    fn key_values_become_fields_of_the_json_line() {
        let kvs = [("request_id", "3f2a")];
        let line = json_line(
            &log::Record::builder()
                .level(log::Level::Debug)
                .key_values(&kvs)
                .build(),
            "GET / -> 200",
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["request_id"], "3f2a");
        assert_eq!(value["message"], "GET / -> 200");
    }

    #[test]
    fn format_names_parse_case_insensitively() {
        assert_eq!("JSON".parse(), Ok(LogFormat::Json));
        assert_eq!("text".parse(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
