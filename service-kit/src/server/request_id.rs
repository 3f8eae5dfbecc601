//! The request id: the `X-Request-ID` the ingress controller or the gateway sends (nginx's
//! `$request_id`), or one made here when there is none, so one request can be followed from the
//! proxy's log to the service's. It is put on the request (for the access log) and on the
//! response.

use std::cell::Cell;

use warp::http::HeaderValue;
use warp::http::header::HeaderName;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a client; a longer one is replaced, so that a log line stays short.
const MAX_LEN: usize = 128;

/// `given` if it is a reasonable id (1 to 128 visible ASCII characters), else a new one.
pub fn request_id(given: Option<&HeaderValue>) -> HeaderValue {
    given
        .filter(|value| {
            let bytes = value.as_bytes();
            (1..=MAX_LEN).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(new_id)
}

/// 128 random bits in hex, like nginx's `$request_id`. Ids only need to be unique, not secret:
/// they come from a fast generator per thread (SplitMix64), seeded once from the operating
/// system, rather than from a system call per request.
fn new_id() -> HeaderValue {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    let next = || {
        STATE.with(|state| {
            let value = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            state.set(value);
            let mut z = value;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    };
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 32];
    let bytes = (u128::from(next()) << 64 | u128::from(next())).to_be_bytes();
    for (pair, byte) in hex.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    HeaderValue::from_bytes(&hex).expect("hex is a valid header value")
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    u64::from_ne_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_id_is_kept_and_a_missing_or_unusable_one_replaced() {
        let sent = HeaderValue::from_static("3f2a9c1e-ingress");
        assert_eq!(request_id(Some(&sent)), sent);
        for unusable in [
            HeaderValue::from_static(""),
            HeaderValue::from_static("has space"),
            HeaderValue::from_str(&"x".repeat(129)).unwrap(),
        ] {
            let id = request_id(Some(&unusable));
            assert_ne!(id, unusable);
            assert_eq!(id.len(), 32);
        }
        let (a, b) = (request_id(None), request_id(None));
        assert_ne!(a, b, "made ids differ");
        assert!(a.to_str().unwrap().bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
