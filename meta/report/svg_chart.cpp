#include "meta/report/svg_chart.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace metarl::meta {

namespace {

// `label` in at most `room` bytes: its start and end with "..." between, cut at UTF-8
// character boundaries.
std::string shortened_label(const std::string& label, size_t room) {
  if (label.size() <= room) return label;
  auto boundary = [&](size_t at) {
    while (at > 0 && at < label.size() && (static_cast<unsigned char>(label[at]) & 0xC0) == 0x80) --at;
    return at;
  };
  const size_t keep = room - 3;
  const size_t head = boundary(keep / 2);
  size_t tail = label.size() - (keep - keep / 2);
  while (tail < label.size() && (static_cast<unsigned char>(label[tail]) & 0xC0) == 0x80) ++tail;
  return label.substr(0, head) + "..." + label.substr(tail);
}


// Colour-blind-safe palette (Okabe & Ito).
const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

constexpr double kFontSize = 12.0;  // pixels (points in a PDF); the title is 15

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", value);
  return text;
}

// Widths, opacities, radii and angles: "3", "1.8", "0.18", "-90".
std::string short_number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

std::string tick_label(double value) {
  if (std::abs(value) < 1e-12) return "0";
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

// ---------------------------------------------------------------------------------------
// The drawing interface between the layout and the two back ends. Coordinates are pixels
// with y downwards, as in SVG; the PDF back end flips y.

struct Point {
  double x, y;
};

// A text position and how the SVG writer prints it: one decimal ("64.0") for computed
// positions, an integer ("380", "16") for the few laid out in whole pixels. Keeping the
// two apart keeps SVG files byte-identical to those written before the PDF back end.
struct Coord {
  Coord(double v) : value(v) {}  // NOLINT(google-explicit-constructor): most positions are computed
  static Coord whole(int v) {
    Coord c(v);
    c.is_whole = true;
    return c;
  }
  double value;
  bool is_whole = false;
};

struct Stroke {
  const char* colour = nullptr;  // "#rrggbb" or "#rgb"; nullptr for none
  double width = 1.0;            // pixels
};

struct Fill {
  const char* colour = nullptr;  // nullptr for none
  double opacity = 1.0;
};

enum class Anchor { kStart, kMiddle, kEnd };

struct TextStyle {
  Anchor anchor = Anchor::kStart;
  double size = kFontSize;
  double rotation = 0.0;  // degrees about the anchor, clockwise on the page (SVG's rotate())
};

class Canvas {
 public:
  virtual ~Canvas() = default;
  virtual void begin(int width, int height) = 0;  // a white page of this size
  virtual void line(Point from, Point to, const Stroke& stroke) = 0;
  virtual void polyline(const std::vector<Point>& points, const Stroke& stroke) = 0;
  virtual void polygon(const std::vector<Point>& points, const Fill& fill) = 0;
  virtual void rect(Point top_left, double width, double height, const Fill& fill, const Stroke& stroke) = 0;
  virtual void circle(Point centre, double radius, const Fill& fill) = 0;
  virtual void text(Coord x, Coord y, const std::string& utf8, const TextStyle& style) = 0;
  virtual std::string finish() = 0;  // the file's bytes
};

// ---------------------------------------------------------------------------------------
// SVG back end.

class SvgCanvas final : public Canvas {
 public:
  void begin(int width, int height) override {
    out_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
         << "\" viewBox=\"0 0 " << width << " " << height
         << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
         << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  }

  void line(Point from, Point to, const Stroke& stroke) override {
    out_ << "<line x1=\"" << number(from.x) << "\" y1=\"" << number(from.y) << "\" x2=\"" << number(to.x)
         << "\" y2=\"" << number(to.y) << "\"" << stroke_attributes(stroke) << "/>\n";
  }

  void polyline(const std::vector<Point>& points, const Stroke& stroke) override {
    out_ << "<polyline" << fill_attributes(Fill{}) << stroke_attributes(stroke) << points_attribute(points) << "/>\n";
  }

  void polygon(const std::vector<Point>& points, const Fill& fill) override {
    out_ << "<polygon" << fill_attributes(fill) << stroke_attributes(Stroke{}) << points_attribute(points) << "/>\n";
  }

  void rect(Point top_left, double width, double height, const Fill& fill, const Stroke& stroke) override {
    out_ << "<rect x=\"" << number(top_left.x) << "\" y=\"" << number(top_left.y) << "\" width=\"" << number(width)
         << "\" height=\"" << number(height) << "\"" << fill_attributes(fill) << stroke_attributes(stroke) << "/>\n";
  }

  void circle(Point centre, double radius, const Fill& fill) override {
    out_ << "<circle cx=\"" << number(centre.x) << "\" cy=\"" << number(centre.y) << "\" r=\"" << short_number(radius)
         << "\"" << fill_attributes(fill) << "/>\n";
  }

  void text(Coord x, Coord y, const std::string& utf8, const TextStyle& style) override {
    out_ << "<text x=\"" << coord(x) << "\" y=\"" << coord(y) << "\"";
    if (style.anchor == Anchor::kMiddle) out_ << " text-anchor=\"middle\"";
    if (style.anchor == Anchor::kEnd) out_ << " text-anchor=\"end\"";
    if (style.size != kFontSize) out_ << " font-size=\"" << short_number(style.size) << "\"";
    if (style.rotation != 0.0) {
      out_ << " transform=\"rotate(" << short_number(style.rotation) << " " << coord(x) << " " << coord(y) << ")\"";
    }
    out_ << ">" << escape_xml(utf8) << "</text>\n";
  }

  std::string finish() override {
    out_ << "</svg>\n";
    return out_.str();
  }

 private:
  static std::string coord(Coord c) {
    return c.is_whole ? std::to_string(static_cast<long long>(c.value)) : number(c.value);
  }
  static std::string stroke_attributes(const Stroke& stroke) {
    if (stroke.colour == nullptr) return " stroke=\"none\"";
    std::string out = std::string(" stroke=\"") + stroke.colour + "\"";
    if (stroke.width != 1.0) out += " stroke-width=\"" + short_number(stroke.width) + "\"";
    return out;
  }
  static std::string fill_attributes(const Fill& fill) {
    if (fill.colour == nullptr) return " fill=\"none\"";
    std::string out = std::string(" fill=\"") + fill.colour + "\"";
    if (fill.opacity != 1.0) out += " fill-opacity=\"" + short_number(fill.opacity) + "\"";
    return out;
  }
  static std::string points_attribute(const std::vector<Point>& points) {
    std::string out = " points=\"";
    for (const Point& p : points) out += number(p.x) + "," + number(p.y) + " ";
    return out + "\"";
  }

  std::ostringstream out_;
};

// ---------------------------------------------------------------------------------------
// PDF back end: text encoding and metrics.

// Advance widths of Helvetica in WinAnsiEncoding, codes 32..255, in 1/1000 em: the
// glyph widths (WX) of Adobe's public Helvetica AFM; the Euro (0x80), which that AFM
// predates, as 556 like the other currency signs. 0 marks the codes WinAnsi leaves
// undefined, which win_ansi() never produces.
constexpr int kHelveticaWidths[224] = {
    278, 278,  355, 556, 556, 889,  667, 191, 333, 333,  389, 584, 278,  333, 278, 278,  // 32..47
    556, 556,  556, 556, 556, 556,  556, 556, 556, 556,  278, 278, 584,  584, 584, 556,  // 48..63
    1015, 667, 667, 722, 722, 667,  611, 778, 722, 278,  500, 667, 556,  833, 722, 778,  // 64..79
    667, 778,  722, 667, 611, 722,  667, 944, 667, 667,  611, 278, 278,  278, 469, 556,  // 80..95
    333, 556,  556, 500, 556, 556,  278, 556, 556, 222,  222, 500, 222,  833, 556, 556,  // 96..111
    556, 556,  333, 500, 278, 556,  500, 722, 500, 500,  500, 334, 260,  334, 584, 0,    // 112..127
    556, 0,    222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0,   611, 0,    // 128..143
    0,   222,  222, 333, 333, 350,  556, 1000, 333, 1000, 500, 333, 944, 0,   500, 667,  // 144..159
    278, 333,  556, 556, 556, 556,  260, 556, 333, 737,  370, 556, 584,  333, 737, 333,  // 160..175
    400, 584,  333, 333, 333, 556,  537, 278, 333, 333,  365, 556, 834,  834, 834, 611,  // 176..191
    667, 667,  667, 667, 667, 667,  1000, 722, 667, 667, 667, 667, 278,  278, 278, 278,  // 192..207
    722, 722,  778, 778, 778, 778,  778, 584, 778, 722,  722, 722, 722,  667, 667, 611,  // 208..223
    556, 556,  556, 556, 556, 556,  889, 500, 556, 556,  556, 556, 278,  278, 278, 278,  // 224..239
    556, 556,  556, 556, 556, 556,  556, 584, 611, 556,  556, 556, 556,  500, 556, 500,  // 240..255
};

// WinAnsi's codes 0x80..0x9F, where it differs from Latin-1.
struct WinAnsiExtra {
  char32_t code;
  unsigned char byte;
};
constexpr WinAnsiExtra kWinAnsiExtras[] = {
    {0x20AC, 0x80}, {0x201A, 0x82}, {0x0192, 0x83}, {0x201E, 0x84}, {0x2026, 0x85}, {0x2020, 0x86}, {0x2021, 0x87},
    {0x02C6, 0x88}, {0x2030, 0x89}, {0x0160, 0x8A}, {0x2039, 0x8B}, {0x0152, 0x8C}, {0x017D, 0x8E}, {0x2018, 0x91},
    {0x2019, 0x92}, {0x201C, 0x93}, {0x201D, 0x94}, {0x2022, 0x95}, {0x2013, 0x96}, {0x2014, 0x97}, {0x02DC, 0x98},
    {0x2122, 0x99}, {0x0161, 0x9A}, {0x203A, 0x9B}, {0x0153, 0x9C}, {0x017E, 0x9E}, {0x0178, 0x9F},
};

// Characters WinAnsi lacks, spelled with what it has (the header gives the reasons).
struct Substitute {
  char32_t code;
  const char* text;
};
constexpr Substitute kSubstitutes[] = {
    {0x2212, "-"},  {0x2264, "<="}, {0x2265, ">="}, {0x2260, "!="}, {0x2248, "~"},   {0x2192, "->"},
    {0x2190, "<-"}, {0x221E, "inf"}, {0x2009, " "}, {0x202F, " "},  {0x03BC, "\xB5"}, {0x03F5, "epsilon"},
    {0x03D1, "theta"}, {0x03D5, "phi"},
};

// Greek letters by name, indexed from U+03B1 (α) and U+0391 (Α); U+03C2 is the final
// sigma, U+03A2 is unassigned.
const char* kGreekLower[] = {"alpha", "beta",  "gamma",   "delta", "epsilon", "zeta", "eta",   "theta", "iota",
                             "kappa", "lambda", "mu",     "nu",    "xi",      "omicron", "pi", "rho",   "sigma",
                             "sigma", "tau",   "upsilon", "phi",   "chi",     "psi",  "omega"};
const char* kGreekUpper[] = {"Alpha", "Beta",  "Gamma",   "Delta", "Epsilon", "Zeta", "Eta",   "Theta", "Iota",
                             "Kappa", "Lambda", "Mu",     "Nu",    "Xi",      "Omicron", "Pi", "Rho",   "?",
                             "Sigma", "Tau",   "Upsilon", "Phi",   "Chi",     "Psi",  "Omega"};

std::string win_ansi_of(char32_t code) {
  if ((code >= 0x20 && code < 0x7F) || (code >= 0xA0 && code <= 0xFF)) return std::string(1, static_cast<char>(code));
  for (const auto& extra : kWinAnsiExtras) {
    if (extra.code == code) return std::string(1, static_cast<char>(extra.byte));
  }
  for (const auto& substitute : kSubstitutes) {
    if (substitute.code == code) return substitute.text;
  }
  if (code >= 0x03B1 && code <= 0x03C9) return kGreekLower[code - 0x03B1];
  if (code >= 0x0391 && code <= 0x03A9) return kGreekUpper[code - 0x0391];
  return "?";
}

// UTF-8 text as WinAnsi bytes. A malformed sequence becomes one '?' per bad byte.
std::string win_ansi(const std::string& utf8) {
  std::string out;
  size_t i = 0;
  while (i < utf8.size()) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    size_t length = 0;
    char32_t code = 0;
    if (lead < 0x80) {
      length = 1;
      code = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code = lead & 0x07;
    }
    bool valid = length > 0 && i + length <= utf8.size();
    for (size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(utf8[i + k]);
      valid = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms and surrogates are malformed too.
    static constexpr char32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
    if (valid && (code < kLeast[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))) valid = false;
    if (!valid) {
      out += '?';
      ++i;
      continue;
    }
    out += win_ansi_of(code);
    i += length;
  }
  return out;
}

double helvetica_width(const std::string& win_ansi_text, double size) {
  double units = 0;
  for (char c : win_ansi_text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 32) units += kHelveticaWidths[byte - 32];
  }
  return units * size / 1000.0;
}

