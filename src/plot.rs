//! Pictures (PNG): sample grids of the FSR model's images at every level, and
//! the training plots of a run directory (training.md, "Experiments"):
//!
//! * `moment-gaps.png` (E1): the relative moment gaps `gap{l}_c2`, `gap{l}_c4`
//!   of every level against the global step, stage by stage, with their
//!   sampling floors `floor{l}_c{c}`;
//! * `alignment-level{l}.png` (E2): heatmaps of `|cos|` between the stage
//!   discriminator's first-layer filters and the atoms of the learner's `M'_l`
//!   and of the true `M_l`, read from `alignment-level{l}.json`.
//!
//! Every PNG is drawn into a temporary file in the destination directory and
//! renamed into place.

use std::path::{Path, PathBuf};

use ndarray::{ArrayView4, Axis};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::io::rundir::Row;

/// Errors of drawing a plot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The path does not end in a supported extension.
    #[error("{0}: plots are written as .png")]
    Extension(String),
    /// Nothing to draw.
    #[error("nothing to draw: {0}")]
    Empty(String),
    /// An input file (`alignment-level{l}.json`) cannot be read or is malformed.
    #[error("{path}: {reason}")]
    Input {
        /// The input file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The drawing backend failed.
    #[error("drawing {path}: {reason}")]
    Backend {
        /// The output file.
        path: String,
        /// The backend's message.
        reason: String,
    },
}

/// The font of every label, shipped inside the binary (DejaVu Sans,
/// `assets/fonts/`, Bitstream Vera licence beside it), so plots render on a
/// machine with no fonts installed.
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Registers [`FONT`] as plotters' `sans-serif` (every style falls back to
/// it); idempotent.
fn ensure_font() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font DejaVu Sans cannot be read".to_string())
    })
    .clone()
}

/// The colour scale of level `l` in a sample figure: the 99th percentile of
/// `|x|` over the level's nonzero values (a sparse image is mostly zeros, so
/// the maximum is an outlier and the mean is near 0), or the maximum when
/// fewer than 100 values are nonzero; 1 for an all-zero level.
pub fn level_scale(x: &ArrayView4<'_, f64>) -> f64 {
    let mut v: Vec<f64> = x.iter().map(|v| v.abs()).filter(|v| *v > 0.0).collect();
    if v.is_empty() {
        return 1.0;
    }
    v.sort_by(f64::total_cmp);
    let k = if v.len() >= 100 {
        ((v.len() as f64 * 0.99).ceil() as usize).min(v.len()) - 1
    } else {
        v.len() - 1
    };
    v[k]
}

