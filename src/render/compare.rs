//! The comparison's pages: `compare.md` and a self-contained `compare.html` in the
//! report's style (the chart of the largest changes with their intervals, the tables
//! of significant regressions and improvements), `compare.json` (the `--json`
//! object), every tested cell as `tables/compare_cells.csv`, the chart as PNG and SVG.

use super::{charts, failed, pages, write, RenderError};
use crate::analysis::compare::{Cell, Comparison};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Write the comparison into `out`; returns the HTML page's path.
pub fn write_comparison(
    c: &Comparison,
    out: &Path,
    base: &str,
    new: &str,
) -> Result<PathBuf, RenderError> {
    let chart_dir = out.join("charts");
    let table_dir = out.join("tables");
    for d in [&chart_dir, &table_dir] {
        std::fs::create_dir_all(d).map_err(failed("create", d))?;
    }
    let chart = c.chart(20);
    let png = match &chart {
        Some(ch) => Some(
            charts::draw(ch, &chart_dir).map_err(|detail| RenderError::Draw {
                chart: ch.name.clone(),
                detail,
            })?,
        ),
        None => None,
    };
    let json =
        serde_json::to_string_pretty(c).map_err(failed("encode", &out.join("compare.json")))?;
    write(&out.join("compare.json"), &(json + "\n"))?;
    let mut csv = String::from("kernel,dtype,shape,threads,group,change_pct,ci_low_pct,ci_high_pct,p_value,q_value,n_base,n_new,method\n");
    for x in &c.tested {
        let _ = writeln!(
            csv,
            "{},{},\"{}\",{},\"{}\",{},{},{},{:.3e},{:.3e},{},{},{}",
            x.kernel,
            x.dtype,
            x.shape,
            x.threads,
            x.group,
            x.change_pct,
            x.ci_pct[0],
            x.ci_pct[1],
            x.p_value,
            x.q_value,
            x.n_base,
            x.n_new,
            x.method
        );
    }
    write(&table_dir.join("compare_cells.csv"), &csv)?;
    write(&out.join("compare.md"), &markdown(c, base, new))?;
    let page = out.join("compare.html");
    write(
        &page,
        &html(
            c,
            base,
            new,
            chart.as_ref().zip(png.as_ref().map(|(p, _)| p)),
        ),
    )?;
    Ok(page)
}

fn summary(c: &Comparison, base: &str, new: &str) -> String {
    format!(
        "`{new}` against `{base}`: {} cells tested ({} paired by device), {} with too few samples. {} regressions and {} improvements of at least {:.0} % at a false discovery rate of {:.0} %. Base suite {}; new suite {}.",
        c.cells_tested,
        c.paired_cells(),
        c.insufficient,
        c.regressions.len(),
        c.improvements.len(),
        100.0 * c.options.threshold,
        100.0 * c.options.alpha,
        c.base_suite,
        c.new_suite
    )
}

fn md_table(s: &mut String, title: &str, cells: &[Cell]) {
    let _ = writeln!(s, "## {title}\n");
    if cells.is_empty() {
        let _ = writeln!(s, "None.\n");
        return;
    }
    let _ = writeln!(s, "| cell | change | 95 % interval | q | n base | n new | method |\n|---|---:|---|---:|---:|---:|---|");
    for x in cells {
        let _ = writeln!(
            s,
            "| {} | {:+.1} % | {:+.1} % .. {:+.1} % | {:.2e} | {} | {} | {} |",
            Comparison::label(x),
            x.change_pct,
            x.ci_pct[0],
            x.ci_pct[1],
            x.q_value,
            x.n_base,
            x.n_new,
            x.method
        );
    }
    s.push('\n');
}

fn markdown(c: &Comparison, base: &str, new: &str) -> String {
    let mut s = String::from("# Fleet comparison\n\n");
    let _ = writeln!(s, "{}\n", summary(c, base, new));
    if c.chart(20).is_some() {
        let _ = writeln!(s, "![largest changes](charts/compare_changes.svg)\n");
    }
    md_table(&mut s, "Regressions (slower)", &c.regressions);
    md_table(&mut s, "Improvements (faster)", &c.improvements);
    let _ = writeln!(s, "Every tested cell: `tables/compare_cells.csv`.");
    s
}

fn html_table(s: &mut String, title: &str, cells: &[Cell]) {
    let _ = writeln!(s, "<h2>{}</h2>", pages::esc(title));
    if cells.is_empty() {
        let _ = writeln!(s, "<p>None.</p>");
        return;
    }
    let _ = writeln!(s, "<table><tr><th>cell</th><th>change</th><th>95 % interval</th><th>q</th><th>n base</th><th>n new</th><th>method</th></tr>");
    for x in cells {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{:+.1} %</td><td>{:+.1} % .. {:+.1} %</td><td>{:.2e}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            pages::esc(&Comparison::label(x)), x.change_pct, x.ci_pct[0], x.ci_pct[1], x.q_value, x.n_base, x.n_new, x.method
        );
    }
    let _ = writeln!(s, "</table>");
}

fn html(
    c: &Comparison,
    base: &str,
    new: &str,
    chart: Option<(&crate::analysis::Chart, &Vec<u8>)>,
) -> String {
    use base64::Engine as _;
    let mut s = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>fleetscope comparison</title><style>{}</style></head><body>\n<h1>Fleet comparison</h1>\n<p class=\"meta\">{}</p>\n",
        pages::STYLE,
        pages::esc(&summary(c, base, new))
    );
    if let Some((ch, png)) = chart {
        let _ = writeln!(
            s,
            "<figure><img class=\"chart\" alt=\"{}\" width=\"{}\" height=\"{}\" src=\"data:image/png;base64,{}\"><figcaption><b>{}.</b> {} (<a href=\"charts/{}.svg\">SVG</a>)</figcaption></figure>",
            pages::esc(&ch.title),
            charts::SIZE.0,
            charts::SIZE.1,
            base64::engine::general_purpose::STANDARD.encode(png),
            pages::esc(&ch.title),
            pages::esc(&ch.caption),
            ch.name
        );
    }
    html_table(&mut s, "Regressions (slower)", &c.regressions);
    html_table(&mut s, "Improvements (faster)", &c.improvements);
    let _ = writeln!(s, "<p>Every tested cell: <a href=\"tables/compare_cells.csv\">tables/compare_cells.csv</a>.</p></body></html>");
    s
}
