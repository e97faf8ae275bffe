//! `index.html` and `report.md`: the same sections in the same order.

use super::Meta;
use crate::analysis::Chart;
use crate::analysis::{Analysis, Table};
use base64::Engine as _;
use polars::prelude::*;
use std::fmt::Write as _;

/// Rows of a table shown in the page (the CSV has all of them).
const SHOWN: usize = 20;

/// The paper's published figure, what this fleet shows, and where it comes from.
pub struct Comparison {
    pub stat: String,
    pub published: f64,
    pub here: Option<f64>,
    pub source: String,
}

/// The calibration targets (the paper's figures) next to this fleet's numbers.
pub fn comparisons(a: &Analysis) -> Vec<Comparison> {
    let Ok(cal) = crate::catalog::calibration() else {
        return Vec::new();
    };
    cal.targets
        .iter()
        .map(|t| Comparison {
            stat: t.stat.clone(),
            published: t.value,
            here: a.number(&t.stat),
            source: t.source.clone(),
        })
        .collect()
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cell(v: &AnyValue) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::Float64(x) => fmt_f(*x),
        AnyValue::Float32(x) => fmt_f(f64::from(*x)),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

fn fmt_f(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    match x.abs() {
        a if a >= 1000.0 => format!("{x:.0}"),
        a if a >= 1.0 => format!("{x:.2}"),
        _ => format!("{x:.4}"),
    }
}

fn rows(t: &Table) -> (Vec<String>, Vec<Vec<String>>) {
    let df = &t.df;
    let head: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let body = (0..df.height().min(SHOWN))
        .map(|i| {
            df.columns()
                .iter()
                .map(|c| c.get(i).map(|v| cell(&v)).unwrap_or_default())
                .collect()
        })
        .collect();
    (head, body)
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn compared(c: &Comparison) -> (String, String) {
    let is_share = c.stat.contains("share");
    let f = |x: f64| if is_share { pct(x) } else { fmt_f(x) };
    (
        f(c.published),
        c.here.map(f).unwrap_or_else(|| "n/a".into()),
    )
}

pub fn markdown(a: &Analysis, meta: &Meta, charts: &[Chart], comparisons: &[Comparison]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Fleet report\n");
    let _ = writeln!(
        s,
        "{} devices (each counted once, by its latest report) that ran the suite {}, from `{}`, generated {}.\n",
        a.devices, a.suite, meta.source, meta.generated_at
    );
    let _ = writeln!(s, "## Findings\n");
    for (i, f) in a.findings.iter().enumerate() {
        let _ = writeln!(s, "{}. {f}", i + 1);
    }
    if !comparisons.is_empty() {
        let _ = writeln!(s, "\n## The paper's landscape and this fleet\n");
        let _ = writeln!(
            s,
            "| statistic | calibration target | this fleet | paper |\n|---|---|---|---|"
        );
        for c in comparisons {
            let (p, h) = compared(c);
            let _ = writeln!(s, "| `{}` | {p} | {h} | {} |", c.stat, c.source);
        }
    }
    let _ = writeln!(s, "\n## Charts\n");
    for c in charts {
        let _ = writeln!(
            s,
            "### {}\n\n![{}](charts/{}.png)\n\n{} ([SVG](charts/{}.svg))\n",
            c.title, c.title, c.name, c.caption, c.name
        );
    }
    let _ = writeln!(s, "## Tables\n");
    for t in &a.tables {
        let (head, body) = rows(t);
        let _ = writeln!(
            s,
            "### {}\n\n{} Full table: [tables/{}.csv](tables/{}.csv) ({} rows).\n",
            t.title,
            t.note,
            t.name,
            t.name,
            t.df.height()
        );
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
        for r in body {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        let _ = writeln!(s);
    }
    s
}

pub(super) const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#555;font-size:.92em}table{border-collapse:collapse;font-size:.86em;margin:.6em 0}\
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}th{background:#f4f4f4}\
td:first-child,th:first-child{text-align:left}.meta{color:#666}ol li{margin:.3em 0}";

pub fn html(
    a: &Analysis,
    meta: &Meta,
    charts: &[(&Chart, Vec<u8>)],
    comparisons: &[Comparison],
) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>fleetscope fleet report</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = writeln!(s, "<h1>Fleet report</h1>");
    let _ = writeln!(
        s,
        "<p class=\"meta\">{} devices (each counted once, by its latest report) that ran the suite {}, from <code>{}</code>, generated {}. Tables as CSV in <code>tables/</code>, headline numbers in <code>stats.json</code>.</p>",
        a.devices,
        esc(&a.suite),
        esc(&meta.source),
        esc(&meta.generated_at)
    );
    let _ = writeln!(s, "<h2>Findings</h2><ol>");
    for f in &a.findings {
        let _ = writeln!(s, "<li>{}</li>", esc(f));
    }
    let _ = writeln!(s, "</ol>");
    if !comparisons.is_empty() {
        let _ = writeln!(s, "<h2>The paper's landscape and this fleet</h2><p>Targets from <code>datasets/fleet_calibration.toml</code>: the published figure of Wu et al. (HPCA 2019), or our split of it where the paper gives a bound.</p><table><tr><th>statistic</th><th>calibration target</th><th>this fleet</th><th>paper</th></tr>");
        for c in comparisons {
            let (p, h) = compared(c);
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td>{p}</td><td>{h}</td><td>{}</td></tr>",
                esc(&c.stat),
                esc(&c.source)
            );
        }
        let _ = writeln!(s, "</table>");
    }
    let _ = writeln!(s, "<h2>Charts</h2>");
    for (c, png) in charts {
        let _ = writeln!(
            s,
            "<figure id=\"{}\"><img class=\"chart\" alt=\"{}\" width=\"{}\" height=\"{}\" src=\"data:image/png;base64,{}\"><figcaption><b>{}.</b> {} (<a href=\"charts/{}.svg\">SVG</a>)</figcaption></figure>",
            esc(&c.name),
            esc(&c.title),
            super::charts::SIZE.0,
            super::charts::SIZE.1,
            b64.encode(png),
            esc(&c.title),
            esc(&c.caption),
            esc(&c.name)
        );
    }
    let _ = writeln!(s, "<h2>Tables</h2>");
    for t in &a.tables {
        let (head, body) = rows(t);
        let _ = writeln!(
            s,
            "<h3 id=\"{}\">{}</h3><p>{} Showing {} of {} rows; all in <a href=\"tables/{}.csv\">tables/{}.csv</a>.</p><table><tr>",
            t.name,
            esc(t.title),
            esc(&t.note),
            body.len(),
            t.df.height(),
            t.name,
            t.name
        );
        for h in head {
            let _ = write!(s, "<th>{}</th>", esc(&h));
        }
        let _ = writeln!(s, "</tr>");
        for r in body {
            let _ = write!(s, "<tr>");
            for c in r {
                let _ = write!(s, "<td>{}</td>", esc(&c));
            }
            let _ = writeln!(s, "</tr>");
        }
        let _ = writeln!(s, "</table>");
    }
    let _ = writeln!(s, "</body></html>");
    s
}
