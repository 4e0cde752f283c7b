#include "meta/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace metarl::meta {

namespace {

// Colour-blind-safe palette (Okabe & Ito).
const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", value);
  return text;
}

std::string tick_label(double value) {
  if (std::abs(value) < 1e-12) return "0";
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

// The plotting frame: data ranges mapped into the pixel box inside the margins.
struct Frame {
  double x_low, x_high, y_low, y_high;
  double left, right, top, bottom;  // pixels
  double px(double x) const { return left + (x - x_low) / (x_high - x_low) * (right - left); }
  double py(double y) const { return bottom - (y - y_low) / (y_high - y_low) * (bottom - top); }
};

void widen_if_flat(double& low, double& high) {
  if (high - low < 1e-12) {
    const double pad = std::max(1e-3, std::abs(low) * 0.05);
    low -= pad;
    high += pad;
  }
}

std::string open_svg(const ChartOptions& options) {
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << options.width << "\" height=\"" << options.height
      << "\" viewBox=\"0 0 " << options.width << " " << options.height
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << options.width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
      << escape_xml(options.title) << "</text>\n";
  return out.str();
}

// Grid, ticks, axis labels. `x_categories` replaces numeric x ticks when given.
std::string axes(const ChartOptions& options, const Frame& f, const std::vector<std::string>& x_categories) {
  std::ostringstream out;
  for (double y : nice_ticks(f.y_low, f.y_high)) {
    if (y < f.y_low - 1e-9 || y > f.y_high + 1e-9) continue;
    out << "<line x1=\"" << number(f.left) << "\" y1=\"" << number(f.py(y)) << "\" x2=\"" << number(f.right)
        << "\" y2=\"" << number(f.py(y)) << "\" stroke=\"#e3e3e3\"/>\n"
        << "<text x=\"" << number(f.left - 6) << "\" y=\"" << number(f.py(y) + 4) << "\" text-anchor=\"end\">"
        << tick_label(y) << "</text>\n";
  }
  if (x_categories.empty()) {
    for (double x : nice_ticks(f.x_low, f.x_high)) {
      if (x < f.x_low - 1e-9 || x > f.x_high + 1e-9) continue;
      if (options.integer_x && std::abs(x - std::round(x)) > 1e-9) continue;
      out << "<line x1=\"" << number(f.px(x)) << "\" y1=\"" << number(f.bottom) << "\" x2=\"" << number(f.px(x))
          << "\" y2=\"" << number(f.bottom + 5) << "\" stroke=\"#444\"/>\n"
          << "<text x=\"" << number(f.px(x)) << "\" y=\"" << number(f.bottom + 18) << "\" text-anchor=\"middle\">"
          << tick_label(x) << "</text>\n";
    }
  } else {
    for (size_t i = 0; i < x_categories.size(); ++i) {
      const double x = f.px(static_cast<double>(i));
      out << "<text x=\"" << number(x) << "\" y=\"" << number(f.bottom + 14) << "\" text-anchor=\"end\" transform=\"rotate(-30 "
          << number(x) << " " << number(f.bottom + 14) << ")\">" << escape_xml(x_categories[i]) << "</text>\n";
    }
  }
  out << "<rect x=\"" << number(f.left) << "\" y=\"" << number(f.top) << "\" width=\"" << number(f.right - f.left)
      << "\" height=\"" << number(f.bottom - f.top) << "\" fill=\"none\" stroke=\"#444\"/>\n"
      << "<text x=\"" << number((f.left + f.right) / 2) << "\" y=\"" << options.height - 8
      << "\" text-anchor=\"middle\">" << escape_xml(options.x_label) << "</text>\n"
      << "<text x=\"16\" y=\"" << number((f.top + f.bottom) / 2) << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
      << number((f.top + f.bottom) / 2) << ")\">" << escape_xml(options.y_label) << "</text>\n";
  return out.str();
}

}  // namespace

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double low, double high, int target) {
  widen_if_flat(low, high);
  const double raw_step = (high - low) / std::max(1, target);
  const int exponent = static_cast<int>(std::floor(std::log10(raw_step)));
  // Ticks are k · factor · 10^exponent, computed as one integer times or divided by
  // an exact power of ten, so 0.6 comes out as 0.6 and not 3 × 0.2 = 0.6000000000000001.
  const double power = std::pow(10.0, std::abs(exponent));
  auto value = [&](double units) { return exponent >= 0 ? units * power : units / power; };
  double factor = 1.0;
  for (double candidate : {1.0, 2.0, 5.0, 10.0}) {
    factor = candidate;
    if (value(candidate) >= raw_step) break;
  }
  const double step = value(factor);
  std::vector<double> ticks;
  for (auto k = static_cast<long long>(std::ceil(low / step - 1e-9)); value(static_cast<double>(k) * factor) <= high + step * 1e-9; ++k) {
    ticks.push_back(value(static_cast<double>(k) * factor));
  }
  return ticks;
}

