//! Chart descriptions: what a statistic wants drawn (bars, lines or points, labels,
//! reference lines), independent of any drawing library. `render` draws them.

/// A reference line with its label.
#[derive(Debug, Clone)]
pub struct Mark {
    pub at: f64,
    pub label: String,
}

/// What to draw.
#[derive(Debug, Clone)]
pub enum Spec {
    /// Horizontal bars: one row per category (first at the top), one bar per series.
    Bars {
        categories: Vec<String>,
        series: Vec<(String, Vec<f64>)>,
        value_label: String,
        percent: bool,
    },
    /// Lines through points; optional log y axis and reference lines.
    Lines {
        x_label: String,
        y_label: String,
        series: Vec<(String, Vec<(f64, f64)>)>,
        y_log: bool,
        percent_y: bool,
        hlines: Vec<Mark>,
        vlines: Vec<Mark>,
    },
    /// One row per category (first at the top): a point with its interval
    /// (low, value, high), and a reference line at zero.
    Intervals {
        categories: Vec<String>,
        points: Vec<(f64, f64, f64)>,
        value_label: String,
    },
    /// Points; log y axis optional.
    Scatter {
        x_label: String,
        y_label: String,
        series: Vec<(String, Vec<(f64, f64)>)>,
        y_log: bool,
        hlines: Vec<Mark>,
    },
}

/// One chart of the report.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem.
    pub name: String,
    pub title: String,
    pub caption: String,
    pub spec: Spec,
}
