#pragma once
// A small chart writer: line charts with optional confidence bands, and box charts,
// as SVG or PDF. Torch-free, and with no library beyond the C++ standard one. SVG was
// chosen over a gnuplot pipeline because it needs no extra program at run time, its
// output is plain text that tests can inspect, and every browser and image viewer
// renders it (tests render it with rsvg-convert). PDF is for papers and reports: the
// layout is computed once and drawn by either back end, so the two show the same chart.
//
// The PDF back end writes PDF 1.4: one page whose MediaBox is the chart's size, one
// pixel of ChartOptions being one point (760 × 460 gives a 760 × 460 pt page), an
// uncompressed content stream and the standard Helvetica font (Type1, WinAnsiEncoding,
// not embedded, so every reader has it). Text is anchored with Helvetica's AFM widths.
// Text is UTF-8; what WinAnsi lacks is substituted, never dropped silently:
//   - Latin-1 (é, ±, ×, °, µ, ·, ²) and the WinAnsi extras (–, —, ‘’, “”, •, …, €, ™)
//     are kept as they are;
//   - the minus sign − becomes '-', ≤ ≥ ≠ ≈ become <= >= != ~, → becomes ->, ∞ inf;
//   - a Greek letter becomes its name (α → "alpha", σ → "sigma", θ → "theta",
//     Δ → "Delta"), except μ, which WinAnsi has as the micro sign µ. A name rather
//     than a look-alike Latin letter ('a' for α), which would read as another symbol;
//   - anything else, and malformed UTF-8, becomes '?'.
// Semi-transparent fills (confidence bands, boxes) use an ExtGState with /ca, as the
// SVG uses fill-opacity. Shapes with a non-finite coordinate (a marker at a NaN return)
// are left out of the PDF, where they would make the file unreadable.

#include <string>
#include <vector>

namespace metarl::meta {

struct ChartOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 760;   // pixels; points in a PDF (1 px = 1 pt)
  int height = 460;
  bool integer_x = false;  // x is a count (iterations, steps): ticks on whole numbers only
};

struct LineSeries {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  // Optional shaded band (e.g. a 95% CI), same length as x; empty for none.
  std::vector<double> band_low;
  std::vector<double> band_high;
  bool markers = false;  // a dot at every point (for short series)
};

struct BoxStats {
  std::string label;
  double min = 0, q1 = 0, median = 0, q3 = 0, max = 0;
};

enum class ChartFormat { kSvg, kPdf };

// The format a chart file's name asks for: ".svg" or ".pdf", in any case. Throws
// std::invalid_argument, naming the path, for any other extension or none.
ChartFormat chart_format_of(const std::string& path);

// Round tick values covering [low, high]: steps of 1, 2 or 5 × 10^k, about `target` of them.
std::vector<double> nice_ticks(double low, double high, int target = 6);

// The chart file's bytes: SVG text, or a whole PDF file. Throws std::invalid_argument for
// mismatched series lengths, no data, or a width or height that is not positive.
std::string render_line_chart(const ChartOptions& options, const std::vector<LineSeries>& series,
                              ChartFormat format = ChartFormat::kSvg);
std::string render_box_chart(const ChartOptions& options, const std::vector<BoxStats>& boxes,
                             ChartFormat format = ChartFormat::kSvg);

// Escapes &, <, >, " for SVG text and attributes.
std::string escape_xml(const std::string& text);

}  // namespace metarl::meta