// A PDF string literal: ( ) \ escaped, bytes outside printable ASCII as octal, so the
// content stream stays 7-bit text.
std::string pdf_string(const std::string& win_ansi_text) {
  std::string out = "(";
  for (char c : win_ansi_text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '(' || c == ')' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7F) {
      char octal[8];
      std::snprintf(octal, sizeof(octal), "\\%03o", byte);
      out += octal;
    } else {
      out += c;
    }
  }
  return out + ")";
}

// Shortest decimal with at most `decimals` places: "64", "410.5", "-0.71". Values are
// clamped to ±32767, the largest real that every PDF 1.4 reader handles.
std::string pdf_number(double value, int decimals = 2) {
  value = std::clamp(value, -32767.0, 32767.0);
  char text[48];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  std::string out = text;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

// "#0072B2" or "#444" as PDF colour components "0 0.447 0.698".
std::string pdf_rgb(const char* colour) {
  std::string hex = colour[0] == '#' ? colour + 1 : colour;
  if (hex.size() == 3) hex = {hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]};
  if (hex.size() != 6) return "0 0 0";
  std::string out;
  for (int k = 0; k < 3; ++k) {
    const long channel = std::strtol(hex.substr(2 * k, 2).c_str(), nullptr, 16);
    out += (k > 0 ? " " : "") + pdf_number(static_cast<double>(channel) / 255.0, 3);
  }
  return out;
}

