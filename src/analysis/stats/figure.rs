//! What the units share to describe their charts: columns as plain vectors, a
//! pivot of rows into series, and bar charts of a table's first rows.

use super::{f64s, strs};
use crate::analysis::{Chart, Spec, Table};
use polars::prelude::*;

/// A chart, or none when its table is absent or empty.
pub(super) type Built = PolarsResult<Option<Chart>>;

pub(super) fn col_f(df: &DataFrame, c: &str) -> PolarsResult<Vec<f64>> {
    Ok(f64s(df, c)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}
pub(super) fn col_s(df: &DataFrame, c: &str) -> PolarsResult<Vec<String>> {
    Ok(strs(df, c)?
        .into_iter()
        .map(|v| v.unwrap_or_else(|| "unknown".into()))
        .collect())
}

/// Rows of `table` as `category -> value` for each of `series` (a column naming the
/// series and a value column), categories in first-seen order, at most `top`.
pub(super) fn pivot(
    df: &DataFrame,
    cat: &dyn Fn(usize) -> String,
    ser: &[String],
    ser_of: &dyn Fn(usize) -> String,
    val: &[f64],
    top: usize,
) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
    let mut cats: Vec<String> = Vec::new();
    for i in 0..df.height() {
        let c = cat(i);
        if !cats.contains(&c) && cats.len() < top {
            cats.push(c);
        }
    }
    let series = ser
        .iter()
        .map(|s| {
            let mut v = vec![f64::NAN; cats.len()];
            for (i, &x) in val.iter().enumerate().take(df.height()) {
                if &ser_of(i) == s {
                    if let Some(k) = cats.iter().position(|c| *c == cat(i)) {
                        v[k] = x;
                    }
                }
            }
            (s.clone(), v)
        })
        .collect();
    (cats, series)
}

/// Bars of the `share` column of `t`'s first `top` rows, labelled by `key`.
pub(super) fn share_bars(
    t: &Table,
    key: &str,
    top: usize,
    name: &str,
    title: &str,
    caption: &str,
) -> Built {
    let cats: Vec<String> = col_s(&t.df, key)?.into_iter().take(top).collect();
    let vals: Vec<f64> = col_f(&t.df, "share")?.into_iter().take(top).collect();
    Ok(Some(Chart {
        name: name.into(),
        title: title.into(),
        caption: caption.into(),
        spec: Spec::Bars {
            categories: cats,
            series: vec![("share".into(), vals)],
            value_label: "share of devices".into(),
            percent: true,
        },
    }))
}

/// A bar chart of the first rows of a table.
pub(super) struct TopBars {
    pub key: &'static [&'static str],
    pub value: &'static str,
    pub top: usize,
    pub name: &'static str,
    pub title: &'static str,
    pub label: &'static str,
    pub percent: bool,
}

pub(super) fn top_bars(t: &Table, f: TopBars) -> Built {
    let keys: Vec<Vec<String>> = f
        .key
        .iter()
        .map(|k| col_s(&t.df, k))
        .collect::<PolarsResult<_>>()?;
    let cats: Vec<String> = (0..t.df.height().min(f.top))
        .map(|i| {
            keys.iter()
                .map(|k| k[i].as_str())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .collect();
    let vals: Vec<f64> = col_f(&t.df, f.value)?.into_iter().take(f.top).collect();
    Ok(Some(Chart {
        name: f.name.into(),
        title: f.title.into(),
        caption: t.note.clone(),
        spec: Spec::Bars {
            categories: cats,
            series: vec![(f.value.into(), vals)],
            value_label: f.label.into(),
            percent: f.percent,
        },
    }))
}
