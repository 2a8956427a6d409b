//! Line and scatter charts as PNG files, drawn with plotters' bitmap
//! backend. Text uses the DejaVu Sans font shipped beside this file
//! (through plotters' `ab_glyph` feature), so no system font libraries
//! (fontconfig, freetype) are needed.

use std::path::Path;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::app::Result;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A solid line through the points.
    Line,
    /// A thin line through the points.
    ThinLine,
    /// A filled circle at each point.
    Dots,
}

/// One labelled series of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// The points; non-finite ones (and non-positive ones on a log axis)
    /// are left out.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// How to draw it.
    pub mark: Mark,
}

impl Series {
    /// A series from `(x, y)` points.
    pub fn new(label: &str, points: Vec<(f64, f64)>, color: RGBColor, mark: Mark) -> Series {
        Series { label: label.to_string(), points, color, mark }
    }

    /// A series of `ys` against their index (a loss curve against the step).
    pub fn by_step(label: &str, ys: &[f64], color: RGBColor) -> Series {
        let points = ys.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect();
        Series::new(label, points, color, Mark::Line)
    }
}

/// One chart: a title, axis labels and series.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Caption above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Where the legend goes.
    pub legend: SeriesLabelPosition,
    /// The series, drawn in order.
    pub series: Vec<Series>,
}

impl Panel {
    /// A linear panel with the legend at the upper right.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Panel {
        Panel {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            log_y: false,
            legend: SeriesLabelPosition::UpperRight,
            series: Vec::new(),
        }
    }

    /// Uses a logarithmic y axis.
    pub fn log_y(mut self) -> Panel {
        self.log_y = true;
        self
    }

    /// Places the legend.
    pub fn legend(mut self, at: SeriesLabelPosition) -> Panel {
        self.legend = at;
        self
    }

    /// Adds a series.
    pub fn with(mut self, s: Series) -> Panel {
        self.series.push(s);
        self
    }

    fn visible(&self, p: &(f64, f64)) -> bool {
        p.0.is_finite() && p.1.is_finite() && (!self.log_y || p.1 > 0.0)
    }

    /// The x and y ranges covering every visible point, with a margin.
    fn bounds(&self) -> ((f64, f64), (f64, f64)) {
        let mut x = (f64::INFINITY, f64::NEG_INFINITY);
        let mut y = x;
        for p in self.series.iter().flat_map(|s| &s.points).filter(|p| self.visible(p)) {
            x = (x.0.min(p.0), x.1.max(p.0));
            y = (y.0.min(p.1), y.1.max(p.1));
        }
        if !x.0.is_finite() {
            return ((0.0, 1.0), if self.log_y { (0.1, 10.0) } else { (0.0, 1.0) });
        }
        let pad = |(lo, hi): (f64, f64), frac: f64| {
            let d = if hi > lo { (hi - lo) * frac } else { lo.abs().max(1.0) * 0.5 };
            (lo - d, hi + d)
        };
        let y = if self.log_y {
            let (lo, hi) = (y.0.log10(), y.1.log10());
            let (lo, hi) = pad((lo, hi), 0.05);
            (10f64.powf(lo), 10f64.powf(hi))
        } else {
            pad(y, 0.06)
        };
        (pad(x, 0.02), y)
    }
}

static FONT: Once = Once::new();

/// Registers the shipped font as plotters' `sans-serif`.
fn register_fonts() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("fonts/DejaVuSans.ttf");
        // The font is a valid TrueType file shipped with the source; if
        // registration ever failed, text would be missing, not the plot.
        let _ = register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// Draws `panels` in a grid of `cols` columns, each panel `w`×`h` pixels,
/// into the PNG file `path`.
pub fn save_png(path: &Path, panels: &[Panel], cols: usize, (w, h): (u32, u32)) -> Result<()> {
    register_fonts();
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    let root = BitMapBackend::new(path, (w * cols as u32, h * rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    for (panel, area) in panels.iter().zip(root.split_evenly((rows, cols))) {
        draw_panel(&area, panel)?;
    }
    root.present()?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_panel(area: &Area<'_>, p: &Panel) -> Result<()> {
    let ((x0, x1), (y0, y1)) = p.bounds();
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&p.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(68);
    if p.log_y {
        let mut chart = builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
        chart
            .configure_mesh()
            .x_desc(p.x_label.as_str())
            .y_desc(p.y_label.as_str())
            .label_style(("sans-serif", 14))
            .x_label_formatter(&|v| tick_label(*v, x1 - x0))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()?;
        draw_series(&mut chart, p)?;
    } else {
        let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(p.x_label.as_str())
            .y_desc(p.y_label.as_str())
            .label_style(("sans-serif", 14))
            .x_label_formatter(&|v| tick_label(*v, x1 - x0))
            .y_label_formatter(&|v| tick_label(*v, y1 - y0))
            .draw()?;
        draw_series(&mut chart, p)?;
    }
    Ok(())
}

/// A tick label with as many decimals as an axis spanning `span` needs.
fn tick_label(v: f64, span: f64) -> String {
    let decimals = if span > 0.0 { (1.0 - span.log10().floor()).clamp(0.0, 6.0) } else { 2.0 };
    format!("{v:.*}", decimals as usize)
}

fn draw_series<'a, Y>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    p: &Panel,
) -> Result<()>
where
    Y: Ranged<ValueType = f64>,
{
    for s in &p.series {
        let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(|q| p.visible(q)).collect();
        let color = s.color;
        match s.mark {
            Mark::Line | Mark::ThinLine => {
                let width = if s.mark == Mark::Line { 2 } else { 1 };
                let a = chart.draw_series(LineSeries::new(pts, color.stroke_width(width)))?;
                a.label(s.label.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
                });
            }
            Mark::Dots => {
                let a = chart
                    .draw_series(pts.into_iter().map(|q| Circle::new(q, 3, color.filled())))?;
                a.label(s.label.as_str())
                    .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
            }
        }
    }
    chart
        .configure_series_labels()
        .position(p.legend.clone())
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// A few distinct colours for series.
pub const BLUE: RGBColor = RGBColor(31, 119, 180);
/// Orange.
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
/// Green.
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
/// Red.
pub const RED: RGBColor = RGBColor(214, 39, 40);
/// Purple.
pub const PURPLE: RGBColor = RGBColor(148, 103, 189);
/// Grey.
pub const GREY: RGBColor = RGBColor(110, 110, 110);