bool finite(Point p) { return std::isfinite(p.x) && std::isfinite(p.y); }

// ---------------------------------------------------------------------------------------
// PDF back end: the page. Every shape sits in its own q … Q, so colours, widths and
// opacities never leak into the next one.

class PdfCanvas final : public Canvas {
 public:
  void begin(int width, int height) override {
    width_ = width;
    height_ = height;
    // SVG's default miter limit is 4 (PDF's is 10): sharp corners of a polyline match.
    content_ << "4 M\nq 1 g 0 0 " << width << " " << height << " re f Q\n";
  }

  void line(Point from, Point to, const Stroke& stroke) override {
    if (stroke.colour == nullptr || !finite(from) || !finite(to)) return;
    content_ << "q " << stroke_state(stroke) << xy(from) << " m " << xy(to) << " l S Q\n";
  }

  void polyline(const std::vector<Point>& points, const Stroke& stroke) override {
    const std::vector<Point> kept = finite_points(points);
    if (stroke.colour == nullptr || kept.size() < 2) return;
    content_ << "q " << stroke_state(stroke) << path(kept) << "S Q\n";
  }

  void polygon(const std::vector<Point>& points, const Fill& fill) override {
    const std::vector<Point> kept = finite_points(points);
    if (fill.colour == nullptr || kept.size() < 3) return;
    content_ << "q " << fill_state(fill) << path(kept) << "h f Q\n";
  }