/// Draws `rows` samples (one per row) of the image sets `sets` (each a name
/// and its levels `x[l]`, `(B, c, r_l, r_l)`), side by side per level: one
/// column group per level, one column per set, each image upscaled (nearest
/// neighbour) to the largest resolution. Colours per level: `0.5 + 0.5 v / s_l`
/// clamped (grey is 0), with `s_l` from the **first** set ([`level_scale`])
/// and used for every set, so they compare; RGB for `c = 3`, grey for
/// `c = 1`, the first channel otherwise. The caption names the scales.
///
/// The PNG is written to a temporary file and renamed into place.
///
/// # Errors
/// [`PlotError`] for a non-PNG path, no images, sets with different levels,
/// or a backend failure.
pub fn sample_figure(
    path: &Path,
    sets: &[(&str, &[ArrayView4<'_, f64>])],
    rows: usize,
) -> Result<(), PlotError> {
    sample_figure_from(path, sets, rows, 1)
}

/// [`sample_figure`] whose first column group is level `first_level`.
fn sample_figure_from(
    path: &Path,
    sets: &[(&str, &[ArrayView4<'_, f64>])],
    rows: usize,
    first_level: usize,
) -> Result<(), PlotError> {
    let display = path.display().to_string();
    if path.extension().and_then(|e| e.to_str()) != Some("png") {
        return Err(PlotError::Extension(display));
    }
    let Some((_, first)) = sets.first() else {
        return Err(PlotError::Empty("no image sets".into()));
    };
    let levels = first.len();
    if levels == 0 || sets.iter().any(|(_, x)| x.len() != levels) {
        return Err(PlotError::Empty(
            "every image set needs the same, nonzero number of levels".into(),
        ));
    }
    let rows = sets
        .iter()
        .flat_map(|(_, x)| x.iter().map(|a| a.len_of(Axis(0))))
        .fold(rows, usize::min);
    if rows == 0 {
        return Err(PlotError::Empty("no samples".into()));
    }
    let scales: Vec<f64> = first.iter().map(level_scale).collect();
    let r_max = first.iter().map(|a| a.shape()[2]).max().unwrap_or(1);
    let cell = (96 / r_max).max(1) * r_max;
    let (gap, top, bottom) = (6usize, 40usize, 24usize);
    let group = sets.len() * (cell + gap) + 2 * gap;
    let width = (levels * group + gap) as u32;
    let height = (top + rows * (cell + gap) + bottom) as u32;
    let caption = format!(
        "grey = 0; full colour = +/- s_l per level, from the {} samples: s = {}",
        sets[0].0,
        scales
            .iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    write_png(path, (width, height), |root| {
        for (l, &scale) in scales.iter().enumerate() {
            let g0 = gap + l * group;
            let r = first[l].shape()[2];
            root.draw(&Text::new(
                format!("level {} ({r}x{r})", l + first_level),
                (g0 as i32, 2),
                font(15),
            ))?;
            for (k, (name, x)) in sets.iter().enumerate() {
                let a = &x[l];
                let (_, c, r, _) = a.dim();
                let up = cell / r;
                let x0 = g0 + k * (cell + gap);
                root.draw(&Text::new(name.to_string(), (x0 as i32, 20), font(13)))?;
                for row in 0..rows {
                    let y0 = top + row * (cell + gap);
                    let img = a.index_axis(Axis(0), row);
                    for py in 0..r {
                        for px in 0..r {
                            let v = |ch: usize| {
                                let t = 0.5 + 0.5 * img[[ch.min(c - 1), py, px]] / scale;
                                (t.clamp(0.0, 1.0) * 255.0).round() as u8
                            };
                            let color = if c == 3 {
                                RGBColor(v(0), v(1), v(2))
                            } else {
                                RGBColor(v(0), v(0), v(0))
                            };
                            let (xa, ya) = ((x0 + px * up) as i32, (y0 + py * up) as i32);
                            root.draw(&Rectangle::new(
                                [(xa, ya), (xa + up as i32, ya + up as i32)],
                                color.filled(),
                            ))?;
                        }
                    }
                }
            }
        }
        root.draw(&Text::new(
            caption,
            (gap as i32, (height as usize - bottom + 4) as i32),
            font(12),
        ))?;
        Ok(())
    })
}

/// The super-resolution picture `superres.png`: for the same real parents
/// `X_{l-1}` (held-out samples), the real child `X_l` beside the learner's
/// child `M'_l up'_{l-1}(decode(X_{l-1}))`, levels `2..L` (`children[l-2]`,
/// `learner[l-2]`), [`sample_figure`]'s colours.
///
/// # Errors
/// As [`sample_figure`].
pub fn superres_figure<'a>(
    path: &Path,
    children: &[ArrayView4<'a, f64>],
    learner: &[ArrayView4<'a, f64>],
    rows: usize,
) -> Result<(), PlotError> {
    sample_figure_from(
        path,
        &[("real child", children), ("learner's child", learner)],
        rows,
        2,
    )
}

/// [`sample_figure`] of one image set (`sample --grid`).
///
/// # Errors
/// As [`sample_figure`].
pub fn sample_grid(path: &Path, x: &[ArrayView4<'_, f64>], rows: usize) -> Result<(), PlotError> {
    sample_figure(path, &[("real", x)], rows)
}

/// Draws the training plots of a run directory `dir` from its metrics `rows`:
/// `moment-gaps.png` (E1, when some row has a `gap{l}_c2`) and
/// `alignment-level{l}.png` for every `alignment-level{l}.json` in `dir` (E2).
///
/// # Errors
/// [`PlotError::Input`] naming the file for an unreadable or malformed
/// `alignment-level{l}.json` (or an unreadable `dir`),
/// [`PlotError::Backend`] if drawing fails.
pub fn training_plots(dir: &Path, rows: &[Row]) -> Result<(), PlotError> {
    let levels = gap_levels(rows);
    if levels > 0 {
        moment_gaps_plot(&dir.join("moment-gaps.png"), rows, levels)?;
    }
    for (l, suffix, json) in alignment_files(dir)? {
        let a = read_alignment(&json, l)?;
        alignment_plot(&dir.join(format!("alignment-level{l}{suffix}.png")), &a)?;
    }
    Ok(())
}

/// The number of model levels in `rows`: the largest `l` such that some row
/// has a value `gap{l}_c2` (0 if none).
pub fn gap_levels(rows: &[Row]) -> usize {
    rows.iter()
        .flat_map(|r| r.values.keys())
        .filter_map(|k| {
            k.strip_prefix("gap")?
                .strip_suffix("_c2")?
                .parse::<usize>()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

/// What a drawing step returns; plotters' errors are boxed and become
/// [`PlotError::Backend`] in [`write_png`].
type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Text style of titles, labels and legends.
fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().into()
}

/// Draws a `size` PNG with `draw` into a temporary file beside `path` and
/// renames it to `path`.
fn write_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Drawn,
) -> Result<(), PlotError> {
    let backend_err = |reason: String| PlotError::Backend {
        path: path.display().to_string(),
        reason,
    };
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}.png",
        path.file_stem().and_then(|s| s.to_str()).unwrap_or("plot"),
        std::process::id()
    ));
    ensure_font().map_err(backend_err)?;
    let drawn = {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Into::into))
    };
    match drawn
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()))
    {
        Ok(()) => Ok(()),
        Err(reason) => {
            let _ = std::fs::remove_file(&tmp);
            Err(backend_err(reason))
        }
    }
}

// ---------------------------------------------------------------- E1 ----

/// The moment orders drawn in E1 and their colours.
const GAP_SERIES: [(usize, RGBColor); 2] =
    [(2, RGBColor(31, 119, 180)), (4, RGBColor(214, 39, 40))];

/// Colour of the stage boundaries and labels.
const STAGE_COLOUR: RGBColor = RGBColor(110, 110, 110);

/// Pixels from the top of an E1 panel to its legend (below the stage names).
const LEGEND_TOP: i32 = 26;

/// Room kept for the legend at the right of an E1 panel, in pixels.
const LEGEND_WIDTH: i32 = 230;

/// Stand-in for zeros on the log axis when no value is positive.
const DEFAULT_LOG_FLOOR: f64 = 1e-6;

/// A stage's consecutive rows: its name and the global steps where it starts
/// (the previous stage's last step) and ends (its own last step).
struct StageSpan<'a> {
    name: &'a str,
    start: f64,
    end: f64,
}

/// The stages of `rows` in order (a new span wherever `row.stage` changes).
fn stage_spans(rows: &[Row]) -> Vec<StageSpan<'_>> {
    let mut spans: Vec<StageSpan<'_>> = Vec::new();
    for r in rows {
        let step = r.step as f64;
        match spans.last_mut() {
            Some(s) if s.name == r.stage => s.end = step,
            last => {
                let start = last.map_or(step, |s| s.end);
                spans.push(StageSpan {
                    name: &r.stage,
                    start,
                    end: step,
                });
            }
        }
    }
    spans
}

/// The points `(step, value)` of the metric `key` (rows without it are skipped).
fn series(rows: &[Row], key: &str) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| r.values.get(key).map(|&v| (r.step as f64, v)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// The constant sampling floor `floor{l}_c{c}` (its last finite value).
fn floor_value(rows: &[Row], key: &str) -> Option<f64> {
    rows.iter()
        .rev()
        .filter_map(|r| r.values.get(key))
        .copied()
        .find(|v| v.is_finite())
}

/// `moment-gaps.png` (E1): one panel per level `1..=levels` (two columns).
fn moment_gaps_plot(path: &Path, rows: &[Row], levels: usize) -> Result<(), PlotError> {
    let cols = levels.min(2);
    let grid_rows = levels.div_ceil(cols);
    let size = (760 * cols as u32, 60 + 440 * grid_rows as u32);
    write_png(path, size, |root| {
        let area = root.titled(
            "E1: relative moment gaps of the learner's patches vs global step, by stage",
            font(22),
        )?;
        for (i, panel) in area
            .split_evenly((grid_rows, cols))
            .iter()
            .enumerate()
            .take(levels)
        {
            gap_panel(panel, rows, i + 1)?;
        }
        Ok(())
    })
}

/// One E1 panel: `gap{l}_c2`, `gap{l}_c4` with their floors `floor{l}_c{c}`.
fn gap_panel(area: &DrawingArea<BitMapBackend<'_>, Shift>, rows: &[Row], l: usize) -> Drawn {
    let series: Vec<(String, Option<String>, RGBColor)> = GAP_SERIES
        .iter()
        .map(|(c, colour)| {
            (
                format!("gap{l}_c{c}"),
                Some(format!("floor{l}_c{c}")),
                *colour,
            )
        })
        .collect();
    metric_panel(
        area,
        rows,
        &format!("level {l}"),
        "relative moment gap",
        &series,
    )
}

/// One panel of metrics against the global step: each `(key, floor key,
/// colour)` a line with markers (log y; zeros clamped to a tenth of the
/// smallest positive value) and its floor (its last finite value) as a
/// dashed line of the same colour, thin grey vertical lines at stage
/// boundaries with the stage names at the top, and a legend.
fn metric_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    rows: &[Row],
    title: &str,
    y_desc: &str,
    keys: &[(String, Option<String>, RGBColor)],
) -> Drawn {
    let gaps: Vec<Vec<(f64, f64)>> = keys.iter().map(|(k, _, _)| series(rows, k)).collect();
    let floors: Vec<Option<f64>> = keys
        .iter()
        .map(|(_, f, _)| f.as_ref().and_then(|f| floor_value(rows, f)))
        .collect();
    let all = || {
        gaps.iter()
            .flatten()
            .map(|p| p.1)
            .chain(floors.iter().flatten().copied())
    };
    let tiny = all().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min) / 10.0;
    let tiny = if tiny.is_finite() {
        tiny
    } else {
        DEFAULT_LOG_FLOOR
    };
    let lo = all()
        .fold(f64::INFINITY, |m, v| m.min(v.max(tiny)))
        .min(tiny * 10.0)
        / 2.0;
    // Two decades of headroom above the data for the stage names and the legend.
    let hi = all().fold(lo * 10.0, |m, v| m.max(v)) * 100.0;
    let x_max = rows.iter().map(|r| r.step).max().unwrap_or(0).max(1) as f64 * 1.02;

    let mut chart = ChartBuilder::on(area)
        .caption(title, font(18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..x_max, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("global step")
        .y_desc(y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(font(13))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let legend_x = chart.plotting_area().dim_in_pixel().0 as i32 - LEGEND_WIDTH;
    for s in stage_spans(rows) {
        if s.start > 0.0 {
            chart.draw_series(LineSeries::new(
                [(s.start, lo), (s.start, hi)],
                STAGE_COLOUR.stroke_width(1),
            ))?;
        }
        if s.end > s.start {
            chart.draw_series(std::iter::once(
                EmptyElement::at((s.start, hi))
                    + Text::new(s.name.to_string(), (4, 4), font(13).color(&STAGE_COLOUR)),
            ))?;
        }
    }
    for (((key, floor_key, colour), pts), floor) in keys.iter().zip(&gaps).zip(&floors) {
        let colour = *colour;
        let pts = pts.iter().map(|&(x, y)| (x, y.max(tiny)));
        chart
            .draw_series(LineSeries::new(pts, colour.filled().stroke_width(2)).point_size(3))?
            .label(key.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(2)));
        if let (Some(f), Some(fk)) = (floor, floor_key) {
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, f.max(tiny)), (x_max, f.max(tiny))],
                    8,
                    5,
                    colour.stroke_width(1),
                ))?
                .label(format!("{fk} (two real sets)"))
                .legend(move |(x, y)| {
                    DashedPathElement::new([(x, y), (x + 24, y)], 5, 3, colour.stroke_width(1))
                });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::Coordinate(legend_x, LEGEND_TOP))
        .label_font(font(13))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .draw()?;
    Ok(())
}