std::string render_line_chart(const ChartOptions& options, const std::vector<LineSeries>& series) {
  double x_low = std::numeric_limits<double>::infinity();
  double x_high = -x_low;
  double y_low = x_low;
  double y_high = -x_low;
  for (const auto& s : series) {
    if (s.x.size() != s.y.size()) throw std::invalid_argument("series '" + s.label + "': x and y lengths differ");
    const bool band = !s.band_low.empty();
    if (band && (s.band_low.size() != s.x.size() || s.band_high.size() != s.x.size())) {
      throw std::invalid_argument("series '" + s.label + "': band length differs from x");
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_low = std::min(x_low, s.x[i]);
      x_high = std::max(x_high, s.x[i]);
      y_low = std::min({y_low, s.y[i], band ? s.band_low[i] : s.y[i]});
      y_high = std::max({y_high, s.y[i], band ? s.band_high[i] : s.y[i]});
    }
  }
  if (!std::isfinite(x_low)) throw std::invalid_argument("chart '" + options.title + "': no finite data");
  widen_if_flat(x_low, x_high);
  widen_if_flat(y_low, y_high);
  const double y_pad = 0.05 * (y_high - y_low);
  Frame f{x_low, x_high, y_low - y_pad, y_high + y_pad, 64.0, options.width - 160.0, 36.0, options.height - 50.0};
  // The legend right of the frame has 160 px; a long label (a method named after its
  // run directory) widens the image instead of running off it: about 7 px per
  // character at font size 12, after the 38 px line sample. The frame keeps its size.
  size_t longest_label = 0;
  for (const auto& s : series) longest_label = std::max(longest_label, s.label.size());
  ChartOptions image = options;
  image.width += std::max(0, 38 + 7 * static_cast<int>(longest_label) + 8 - 160);

  std::ostringstream out;
  out << open_svg(image) << axes(options, f, {});
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* colour = kColours[k % (sizeof(kColours) / sizeof(kColours[0]))];
    if (!s.band_low.empty()) {
      out << "<polygon fill=\"" << colour << "\" fill-opacity=\"0.18\" stroke=\"none\" points=\"";
      for (size_t i = 0; i < s.x.size(); ++i) out << number(f.px(s.x[i])) << "," << number(f.py(s.band_high[i])) << " ";
      for (size_t i = s.x.size(); i-- > 0;) out << number(f.px(s.x[i])) << "," << number(f.py(s.band_low[i])) << " ";
      out << "\"/>\n";
    }
    out << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.8\" points=\"";
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (std::isfinite(s.y[i])) out << number(f.px(s.x[i])) << "," << number(f.py(s.y[i])) << " ";
    }
    out << "\"/>\n";
    if (s.markers) {
      for (size_t i = 0; i < s.x.size(); ++i) {
        out << "<circle cx=\"" << number(f.px(s.x[i])) << "\" cy=\"" << number(f.py(s.y[i])) << "\" r=\"3.5\" fill=\""
            << colour << "\"/>\n";
      }
    }
    const double legend_y = f.top + 14 + 20.0 * static_cast<double>(k);
    out << "<line x1=\"" << number(f.right + 12) << "\" y1=\"" << number(legend_y - 4) << "\" x2=\""
        << number(f.right + 32) << "\" y2=\"" << number(legend_y - 4) << "\" stroke=\"" << colour
        << "\" stroke-width=\"3\"/>\n"
        << "<text x=\"" << number(f.right + 38) << "\" y=\"" << number(legend_y) << "\">" << escape_xml(s.label)
        << "</text>\n";
  }
  out << "</svg>\n";
  return out.str();
}

std::string render_box_chart(const ChartOptions& options, const std::vector<BoxStats>& boxes) {
  if (boxes.empty()) throw std::invalid_argument("chart '" + options.title + "': no boxes");
  double y_low = std::numeric_limits<double>::infinity();
  double y_high = -y_low;
  std::vector<std::string> labels;
  for (const auto& b : boxes) {
    y_low = std::min(y_low, b.min);
    y_high = std::max(y_high, b.max);
    labels.push_back(b.label);
  }
  widen_if_flat(y_low, y_high);
  const double y_pad = 0.05 * (y_high - y_low);
  const double n = static_cast<double>(boxes.size());
  Frame f{-0.6, n - 0.4, y_low - y_pad, y_high + y_pad, 64.0, options.width - 24.0, 36.0, options.height - 90.0};
  const double half_width = 0.28 * (f.right - f.left) / n;

  std::ostringstream out;
  out << open_svg(options) << axes(options, f, labels);
  for (size_t i = 0; i < boxes.size(); ++i) {
    const auto& b = boxes[i];
    const double x = f.px(static_cast<double>(i));
    out << "<line x1=\"" << number(x) << "\" y1=\"" << number(f.py(b.min)) << "\" x2=\"" << number(x) << "\" y2=\""
        << number(f.py(b.max)) << "\" stroke=\"#444\"/>\n"
        << "<rect x=\"" << number(x - half_width) << "\" y=\"" << number(f.py(b.q3)) << "\" width=\""
        << number(2 * half_width) << "\" height=\"" << number(std::max(1.0, f.py(b.q1) - f.py(b.q3)))
        << "\" fill=\"" << kColours[0] << "\" fill-opacity=\"0.35\" stroke=\"" << kColours[0] << "\"/>\n"
        << "<line x1=\"" << number(x - half_width) << "\" y1=\"" << number(f.py(b.median)) << "\" x2=\""
        << number(x + half_width) << "\" y2=\"" << number(f.py(b.median)) << "\" stroke=\"" << kColours[1]
        << "\" stroke-width=\"2.5\"/>\n";
  }
  out << "</svg>\n";
  return out.str();
}

}  // namespace metarl::meta