  void rect(Point top_left, double width, double height, const Fill& fill, const Stroke& stroke) override {
    if (!finite(top_left) || !std::isfinite(width) || !std::isfinite(height)) return;
    const bool filled = fill.colour != nullptr;
    const bool stroked = stroke.colour != nullptr;
    if (!filled && !stroked) return;
    content_ << "q " << (filled ? fill_state(fill) : "") << (stroked ? stroke_state(stroke) : "")
             << pdf_number(top_left.x) << " " << pdf_number(height_ - top_left.y - height) << " " << pdf_number(width)
             << " " << pdf_number(height) << " re " << (filled && stroked ? "B" : filled ? "f" : "S") << " Q\n";
  }

  void circle(Point centre, double radius, const Fill& fill) override {
    if (fill.colour == nullptr || !finite(centre) || !std::isfinite(radius)) return;
    // Four cubic Béziers; 0.5523 r puts each quarter's midpoint on the circle.
    const double x = centre.x;
    const double y = height_ - centre.y;
    const double r = radius;
    const double k = 0.5522847498 * radius;
    auto at = [](double px, double py) { return pdf_number(px) + " " + pdf_number(py); };
    content_ << "q " << fill_state(fill) << at(x + r, y) << " m\n"
             << at(x + r, y + k) << " " << at(x + k, y + r) << " " << at(x, y + r) << " c\n"
             << at(x - k, y + r) << " " << at(x - r, y + k) << " " << at(x - r, y) << " c\n"
             << at(x - r, y - k) << " " << at(x - k, y - r) << " " << at(x, y - r) << " c\n"
             << at(x + k, y - r) << " " << at(x + r, y - k) << " " << at(x + r, y) << " c\nh f Q\n";
  }

