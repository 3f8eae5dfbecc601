//! The price chart of the web page, drawn on the server as SVG so the page is complete without
//! JavaScript. Its geometry (the drawing area inside the SVG's view box) is written into the
//! SVG's `data-` attributes, and `assets/page.js` redraws it from `/history` with the same
//! numbers, so there is one definition of where a price goes.

use crate::window::PricePoint;

use super::format::{clock, usd};

/// The SVG's view box (it scales to the page's width) and the drawing area's margins: room for
/// the price labels on the left, the times below.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

pub const GEOMETRY: Geometry = Geometry {
    width: 600.0,
    height: 260.0,
    left: 8.0,
    right: 8.0,
    top: 8.0,
    bottom: 36.0,
};

/// The share of the price range added above and below it: room for the labels of the highest
/// and lowest prices, inside the drawing area.
const PADDING: f64 = 0.2;

impl Geometry {
    /// Where the drawing area ends on the right.
    pub fn plot_right(&self) -> f64 {
        self.width - self.right
    }

    /// Where the drawing area ends at the bottom.
    pub fn plot_bottom(&self) -> f64 {
        self.height - self.bottom
    }
}

const WIDTH: f64 = GEOMETRY.width;
const HEIGHT: f64 = GEOMETRY.height;
const LEFT: f64 = GEOMETRY.left;
const RIGHT: f64 = GEOMETRY.right;
const TOP: f64 = GEOMETRY.top;
const BOTTOM: f64 = GEOMETRY.bottom;

/// Up to this many points, each sample is also drawn as a dot; beyond, only the line.
pub const MAX_DOTS: usize = 120;

/// A position in the view box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xy {
    pub x: f64,
    pub y: f64,
}

/// A label on an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub at: f64,
    pub text: String,
}

/// What the template draws.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    /// The samples' positions, oldest first, as the `points` of an SVG polyline.
    pub line: String,
    /// One dot per sample, when they are few enough to be told apart.
    pub dots: Vec<Xy>,
    /// The height of the average's line, if there is an average.
    pub average_y: Option<f64>,
    /// The highest and lowest prices of the samples, at their heights.
    pub price_labels: Vec<Label>,
    /// The times of the oldest and newest sample, below.
    pub time_labels: Vec<Label>,
}

/// The scale from prices and times to the view box.
struct Scale {
    low: f64,
    high: f64,
    first_ms: i64,
    last_ms: i64,
}

impl Scale {
    fn of(points: &[PricePoint], average: Option<f64>) -> Option<Self> {
        let (first, last) = (points.first()?, points.last()?);
        let prices = points.iter().map(|p| p.price_usd).chain(average);
        let (low, high) = prices.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p), hi.max(p))
        });
        // A flat series gets a band of a few cents around it rather than a division by zero.
        let pad = ((high - low) * PADDING)
            .max(high.abs() * 0.000_05)
            .max(0.01);
        Some(Self {
            low: low - pad,
            high: high + pad,
            first_ms: first.at_ms,
            last_ms: last.at_ms,
        })
    }

    fn x(&self, at_ms: i64) -> f64 {
        let span = (self.last_ms - self.first_ms) as f64;
        let share = if span > 0.0 {
            (at_ms - self.first_ms) as f64 / span
        } else {
            0.5
        };
        tenth(LEFT + share * (WIDTH - LEFT - RIGHT))
    }

    fn y(&self, price: f64) -> f64 {
        let share = (self.high - price) / (self.high - self.low);
        tenth(TOP + share * (HEIGHT - TOP - BOTTOM))
    }
}

/// The chart of `points` (oldest first) with the line of `average`; empty without points.
pub fn chart(points: &[PricePoint], average: Option<f64>) -> Chart {
    let Some(scale) = Scale::of(points, average) else {
        return Chart::default();
    };
    let positions: Vec<Xy> = points
        .iter()
        .map(|p| Xy {
            x: scale.x(p.at_ms),
            y: scale.y(p.price_usd),
        })
        .collect();
    let line = positions
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let dots = if positions.len() <= MAX_DOTS {
        positions
    } else {
        Vec::new()
    };
    let prices = points.iter().map(|p| p.price_usd);
    let highest = prices.clone().fold(f64::NEG_INFINITY, f64::max);
    let lowest = prices.fold(f64::INFINITY, f64::min);
    // A flat series has one price to label, not the same one twice.
    let labelled: &[f64] = if highest > lowest {
        &[highest, lowest]
    } else {
        &[highest]
    };
    let price_labels = labelled
        .iter()
        .copied()
        .map(|price| Label {
            at: scale.y(price),
            text: usd(price),
        })
        .collect();
    let time_labels = [scale.first_ms, scale.last_ms]
        .into_iter()
        .map(|at_ms| Label {
            at: scale.x(at_ms),
            text: clock(at_ms),
        })
        .collect();
    Chart {
        line,
        dots,
        average_y: average.map(|price| scale.y(price)),
        price_labels,
        time_labels,
    }
}

/// Rounded to a tenth of a view-box unit: finer than any screen shows, and short in the page.
fn tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at_ms: i64, price_usd: f64) -> PricePoint {
        PricePoint { at_ms, price_usd }
    }

    #[test]
    fn points_span_the_drawing_area_and_the_average_sits_between_them() {
        let points = [point(0, 100.0), point(5_000, 300.0), point(10_000, 200.0)];
        let drawn = chart(&points, Some(200.0));
        assert_eq!(drawn.dots.len(), 3);
        assert_eq!(drawn.dots[0].x, LEFT);
        assert_eq!(drawn.dots[2].x, WIDTH - RIGHT);
        let (highest, lowest) = (drawn.dots[1].y, drawn.dots[0].y);
        assert!(TOP < highest && highest < lowest && lowest < HEIGHT - BOTTOM);
        let average = drawn.average_y.unwrap();
        assert_eq!(
            average, drawn.dots[2].y,
            "the average is drawn where its price is"
        );
        assert_eq!(drawn.line.split(' ').count(), 3);
        assert_eq!(drawn.time_labels[0].text, "00:00:00 UTC");
        let labels: Vec<(f64, &str)> = drawn
            .price_labels
            .iter()
            .map(|l| (l.at, l.text.as_str()))
            .collect();
        assert_eq!(labels, [(highest, "$300.00"), (lowest, "$100.00")]);
    }

    #[test]
    fn a_single_flat_sample_is_centred_without_dividing_by_zero() {
        let drawn = chart(&[point(7_000, 97_000.0)], Some(97_000.0));
        let dot = drawn.dots[0];
        assert_eq!(dot.x, tenth(LEFT + (WIDTH - LEFT - RIGHT) / 2.0));
        assert!(dot.y.is_finite() && TOP < dot.y && dot.y < HEIGHT - BOTTOM);
    }

    #[test]
    fn a_flat_series_labels_its_price_once() {
        let drawn = chart(&[point(0, 5.0), point(1, 5.0)], Some(5.0));
        assert_eq!(drawn.price_labels.len(), 1);
        assert_eq!(drawn.price_labels[0].text, "$5.00");
    }

    #[test]
    fn many_points_are_drawn_as_a_line_without_dots() {
        let points: Vec<_> = (0..=MAX_DOTS as i64)
            .map(|k| point(k, 1.0 + k as f64))
            .collect();
        let drawn = chart(&points, None);
        assert!(drawn.dots.is_empty());
        assert_eq!(drawn.line.split(' ').count(), MAX_DOTS + 1);
        assert_eq!(drawn.average_y, None);
    }

    #[test]
    fn no_points_no_chart() {
        assert_eq!(chart(&[], Some(1.0)), Chart::default());
    }
}
