//! What the writer keeps, stored beside the samples so that a reader can check its own settings
//! against it at run time: pod A's two containers read `AVERAGE_WINDOW` separately, and an
//! api-a averaging over a longer window than the poller keeps would claim a window its samples
//! do not cover.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration_ms;

/// The poller's settings that readers depend on, as JSON at [`super::SETTINGS_KEY`], written
/// with every sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterSettings {
    /// `AVERAGE_WINDOW` as the poller read it, in milliseconds.
    pub window_ms: i64,
    /// How far back from the newest sample it keeps samples (the window plus a margin).
    pub retention_ms: i64,
    /// `POLL_INTERVAL`: a sample per interval when every tick stores a price.
    pub poll_interval_ms: i64,
}

impl WriterSettings {
    pub fn new(window: Duration, retention: Duration, poll_interval: Duration) -> Self {
        Self {
            window_ms: duration_ms(window),
            retention_ms: duration_ms(retention),
            poll_interval_ms: duration_ms(poll_interval),
        }
    }

    pub fn window(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.window_ms).unwrap_or(0))
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.poll_interval_ms).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_stored_as_milliseconds() {
        let settings = WriterSettings::new(
            Duration::from_secs(600),
            Duration::from_secs(660),
            Duration::from_secs(10),
        );
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(
            json,
            r#"{"window_ms":600000,"retention_ms":660000,"poll_interval_ms":10000}"#
        );
        assert_eq!(
            serde_json::from_str::<WriterSettings>(&json).unwrap(),
            settings
        );
        assert_eq!(settings.window(), Duration::from_secs(600));
        assert_eq!(settings.poll_interval(), Duration::from_secs(10));
    }
}