  void text(Coord x, Coord y, const std::string& utf8, const TextStyle& style) override {
    const std::string encoded = win_ansi(utf8);
    if (encoded.empty() || !std::isfinite(x.value) || !std::isfinite(y.value)) return;
    const double width = helvetica_width(encoded, style.size);
    const double shift = style.anchor == Anchor::kStart ? 0.0 : style.anchor == Anchor::kMiddle ? width / 2 : width;
    // SVG turns clockwise on the page with y down; PDF measures angles anticlockwise with y up.
    const double angle = -style.rotation * std::acos(-1.0) / 180.0;
    const double c = std::cos(angle);
    const double s = std::sin(angle);
    const double origin_x = x.value - shift * c;
    const double origin_y = (height_ - y.value) - shift * s;
    content_ << "q 0 g BT /F1 " << pdf_number(style.size) << " Tf " << pdf_number(c, 4) << " " << pdf_number(s, 4)
             << " " << pdf_number(-s, 4) << " " << pdf_number(c, 4) << " " << pdf_number(origin_x) << " "
             << pdf_number(origin_y) << " Tm " << pdf_string(encoded) << " Tj ET Q\n";
  }

  std::string finish() override {
    const std::string content = content_.str();
    std::string graphics_states;
    for (size_t i = 0; i < alphas_.size(); ++i) {
      graphics_states += " /A" + std::to_string(i) + " << /Type /ExtGState /ca " + pdf_number(alphas_[i], 4) + " >>";
    }
    const std::string size = std::to_string(width_) + " " + std::to_string(height_);
    const std::vector<std::string> objects = {
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + size + "] /Resources << /Font << /F1 4 0 R >>" +
            (graphics_states.empty() ? "" : " /ExtGState <<" + graphics_states + " >>") + " >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        // The end-of-line before endstream is not part of the stream's /Length.
        "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
    };
    // The second line's bytes above 127 tell file transfer tools that this is binary.
    std::string file = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<size_t> offsets;
    for (size_t i = 0; i < objects.size(); ++i) {
      offsets.push_back(file.size());
      file += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const size_t xref = file.size();
    // Each cross-reference entry is exactly 20 bytes: 10-digit offset, generation, type, " \n".
    file += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (size_t offset : offsets) {
      char entry[32];
      std::snprintf(entry, sizeof(entry), "%010zu 00000 n \n", offset);
      file += entry;
    }
    file += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
            std::to_string(xref) + "\n%%EOF\n";
    return file;
  }

 private:
  std::string xy(Point p) const { return pdf_number(p.x) + " " + pdf_number(height_ - p.y); }

  std::string path(const std::vector<Point>& points) const {
    std::string out;
    for (size_t i = 0; i < points.size(); ++i) out += xy(points[i]) + (i == 0 ? " m\n" : " l\n");
    return out;
  }

  static std::vector<Point> finite_points(const std::vector<Point>& points) {
    std::vector<Point> kept;
    std::copy_if(points.begin(), points.end(), std::back_inserter(kept), [](Point p) { return finite(p); });
    return kept;
  }

  static std::string stroke_state(const Stroke& stroke) {
    return pdf_rgb(stroke.colour) + " RG " + pdf_number(stroke.width) + " w ";
  }

  std::string fill_state(const Fill& fill) {
    std::string out;
    if (fill.opacity < 1.0) out = "/A" + std::to_string(alpha_index(fill.opacity)) + " gs ";
    return out + pdf_rgb(fill.colour) + " rg ";
  }

  size_t alpha_index(double alpha) {
    const auto found = std::find(alphas_.begin(), alphas_.end(), alpha);
    if (found != alphas_.end()) return static_cast<size_t>(found - alphas_.begin());
    alphas_.push_back(alpha);
    return alphas_.size() - 1;
  }

  int width_ = 0;
  int height_ = 0;
  std::ostringstream content_;
  std::vector<double> alphas_;  // fill opacities in use, one ExtGState each
};

std::unique_ptr<Canvas> make_canvas(ChartFormat format) {
  if (format == ChartFormat::kPdf) return std::make_unique<PdfCanvas>();
  return std::make_unique<SvgCanvas>();
}

// ---------------------------------------------------------------------------------------
// Layout, shared by both back ends.

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

void check_size(const ChartOptions& options) {
  if (options.width <= 0 || options.height <= 0) {
    throw std::invalid_argument("chart '" + options.title + "': size " + std::to_string(options.width) + "x" +
                                std::to_string(options.height) + " is not positive");
  }
}

// The white page and the title centred above the frame.
void begin_page(Canvas& canvas, int width, int height, const std::string& title) {
  canvas.begin(width, height);
  canvas.text(Coord::whole(width / 2), Coord::whole(22), title, {Anchor::kMiddle, 15.0, 0.0});
}

// Grid, ticks, axis labels. `x_categories` replaces numeric x ticks when given.
void draw_axes(Canvas& canvas, const ChartOptions& options, const Frame& f, const std::vector<std::string>& x_categories) {
  for (double y : nice_ticks(f.y_low, f.y_high)) {
    if (y < f.y_low - 1e-9 || y > f.y_high + 1e-9) continue;
    canvas.line({f.left, f.py(y)}, {f.right, f.py(y)}, {"#e3e3e3"});
    canvas.text(f.left - 6, f.py(y) + 4, tick_label(y), {Anchor::kEnd});
  }
  if (x_categories.empty()) {
    for (double x : nice_ticks(f.x_low, f.x_high)) {
      if (x < f.x_low - 1e-9 || x > f.x_high + 1e-9) continue;
      if (options.integer_x && std::abs(x - std::round(x)) > 1e-9) continue;
      canvas.line({f.px(x), f.bottom}, {f.px(x), f.bottom + 5}, {"#444"});
      canvas.text(f.px(x), f.bottom + 18, tick_label(x), {Anchor::kMiddle});
    }
  } else {
    for (size_t i = 0; i < x_categories.size(); ++i) {
      const double x = f.px(static_cast<double>(i));
      canvas.text(x, f.bottom + 14, x_categories[i], {Anchor::kEnd, kFontSize, -30.0});
    }
  }
  canvas.rect({f.left, f.top}, f.right - f.left, f.bottom - f.top, Fill{}, {"#444"});
  canvas.text((f.left + f.right) / 2, Coord::whole(options.height - 8), options.x_label, {Anchor::kMiddle});
  canvas.text(Coord::whole(16), (f.top + f.bottom) / 2, options.y_label, {Anchor::kMiddle, kFontSize, -90.0});
}

void draw_line_chart(Canvas& canvas, const ChartOptions& options, const std::vector<LineSeries>& series) {
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
  check_size(options);
  widen_if_flat(x_low, x_high);
  widen_if_flat(y_low, y_high);
  const double y_pad = 0.05 * (y_high - y_low);
  // The image has the size asked for (a figure for a paper is laid out at it). The
  // legend right of the frame takes what its longest label needs, about 6.5 px per
  // character at font size 12 (a sans-serif's lowercase average, measured on rendered
  // legends) after the 38 px line sample: at least 160 px, at most
  // 45% of the width; the frame narrows to make room, and a label longer than that
  // still is shortened in the middle ("meta-sgd on point-nav, ... 3 seeds").
  size_t longest_label = 0;
  for (const auto& s : series) longest_label = std::max(longest_label, s.label.size());
  const double legend_width =
      std::clamp(38.0 + 6.5 * static_cast<double>(longest_label) + 8.0, 160.0, 0.45 * options.width);
  const size_t label_room = static_cast<size_t>(std::max(4.0, (legend_width - 46.0) / 6.5));
  Frame f{x_low, x_high, y_low - y_pad, y_high + y_pad, 64.0, options.width - legend_width, 36.0,
          options.height - 50.0};
  const int image_width = options.width;

  begin_page(canvas, image_width, options.height, options.title);
  draw_axes(canvas, options, f, {});
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* colour = kColours[k % (sizeof(kColours) / sizeof(kColours[0]))];
    if (!s.band_low.empty()) {
      std::vector<Point> band;
      for (size_t i = 0; i < s.x.size(); ++i) band.push_back({f.px(s.x[i]), f.py(s.band_high[i])});
      for (size_t i = s.x.size(); i-- > 0;) band.push_back({f.px(s.x[i]), f.py(s.band_low[i])});
      canvas.polygon(band, {colour, 0.18});
    }
    std::vector<Point> points;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (std::isfinite(s.y[i])) points.push_back({f.px(s.x[i]), f.py(s.y[i])});
    }
    canvas.polyline(points, {colour, 1.8});
    if (s.markers) {
      for (size_t i = 0; i < s.x.size(); ++i) canvas.circle({f.px(s.x[i]), f.py(s.y[i])}, 3.5, {colour});
    }
    const double legend_y = f.top + 14 + 20.0 * static_cast<double>(k);
    canvas.line({f.right + 12, legend_y - 4}, {f.right + 32, legend_y - 4}, {colour, 3.0});
    canvas.text(f.right + 38, legend_y, shortened_label(s.label, label_room), {});
  }
}

