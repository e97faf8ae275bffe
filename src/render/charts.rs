//! Chart drawing with plotters: the analysis's three chart shapes (horizontal grouped
//! bars, lines, scatter), each drawn to PNG and SVG from its description. Category labels are
//! one per row of a horizontal bar chart, so they never overlap.

use crate::analysis::{Chart, Mark, Spec};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("../../reports/assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
pub const SIZE: (u32, u32) = (1000, 560);

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Register the bundled DejaVu Sans once (no system fonts needed).
fn font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| "the bundled DejaVu Sans font is invalid".to_string())
    })
    .clone()
}

type Res = Result<(), String>;

fn e<E: std::fmt::Debug>(err: E) -> String {
    format!("drawing a chart: {err:?}")
}

/// Write `DIR/NAME.png` and `DIR/NAME.svg` of `chart`; returns the PNG bytes and SVG text.
pub fn draw(chart: &Chart, dir: &Path) -> Result<(Vec<u8>, String), String> {
    font()?;
    let png_path = dir.join(format!("{}.png", chart.name));
    {
        let root = BitMapBackend::new(&png_path, SIZE).into_drawing_area();
        draw_on(chart, &root)?;
        root.present().map_err(e)?;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw_on(chart, &root)?;
        root.present().map_err(e)?;
    }
    std::fs::write(dir.join(format!("{}.svg", chart.name)), &svg)
        .map_err(|err| format!("cannot write {}.svg: {err}", chart.name))?;
    let png = std::fs::read(&png_path)
        .map_err(|err| format!("cannot read back {}: {err}", png_path.display()))?;
    Ok((png, svg))
}

fn draw_on<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>) -> Res {
    let s = chart;
    {
        root.fill(&WHITE).map_err(e)?;
        match &s.spec {
            Spec::Bars {
                categories,
                series,
                value_label,
                percent,
            } => bars(root, &s.title, categories, series, value_label, *percent),
            Spec::Lines {
                x_label,
                y_label,
                series,
                y_log,
                percent_y,
                hlines,
                vlines,
            } => xy(
                root, &s.title, x_label, y_label, series, *y_log, *percent_y, hlines, vlines, true,
            ),
            Spec::Intervals {
                categories,
                points,
                value_label,
            } => intervals(root, &s.title, categories, points, value_label),
            Spec::Scatter {
                x_label,
                y_label,
                series,
                y_log,
                hlines,
            } => xy(
                root,
                &s.title,
                x_label,
                y_label,
                series,
                *y_log,
                false,
                hlines,
                &[],
                false,
            ),
        }
    }
}

fn fmt_value(v: f64, percent: bool) -> String {
    match () {
        _ if percent => format!("{:.1}%", 100.0 * v),
        _ if v.abs() >= 100.0 => format!("{v:.0}"),
        _ if v.abs() >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

fn bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
    value_label: &str,
    percent: bool,
) -> Res {
    let n = categories.len().max(1);
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let x_max = if max > 0.0 { max * 1.18 } else { 1.0 };
    let longest = categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4);
    let label_w = (longest as u32 * 8 + 24).clamp(90, 340);
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0f64..x_max, -0.5f64..(n as f64 - 0.5))
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(value_label)
        .x_label_formatter(&|v| fmt_value(*v, percent))
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 16))
        .draw()
        .map_err(e)?;
    let row = |i: usize| (n - 1 - i) as f64;
    let ns = series.len().max(1);
    let band = 0.8 / ns as f64;
    for (s, (name, values)) in series.iter().enumerate() {
        let color = COLORS[s % COLORS.len()];
        let rects: Vec<Rectangle<(f64, f64)>> = values
            .iter()
            .enumerate()
            .filter(|(i, v)| *i < n && v.is_finite())
            .map(|(i, &v)| {
                let y0 = row(i) + 0.4 - (s as f64 + 1.0) * band;
                Rectangle::new(
                    [(0.0, y0 + band * 0.08), (v, y0 + band * 0.92)],
                    color.filled(),
                )
            })
            .collect();
        let anno = chart.draw_series(rects).map_err(e)?;
        if series.len() > 1 {
            anno.label(name.as_str()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
            });
        }
        // The value at the end of each bar.
        let small = (FAMILY, 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let labels: Vec<Text<(f64, f64), String>> = values
            .iter()
            .enumerate()
            .filter(|(i, v)| *i < n && v.is_finite())
            .map(|(i, &v)| {
                let y = row(i) + 0.4 - (s as f64 + 0.5) * band;
                Text::new(format!(" {}", fmt_value(v, percent)), (v, y), small.clone())
            })
            .collect();
        chart.draw_series(labels).map_err(e)?;
    }
    // Category labels, right-aligned against the axis, one per row.
    let style = (FAMILY, 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, c) in categories.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, row(i)));
        root.draw(&Text::new(c.clone(), (x - 8, y), style.clone()))
            .map_err(e)?;
    }
    if series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FAMILY, 14))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}