/// The plots of a practice-track run in `dir`: `moment-gaps.png` (E1, as
/// the theory track's) and `swd.png`, one panel per level with the patch
/// SWD `swd{l}` and the finest pyramid band's SWD against the global
/// step, each with its floor.
///
/// # Errors
/// [`PlotError::Backend`] if drawing fails.
pub fn practice_plots(dir: &Path, rows: &[Row], levels: usize) -> Result<(), PlotError> {
    if levels == 0 {
        return Ok(());
    }
    moment_gaps_plot(&dir.join("moment-gaps.png"), rows, levels)?;
    let cols = levels.min(2);
    let grid_rows = levels.div_ceil(cols);
    let size = (760 * cols as u32, 60 + 440 * grid_rows as u32);
    write_png(&dir.join("swd.png"), size, |root| {
        let area = root.titled(
            "sliced Wasserstein distances of generated vs real samples, by phase",
            font(22),
        )?;
        for (i, panel) in area
            .split_evenly((grid_rows, cols))
            .iter()
            .enumerate()
            .take(levels)
        {
            let l = i + 1;
            let keys = [
                (
                    format!("swd{l}"),
                    Some(format!("swd{l}_floor")),
                    GAP_SERIES[0].1,
                ),
                (
                    format!("pyr{l}_0"),
                    Some(format!("pyr{l}_0_floor")),
                    GAP_SERIES[1].1,
                ),
            ];
            metric_panel(panel, rows, &format!("level {l}"), "SWD", &keys)?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------- E2 ----

/// The content of `alignment-level{l}.json` (written by the trainer); `null`
/// entries (a NaN `|cos|`) are drawn grey.
#[derive(Debug, serde::Deserialize)]
struct Alignment {
    level: usize,
    /// The stage step of the snapshot (absent in files of fsrgan 0.1).
    #[serde(default)]
    stage_step: Option<usize>,
    filters_vs_learner: Vec<Vec<Option<f64>>>,
    filters_vs_truth: Vec<Vec<Option<f64>>>,
}

/// Colour of `|cos| = 1`; 0 is white.
const COS_DARK: RGBColor = RGBColor(8, 48, 107);

/// Colour of a missing (`null`) entry.
const COS_MISSING: RGBColor = RGBColor(190, 190, 190);

/// When in a stage an E2 snapshot was taken: the suffix of its file name.
pub const ALIGNMENT_SUFFIXES: [&str; 3] = ["-start", "-middle", ""];

/// The `alignment-level{l}{suffix}.json` files of `dir` (suffix `-start`,
/// `-middle` or none: the stage's end) with `l` and suffix, by level and time.
fn alignment_files(dir: &Path) -> Result<Vec<(usize, &'static str, PathBuf)>, PlotError> {
    let input_err = |e: std::io::Error| PlotError::Input {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(input_err)? {
        let path = entry.map_err(input_err)?.path();
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("alignment-level")?.strip_suffix(".json"))
            .map(str::to_owned);
        let Some(stem) = stem else { continue };
        for (order, suffix) in ALIGNMENT_SUFFIXES.iter().enumerate() {
            let level = stem
                .strip_suffix(suffix)
                .and_then(|l| l.parse::<usize>().ok());
            if let Some(l) = level {
                out.push(((l, order), *suffix, path.clone()));
                break;
            }
        }
    }
    out.sort_by_key(|a| a.0);
    Ok(out.into_iter().map(|((l, _), s, p)| (l, s, p)).collect())
}

/// Reads and checks `path` (named for level `l`): both matrices non-empty and
/// rectangular, with as many rows (filters) each, and the same level inside.
fn read_alignment(path: &Path, l: usize) -> Result<Alignment, PlotError> {
    let input_err = |reason: String| PlotError::Input {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| input_err(e.to_string()))?;
    let a: Alignment = serde_json::from_str(&text)
        .map_err(|e| input_err(format!("malformed alignment JSON: {e}")))?;
    if a.level != l {
        return Err(input_err(format!(
            "holds level {} but is named for level {l}",
            a.level
        )));
    }
    let learner = matrix_shape("filters_vs_learner", &a.filters_vs_learner).map_err(&input_err)?;
    let truth = matrix_shape("filters_vs_truth", &a.filters_vs_truth).map_err(&input_err)?;
    if learner.0 != truth.0 {
        return Err(input_err(format!(
            "filters_vs_learner has {} rows (filters) but filters_vs_truth has {}",
            learner.0, truth.0
        )));
    }
    Ok(a)
}

/// `(rows, columns)` of a non-empty rectangular matrix named `name`.
fn matrix_shape(name: &str, m: &[Vec<Option<f64>>]) -> Result<(usize, usize), String> {
    let cols = m.first().map_or(0, Vec::len);
    if cols == 0 {
        return Err(format!("{name} is empty"));
    }
    match m.iter().position(|r| r.len() != cols) {
        Some(i) => Err(format!(
            "{name}: row {i} has {} entries, row 0 has {cols}",
            m[i].len()
        )),
        None => Ok((m.len(), cols)),
    }
}

/// White for `|cos| = 0` to [`COS_DARK`] for 1 (clamped), grey for `None`.
fn cos_colour(v: Option<f64>) -> RGBColor {
    let Some(t) = v.filter(|t| t.is_finite()) else {
        return COS_MISSING;
    };
    let t = t.abs().clamp(0.0, 1.0);
    let mix = |dark: u8| (255.0 - t * (255.0 - f64::from(dark))).round() as u8;
    RGBColor(mix(COS_DARK.0), mix(COS_DARK.1), mix(COS_DARK.2))
}

/// `alignment-level{l}.png` (E2): the two `|cos|` heatmaps side by side and a
/// colour bar.
fn alignment_plot(path: &Path, a: &Alignment) -> Result<(), PlotError> {
    let (w, h, bar) = (1200u32, 580u32, 100u32);
    let l = a.level;
    write_png(path, (w, h), |root| {
        let when = a
            .stage_step
            .map_or(String::new(), |k| format!(" (stage step {k})"));
        let area = root.titled(
            &format!("E2, level {l}{when}: |cos| of the discriminator's first-layer filters with dictionary atoms"),
            font(20),
        )?;
        let (panels, bar_area) = area.split_horizontally(w - bar);
        let (left, right) = panels.split_horizontally((w - bar) / 2);
        heatmap(
            &left,
            &a.filters_vs_learner,
            &format!("D filters vs learner atoms M'_{l}"),
            &format!("atom of M'_{l} (learner)"),
        )?;
        heatmap(
            &right,
            &a.filters_vs_truth,
            &format!("D filters vs true atoms M_{l}"),
            &format!("atom of M_{l} (truth)"),
        )?;
        colour_bar(&bar_area)
    })
}

/// One heatmap of `m` (rows: discriminator filters, top to bottom; columns:
/// atoms), cells coloured by [`cos_colour`], index labels at cell centres.
fn heatmap(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    m: &[Vec<Option<f64>>],
    title: &str,
    x_desc: &str,
) -> Drawn {
    let (rows, cols) = (m.len() as i32, m.first().map_or(0, Vec::len) as i32);
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(0..cols, rows..0)?;
    let (pw, ph) = chart.plotting_area().dim_in_pixel();
    let (cell_w, cell_h) = (pw as i32 / cols.max(1), ph as i32 / rows.max(1));
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(cols.min(12) as usize)
        .y_labels(rows.min(12) as usize)
        .x_label_formatter(&|v| {
            if *v < cols {
                v.to_string()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v| {
            if *v < rows {
                v.to_string()
            } else {
                String::new()
            }
        })
        .x_label_offset(cell_w / 2)
        .y_label_offset(cell_h / 2)
        .x_desc(x_desc)
        .y_desc("discriminator first-layer filter")
        .label_style(font(13))
        .draw()?;
    chart.draw_series(m.iter().enumerate().flat_map(|(i, row)| {
        row.iter().enumerate().map(move |(j, v)| {
            let (x, y) = (j as i32, i as i32);
            Rectangle::new([(x, y), (x + 1, y + 1)], cos_colour(*v).filled())
        })
    }))?;
    Ok(())
}

/// The colour scale: `|cos|` from 0 (white, bottom) to 1 ([`COS_DARK`], top);
/// grey marks a missing value.
fn colour_bar(area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Drawn {
    const STEPS: usize = 100;
    let mut chart = ChartBuilder::on(area)
        .caption("|cos|", font(16))
        .margin(12)
        .x_label_area_size(44)
        .right_y_label_area_size(40)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .x_desc("grey: NaN")
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.1}"))
        .label_style(font(13))
        .draw()?;
    chart.draw_series((0..STEPS).map(|i| {
        let (a, b) = (i as f64 / STEPS as f64, (i + 1) as f64 / STEPS as f64);
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            cos_colour(Some((a + b) / 2.0)).filled(),
        )
    }))?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, 0.0), (1.0, 1.0)],
        BLACK.stroke_width(1),
    )))?;
    Ok(())
}

