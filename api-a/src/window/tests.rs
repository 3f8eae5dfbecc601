//! The window's sums, ranges, rejections and thinning.

use super::*;

const NOW_MS: i64 = 1_763_730_000_000;
const WINDOW: Duration = Duration::from_secs(600);

fn sample(fetched_at_ms: i64, price_usd: f64) -> Sample {
    test_support::samples::confirmed(fetched_at_ms, price_usd)
}

fn window_of(list: &[(i64, f64)]) -> Window {
    let mut window = Window::default();
    for &(at, price) in list {
        window.push(&sample(at, price));
    }
    window
}

#[test]
fn the_window_includes_a_sample_exactly_window_old_and_excludes_an_older_one() {
    let start = NOW_MS - 600_000;
    let held = window_of(&[(start - 1, 1000.0), (start, 10.0), (NOW_MS - 1, 20.0)]);
    assert_eq!(
        held.stats(NOW_MS, WINDOW),
        Some(WindowStats {
            mean_price: 15.0,
            count: 2,
            oldest_ms: start,
            newest_ms: NOW_MS - 1,
        })
    );
}

#[test]
fn the_window_slides_with_now_over_the_same_samples() {
    let held = window_of(&[
        (NOW_MS - 590_000, 100.0),
        (NOW_MS - 300_000, 200.0),
        (NOW_MS, 600.0),
    ]);
    let mean_at = |now_ms| held.stats(now_ms, WINDOW).map(|w| (w.count, w.mean_price));
    assert_eq!(mean_at(NOW_MS), Some((3, 300.0)));
    // The oldest sample is exactly 600 s old 10 s later, and gone 1 ms after that.
    assert_eq!(mean_at(NOW_MS + 10_000), Some((3, 300.0)));
    assert_eq!(mean_at(NOW_MS + 10_001), Some((2, 400.0)));
    assert_eq!(mean_at(NOW_MS + 300_001), Some((1, 600.0)));
    assert_eq!(mean_at(NOW_MS + 600_001), None);
}

/// Found by an independent attack: a sample the poller stamped while its clock stood 100 s
/// ahead was averaged and drawn at once, and the average's `to` lay in the future.
#[test]
fn a_sample_stamped_ahead_counts_only_once_its_time_comes() {
    let held = window_of(&[
        (NOW_MS - 10_000, 100.0),
        (NOW_MS, 200.0),
        (NOW_MS + 1_000, 300.0),
        (NOW_MS + 100_000, 900.0),
    ]);
    let stats = held.stats(NOW_MS, WINDOW).unwrap();
    assert_eq!((stats.count, stats.mean_price), (3, 200.0));
    assert_eq!(stats.newest_ms, NOW_MS + 1_000, "a second ahead is no step");
    let drawn: Vec<_> = held
        .points(NOW_MS, WINDOW, 10)
        .iter()
        .map(|p| p.at_ms)
        .collect();
    assert_eq!(drawn, [NOW_MS - 10_000, NOW_MS, NOW_MS + 1_000]);
    assert_eq!(held.stats(NOW_MS + 100_000, WINDOW).unwrap().count, 4);
    let only_ahead = window_of(&[(NOW_MS + 100_000, 900.0)]);
    assert_eq!(only_ahead.stats(NOW_MS, WINDOW), None);
    assert!(only_ahead.points(NOW_MS, WINDOW, 10).is_empty());
}

#[test]
fn dropping_the_oldest_keeps_the_sums_of_the_rest_exact() {
    let mut held = window_of(&[(1, 0.1), (2, 0.2), (3, 97_123.456_7), (4, 0.3)]);
    held.drop_before(3);
    assert_eq!(held.len(), 2);
    let stats = held.stats(4, Duration::from_secs(1)).unwrap();
    assert_eq!(stats.count, 2);
    assert_eq!(stats.mean_price, (97_123.456_7 + 0.3) / 2.0);
    held.drop_before(5);
    assert_eq!((held.len(), held.newest_ms()), (0, None));
    held.push(&sample(6, 5.0));
    assert_eq!(held.stats(6, WINDOW).unwrap().mean_price, 5.0);
}

#[test]
fn samples_fetched_in_the_same_millisecond_are_all_held() {
    let held = window_of(&[(1, 10.0), (2, 20.0), (2, 40.0)]);
    assert_eq!((held.len(), held.held_at_newest()), (3, 2));
    let stats = held.stats(2, Duration::from_millis(0)).unwrap();
    assert_eq!((stats.count, stats.mean_price), (2, 30.0));
}

#[test]
fn points_are_the_window_s_samples_evenly_thinned_keeping_both_ends() {
    let held = window_of(&(0..10).map(|k| (k * 1_000, k as f64)).collect::<Vec<_>>());
    let at = |points: Vec<PricePoint>| points.iter().map(|p| p.at_ms).collect::<Vec<_>>();
    let window = Duration::from_secs(9);
    assert_eq!(
        at(held.points(9_000, window, 100)),
        (0..10).map(|k| k * 1_000).collect::<Vec<_>>()
    );
    assert_eq!(at(held.points(9_000, window, 4)), [0, 3_000, 6_000, 9_000]);
    assert_eq!(at(held.points(9_000, window, 2)), [0, 9_000]);
    assert_eq!(
        at(held.points(9_000, window, 0)),
        [0, 9_000],
        "never fewer than 2"
    );
    assert_eq!(
        at(held.points(9_000, Duration::from_secs(2), 100)),
        [7_000, 8_000, 9_000]
    );
    assert_eq!(held.points(20_000, window, 100), []);
    let one = held.points(9_000, Duration::ZERO, 100);
    assert_eq!(
        one,
        [PricePoint {
            at_ms: 9_000,
            price_usd: 9.0
        }]
    );
}

#[test]
fn the_recent_spacing_is_the_mean_gap_of_the_last_samples() {
    let mut held = window_of(&[(0, 1.0)]);
    assert_eq!(held.recent_spacing_ms(), None);
    held.push(&sample(60_000, 1.0));
    assert_eq!(held.recent_spacing_ms(), Some(60_000));
    for k in 1..=4 {
        held.push(&sample(60_000 + k * 10_000, 1.0));
    }
    assert_eq!(
        held.recent_spacing_ms(),
        Some(10_000),
        "the old gap is forgotten"
    );
}

#[test]
fn a_rejected_sample_is_counted_where_it_stands_but_never_averaged_or_drawn() {
    let mut held = window_of(&[(1_000, 10.0)]);
    held.push_rejected(2_000, Rejection::Implausible);
    held.push(&sample(3_000, 30.0));
    held.push_rejected(3_000, Rejection::Unreadable);
    assert_eq!(held.len(), 4);
    assert_eq!((held.newest_ms(), held.held_at_newest()), (Some(3_000), 2));
    let stats = held.stats(3_000, Duration::from_secs(10)).unwrap();
    assert_eq!((stats.count, stats.mean_price), (2, 20.0));
    let drawn: Vec<i64> = held
        .points(3_000, Duration::from_secs(10), 100)
        .iter()
        .map(|p| p.at_ms)
        .collect();
    assert_eq!(drawn, [1_000, 3_000]);
    held.drop_before(2_001);
    assert_eq!(held.len(), 2);
    assert_eq!(held.rejected().collect::<Vec<_>>(), [Rejection::Unreadable]);
}

#[test]
fn an_empty_window_has_no_stats() {
    assert_eq!(Window::default().stats(NOW_MS, WINDOW), None);
}