/// A forest plot: per row a point and its interval, a line at zero.
fn intervals<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    categories: &[String],
    points: &[(f64, f64, f64)],
    value_label: &str,
) -> Res {
    let n = categories.len().max(1);
    let finite = points
        .iter()
        .flat_map(|&(l, m, h)| [l, m, h])
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let pad = ((hi - lo) * 0.08).max(1.0);
    let longest = categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4);
    let label_w = (longest as u32 * 8 + 24).clamp(90, 420);
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(label_w)
        .build_cartesian_2d((lo - pad)..(hi + pad), -0.5f64..(n as f64 - 0.5))
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(value_label)
        .x_label_formatter(&|v| format!("{v:+.0}%"))
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 16))
        .draw()
        .map_err(e)?;
    let row = |i: usize| (n - 1 - i) as f64;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
            BLACK.mix(0.5).stroke_width(1),
        )))
        .map_err(e)?;
    for (i, &(l, m, h)) in points.iter().enumerate().take(n) {
        if !(l.is_finite() && m.is_finite() && h.is_finite()) {
            continue;
        }
        let color = if m > 0.0 { COLORS[3] } else { COLORS[2] };
        let y = row(i);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(l, y), (h, y)],
                color.stroke_width(3),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Circle::new((m, y), 5, color.filled())))
            .map_err(e)?;
        let small = (FAMILY, 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Bottom));
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {m:+.1}%"),
                (m, y + 0.1),
                small,
            )))
            .map_err(e)?;
    }
    let style = (FAMILY, 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, c) in categories.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(lo - pad, row(i)));
        root.draw(&Text::new(c.clone(), (x - 8, y), style.clone()))
            .map_err(e)?;
    }
    Ok(())
}

fn bounds(
    series: &[(String, Vec<(f64, f64)>)],
    marks: &[Mark],
    log: bool,
) -> ((f64, f64), (f64, f64)) {
    let pts = series
        .iter()
        .flat_map(|(_, p)| p.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite() && (!log || *y > 0.0));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    for m in marks {
        y0 = y0.min(m.at);
        y1 = y1.max(m.at);
    }
    if x0 > x1 {
        return ((0.0, 1.0), (if log { 0.1 } else { 0.0 }, 1.0));
    }
    if x0 == x1 {
        x0 -= 1.0;
        x1 += 1.0;
    }
    let y = if log {
        (y0.max(1e-6) / 1.5, y1.max(y0 * 2.0) * 1.5)
    } else {
        (y0.min(0.0), if y1 > 0.0 { y1 * 1.08 } else { 1.0 })
    };
    ((x0, x1), y)
}

macro_rules! xy_body {
    ($root:expr, $title:expr, $xl:expr, $yl:expr, $series:expr, $percent:expr, $hlines:expr, $vlines:expr, $line:expr, $x:expr, $y:expr, $yr:expr) => {{
        let mut chart = ChartBuilder::on($root)
            .caption($title, (FAMILY, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d($x.0..$x.1, $yr)
            .map_err(e)?;
        let percent = $percent;
        chart
            .configure_mesh()
            .x_desc($xl)
            .y_desc($yl)
            .x_label_formatter(&|v| {
                if v.fract() == 0.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.2}")
                }
            })
            .y_label_formatter(&|v| fmt_value(*v, percent))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .light_line_style(BLACK.mix(0.06))
            .draw()
            .map_err(e)?;
        for (s, (name, pts)) in $series.iter().enumerate() {
            let color = COLORS[s % COLORS.len()];
            let pts: Vec<(f64, f64)> = pts
                .iter()
                .copied()
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .collect();
            let anno = if $line {
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(3)))
                    .map_err(e)?
            } else if s == 0 {
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&p| Circle::new(p, 3, color.mix(0.6).filled())),
                    )
                    .map_err(e)?
            } else {
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&p| TriangleMarker::new(p, 4, color.mix(0.7).filled())),
                    )
                    .map_err(e)?
            };
            anno.label(name.as_str()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
            });
        }
        let small = (FAMILY, 13).into_font().color(&BLACK);
        for m in $hlines.iter() {
            chart
                .draw_series(LineSeries::new(
                    vec![($x.0, m.at), ($x.1, m.at)],
                    BLACK.mix(0.55).stroke_width(1),
                ))
                .map_err(e)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    m.label.clone(),
                    ($x.0 + ($x.1 - $x.0) * 0.01, m.at),
                    small.clone().pos(Pos::new(HPos::Left, VPos::Bottom)),
                )))
                .map_err(e)?;
        }
        for (k, m) in $vlines.iter().enumerate() {
            chart
                .draw_series(LineSeries::new(
                    vec![(m.at, $y.0), (m.at, $y.1)],
                    BLACK.mix(0.55).stroke_width(1),
                ))
                .map_err(e)?;
            // Stagger labels so neighbouring marks never print over each other.
            let frac = 0.12 + 0.08 * k as f64;
            let yy = $y.0 + ($y.1 - $y.0) * frac;
            chart
                .draw_series(std::iter::once(Text::new(
                    m.label.clone(),
                    (m.at, yy),
                    small.clone().pos(Pos::new(HPos::Left, VPos::Center)),
                )))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FAMILY, 14))
            .draw()
            .map_err(e)?;
        Ok(())
    }};
}

#[allow(clippy::too_many_arguments)]
fn xy<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    y_log: bool,
    percent_y: bool,
    hlines: &[Mark],
    vlines: &[Mark],
    line: bool,
) -> Res {
    let (x, y) = bounds(series, hlines, y_log);
    if y_log {
        // On a log axis the vertical-line labels sit at geometric fractions.
        let yg = (y.0, y.1);
        xy_body!(
            root,
            title,
            x_label,
            y_label,
            series,
            percent_y,
            hlines,
            vlines,
            line,
            x,
            yg,
            (y.0..y.1).log_scale()
        )
    } else {
        xy_body!(
            root,
            title,
            x_label,
            y_label,
            series,
            percent_y,
            hlines,
            vlines,
            line,
            x,
            y,
            y.0..y.1
        )
    }
}