// ------------------------------------------------------- run figures ----

/// Name of the file in a run directory that lists the plots that could not
/// be drawn (absent when every plot was drawn).
pub const PLOT_WARNINGS: &str = "plot-warnings.txt";

/// Draws a run's sample figures — `samples.png` (real and learner side by
/// side, one colour scale per level from the real samples) and
/// `samples-real.png` — and then `more` (the run's training plots). A
/// plot is never worth a run: each failure becomes a line of the returned
/// warnings, which are printed to stderr and written to [`PLOT_WARNINGS`]
/// (which the report shows); no temporary file is left behind.
pub fn run_figures<'a>(
    dir: &Path,
    real: &[ArrayView4<'a, f64>],
    fake: &[ArrayView4<'a, f64>],
    more: impl FnOnce() -> Result<(), PlotError>,
) -> Vec<String> {
    run_figures_with(dir, real, fake, None, more)
}

/// [`run_figures`], and `superres.png` ([`superres_figure`]) when
/// `superres` holds the learner's children of `real`'s parents (levels
/// `2..L`).
pub fn run_figures_with<'a>(
    dir: &Path,
    real: &[ArrayView4<'a, f64>],
    fake: &[ArrayView4<'a, f64>],
    superres: Option<&[ArrayView4<'a, f64>]>,
    more: impl FnOnce() -> Result<(), PlotError>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let sr = match superres {
        Some(children) if real.len() >= 2 => {
            superres_figure(&dir.join("superres.png"), &real[1..], children, 8)
        }
        _ => Ok(()),
    };
    let results = [
        sr,
        sample_figure(
            &dir.join("samples.png"),
            &[("real", real), ("learner", fake)],
            8,
        ),
        sample_grid(&dir.join("samples-real.png"), real, 8),
        more(),
    ];
    for r in results {
        if let Err(e) = r {
            warnings.push(e.to_string());
        }
    }
    let file = dir.join(PLOT_WARNINGS);
    if warnings.is_empty() {
        let _ = std::fs::remove_file(&file);
    } else {
        for w in &warnings {
            eprintln!("warning: plot not drawn: {w}");
        }
        if let Err(e) =
            crate::io::atomic::write_bytes(&file, (warnings.join("\n") + "\n").as_bytes())
        {
            eprintln!("warning: writing {}: {e}", file.display());
        }
    }
    warnings
}

// ------------------------------------------------------------ family ----

/// One panel of [`grouped_bars`]: a title, and per group (a method) its name
/// and one value per series (a level); `None` or a non-positive value draws
/// no bar.
#[derive(Debug, Clone)]
pub struct BarPanel {
    /// Panel title (`tiny`, `small`).
    pub title: String,
    /// Groups: name and one value per series.
    pub groups: Vec<(String, Vec<Option<f64>>)>,
}

/// Colours of the series of [`grouped_bars`] (levels 1, 2, 3, 4).
const BAR_COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

/// Grouped bar charts, one panel per entry of `panels`, stacked: per
/// group a bar per series (`series[s]` names series `s`), on a log `y` axis
/// labelled `ylabel`, with a dashed line at `reference` (1: the floor).
///
/// # Errors
/// [`PlotError::Empty`] with no positive value; [`PlotError::Backend`] if
/// drawing or writing fails.
pub fn grouped_bars(
    path: &Path,
    title: &str,
    panels: &[BarPanel],
    series: &[String],
    ylabel: &str,
    reference: f64,
) -> Result<(), PlotError> {
    let values: Vec<f64> = panels
        .iter()
        .flat_map(|p| {
            p.groups
                .iter()
                .flat_map(|(_, v)| v.iter().flatten().copied())
        })
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if values.is_empty() {
        return Err(PlotError::Empty(title.to_string()));
    }
    let lo = values.iter().copied().fold(reference, f64::min) / 1.5;
    // Headroom above the tallest bar for the legend.
    let hi = values.iter().copied().fold(reference, f64::max) * 4.0;
    let widest = panels.iter().map(|p| p.groups.len()).max().unwrap_or(1);
    let width = 140 + 115 * widest as u32;
    let height = 50 + 420 * panels.len() as u32;
    write_png(path, (width.max(700), height), |root| {
        let area = root.titled(title, font(20))?;
        for (panel, p) in area.split_evenly((panels.len(), 1)).iter().zip(panels) {
            let n = p.groups.len().max(1);
            let mut chart = ChartBuilder::on(panel)
                .caption(&p.title, font(18))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..n as f64, (lo..hi).log_scale())?;
            let names: Vec<String> = p.groups.iter().map(|(g, _)| g.clone()).collect();
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n * 2 + 1)
                .x_label_formatter(&|x| {
                    let i = x.floor() as usize;
                    if (x - i as f64 - 0.5).abs() < 1e-6 {
                        names.get(i).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .label_style(font(13))
                .y_desc(ylabel)
                .draw()?;
            let k = series.len().max(1) as f64;
            for (s, name) in series.iter().enumerate() {
                let colour = BAR_COLOURS[s % BAR_COLOURS.len()];
                let bars = p.groups.iter().enumerate().filter_map(|(i, (_, v))| {
                    let y = v
                        .get(s)
                        .copied()
                        .flatten()
                        .filter(|y| y.is_finite() && *y > 0.0)?;
                    let x0 = i as f64 + 0.1 + 0.8 * s as f64 / k;
                    Some(Rectangle::new(
                        [(x0, lo), (x0 + 0.8 / k, y)],
                        colour.filled(),
                    ))
                });
                chart
                    .draw_series(bars)?
                    .label(name.clone())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                    });
            }
            chart.draw_series(std::iter::once(DashedPathElement::new(
                vec![(0.0, reference), (n as f64, reference)],
                5,
                3,
                BLACK.stroke_width(1),
            )))?;
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(font(13))
                .draw()?;
        }
        Ok(())
    })
}
