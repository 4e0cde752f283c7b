#pragma once
// A small SVG chart writer: line charts with optional confidence bands, and box
// charts. Torch-free. SVG was chosen over a gnuplot pipeline because it needs no
// extra program at run time, its output is plain text that tests can inspect, and
// every browser and image viewer renders it (tests render it with rsvg-convert).

#include <string>
#include <vector>

namespace metarl::meta {

struct ChartOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 760;   // pixels
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

// Round tick values covering [low, high]: steps of 1, 2 or 5 × 10^k, about `target` of them.
std::vector<double> nice_ticks(double low, double high, int target = 6);

// Throws std::invalid_argument for mismatched series lengths or no data.
std::string render_line_chart(const ChartOptions& options, const std::vector<LineSeries>& series);
std::string render_box_chart(const ChartOptions& options, const std::vector<BoxStats>& boxes);

// Escapes &, <, >, " for SVG text and attributes.
std::string escape_xml(const std::string& text);

}  // namespace metarl::meta