void draw_box_chart(Canvas& canvas, const ChartOptions& options, const std::vector<BoxStats>& boxes) {
  if (boxes.empty()) throw std::invalid_argument("chart '" + options.title + "': no boxes");
  check_size(options);
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

  begin_page(canvas, options.width, options.height, options.title);
  draw_axes(canvas, options, f, labels);
  for (size_t i = 0; i < boxes.size(); ++i) {
    const auto& b = boxes[i];
    const double x = f.px(static_cast<double>(i));
    canvas.line({x, f.py(b.min)}, {x, f.py(b.max)}, {"#444"});
    canvas.rect({x - half_width, f.py(b.q3)}, 2 * half_width, std::max(1.0, f.py(b.q1) - f.py(b.q3)),
                {kColours[0], 0.35}, {kColours[0]});
    canvas.line({x - half_width, f.py(b.median)}, {x + half_width, f.py(b.median)}, {kColours[1], 2.5});
  }
}

}  // namespace

ChartFormat chart_format_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  std::string extension;
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) extension = path.substr(dot);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".svg") return ChartFormat::kSvg;
  if (extension == ".pdf") return ChartFormat::kPdf;
  throw std::invalid_argument("chart file '" + path + "': " +
                              (extension.empty() ? std::string("no extension") : "unknown extension '" + extension + "'") +
                              "; expected .svg or .pdf");
}

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

std::string render_line_chart(const ChartOptions& options, const std::vector<LineSeries>& series, ChartFormat format) {
  const auto canvas = make_canvas(format);
  draw_line_chart(*canvas, options, series);
  return canvas->finish();
}

std::string render_box_chart(const ChartOptions& options, const std::vector<BoxStats>& boxes, ChartFormat format) {
  const auto canvas = make_canvas(format);
  draw_box_chart(*canvas, options, boxes);
  return canvas->finish();
}

}  // namespace metarl::meta
