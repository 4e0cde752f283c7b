// PDF output of the chart writer: the file's structure (header, cross-reference table,
// trailer), the page size, the content stream, text encoding and anchoring, and, where
// poppler's pdftotext or qpdf is installed, that a real reader accepts the file.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "meta/report/svg_chart.h"

namespace metarl::meta {
namespace {

namespace fs = std::filesystem;

LineSeries band_series() {
  return LineSeries{"maml", {0, 1, 2, 3}, {-40, -14, -12, -11}, {-45, -16, -13, -12}, {-35, -12, -11, -10}, true};
}

std::string line_pdf(const ChartOptions& options, const std::vector<LineSeries>& series) {
  return render_line_chart(options, series, ChartFormat::kPdf);
}

// The bytes between "stream\n" and "\nendstream" of the (only) content stream, checked
// against its /Length.
std::string content_stream(const std::string& pdf) {
  const std::regex length(R"(/Length (\d+) >>\nstream\n)");
  std::smatch match;
  if (!std::regex_search(pdf, match, length)) return "";
  const size_t start = static_cast<size_t>(match.position(0) + match.length(0));
  const size_t end = pdf.find("\nendstream", start);
  if (end == std::string::npos || end - start != std::stoul(match[1].str())) return "";
  return pdf.substr(start, end - start);
}

TEST(ChartPdf, StartsWithTheHeaderAndEndsWithEof) {
  const std::string pdf = line_pdf({"T", "x", "y", 760, 460, false}, {band_series()});
  EXPECT_EQ(pdf.rfind("%PDF-1.4\n", 0), 0U);
  ASSERT_GE(pdf.size(), 6U);
  EXPECT_EQ(pdf.substr(pdf.size() - 6), "%%EOF\n");  // the marker, then the usual end of line
}

TEST(ChartPdf, CrossReferenceOffsetsPointAtTheirObjects) {
  for (const std::string& pdf : {line_pdf({"T", "x", "y", 760, 460, true}, {band_series()}),
                                 render_box_chart({"B", "", "alpha", 500, 300, false},
                                                  {{"w", 0.1, 0.2, 0.3, 0.4, 0.5}}, ChartFormat::kPdf)}) {
    std::smatch match;
    ASSERT_TRUE(std::regex_search(pdf, match, std::regex(R"(startxref\n(\d+)\n%%EOF\n$)")));
    const size_t xref = std::stoul(match[1].str());
    ASSERT_EQ(pdf.compare(xref, 5, "xref\n"), 0) << "startxref " << xref << " does not point at the xref table";
    const std::string section = pdf.substr(xref);
    ASSERT_TRUE(std::regex_search(section, match, std::regex(R"(^xref\n0 (\d+)\n)")));
    const size_t count = std::stoul(match[1].str());
    const size_t first_entry = static_cast<size_t>(match.length(0));
    ASSERT_GE(count, 6U);  // free entry, catalog, pages, page, font, content
    EXPECT_EQ(section.compare(first_entry, 20, "0000000000 65535 f \n"), 0);
    for (size_t object = 1; object < count; ++object) {
      const std::string entry = section.substr(first_entry + 20 * object, 20);
      ASSERT_TRUE(std::regex_match(entry, std::regex(R"(\d{10} 00000 n \n)"))) << "entry " << object << ": " << entry;
      const size_t offset = std::stoul(entry.substr(0, 10));
      const std::string header = std::to_string(object) + " 0 obj";
      EXPECT_EQ(pdf.compare(offset, header.size(), header), 0) << "object " << object << " at " << offset;
    }
    EXPECT_EQ(section.compare(first_entry + 20 * count, 8, "trailer\n"), 0);
    EXPECT_NE(section.find("/Size " + std::to_string(count) + " /Root 1 0 R"), std::string::npos);
  }
}

TEST(ChartPdf, MediaBoxIsTheChosenSizeInPoints) {
  EXPECT_NE(line_pdf({"T", "x", "y", 760, 460, false}, {band_series()}).find("/MediaBox [0 0 760 460]"),
            std::string::npos);
  EXPECT_NE(line_pdf({"T", "x", "y", 500, 321, false}, {band_series()}).find("/MediaBox [0 0 500 321]"),
            std::string::npos);
  EXPECT_NE(render_box_chart({"B", "", "y", 640, 480, false}, {{"w", 1, 2, 3, 4, 5}}, ChartFormat::kPdf)
                .find("/MediaBox [0 0 640 480]"),
            std::string::npos);
  // As in the SVG, a 40-character legend label narrows the frame; the page keeps its size.
  LineSeries long_label{std::string(40, 'm'), {0.0, 10.0}, {0.0, 1.0}, {}, {}, false};
  EXPECT_NE(line_pdf({"T", "x", "y", 760, 460, false}, {long_label}).find("/MediaBox [0 0 760 460]"),
            std::string::npos);
  EXPECT_THROW(line_pdf({"T", "x", "y", 0, 460, false}, {band_series()}), std::invalid_argument);
}

TEST(ChartPdf, ContentStreamLengthIsItsByteCount) {
  const std::string pdf = line_pdf({"T", "x", "y", 760, 460, true}, {band_series()});
  std::smatch match;
  ASSERT_TRUE(std::regex_search(pdf, match, std::regex(R"(/Length (\d+) >>\nstream\n)")));
  const size_t start = static_cast<size_t>(match.position(0) + match.length(0));
  const size_t end = pdf.find("\nendstream\n", start);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(end - start, std::stoul(match[1].str()));
}

TEST(ChartPdf, TitleLabelsAndLegendAreInTheContentStream) {
  LineSeries other{"after adaptation", {0, 1, 2, 3}, {-30, -10, -9, -8}, {}, {}, false};
  const std::string content =
      content_stream(line_pdf({"Learning curve: maml", "meta-iteration", "mean episode return", 760, 460, true},
                              {band_series(), other}));
  ASSERT_FALSE(content.empty());
  for (const char* text : {"(Learning curve: maml) Tj", "(maml) Tj", "(after adaptation) Tj", "(meta-iteration) Tj",
                           "(mean episode return) Tj", "(-40) Tj", "(3) Tj"}) {
    EXPECT_NE(content.find(text), std::string::npos) << text << "\n" << content;
  }
  EXPECT_EQ(content.find("(0.5) Tj"), std::string::npos);  // no half steps on an integer axis
  const std::string box = content_stream(render_box_chart(
      {"Step sizes", "", "alpha", 760, 460, false}, {{"layer.0", 1, 2, 3, 4, 5}, {"layer.1", 2, 3, 4, 5, 6}},
      ChartFormat::kPdf));
  for (const char* text : {"(Step sizes) Tj", "(layer.0) Tj", "(layer.1) Tj", "(alpha) Tj"}) {
    EXPECT_NE(box.find(text), std::string::npos) << text << "\n" << box;
  }
}

TEST(ChartPdf, TextIsAnchoredWithHelveticaWidthsAndYIsFlipped) {
  // The title "T" is centred at x = 760 / 2 on the baseline 22 px from the top: Helvetica's
  // T is 611/1000 em, 9.165 pt at 15 pt, so it starts at 380 − 4.5825 = 375.4175.
  const std::string content = content_stream(line_pdf({"T", "x", "y", 760, 460, false}, {band_series()}));
  EXPECT_NE(content.find("/F1 15 Tf 1 0 0 1 375.42 438 Tm (T) Tj"), std::string::npos) << content;
  // The y label is turned a quarter anticlockwise and centred at (16, 223) from the top:
  // "y" is 500/1000 em, 6 pt at 12 pt, so it starts 3 pt lower, at 460 − 223 − 3 = 234.
  EXPECT_NE(content.find("/F1 12 Tf 0 1 -1 0 16 234 Tm (y) Tj"), std::string::npos) << content;
  // Tick labels end 6 px left of the frame (x = 58): "-40" is 333 + 2 · 556 = 1445/1000 em.
  EXPECT_NE(content.find(" 1 0 0 1 40.66 "), std::string::npos) << content;
}

TEST(ChartPdf, TextIsEscapedAndMappedToWinAnsi) {
  LineSeries s = band_series();
  s.label = "f(x) \\ \xCE\xB1 \xC2\xB1 \xE2\x88\x92 \xC3\x97 \xCF\x83 \xCE\xB8 \xCE\xBC \xE2\x80\x93 \xE4\xB8\xAD \xFF";
  const std::string content = content_stream(line_pdf({"T", "x", "y", 760, 460, false}, {s}));
  // ( ) \ escaped; α σ θ by name; ± × µ – as their WinAnsi codes (octal); − as '-'; a CJK
  // character and a malformed byte as '?'.
  EXPECT_NE(content.find("(f\\(x\\) \\\\ alpha \\261 - \\327 sigma theta \\265 \\226 ? ?) Tj"), std::string::npos)
      << content;
  for (char c : content) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "the content stream stays 7-bit";
}

TEST(ChartPdf, BandsAndBoxesAreTranslucentThroughExtGState) {
  const std::string line = line_pdf({"T", "x", "y", 760, 460, false}, {band_series()});
  EXPECT_NE(line.find("/ExtGState << /A0 << /Type /ExtGState /ca 0.18 >> >>"), std::string::npos) << line;
  EXPECT_NE(content_stream(line).find("/A0 gs"), std::string::npos);
  const std::string box = render_box_chart({"B", "", "y", 760, 460, false}, {{"w", 1, 2, 3, 4, 5}}, ChartFormat::kPdf);
  EXPECT_NE(box.find("/ca 0.35"), std::string::npos) << box;
  // A chart with nothing translucent names no graphics state.
  LineSeries plain{"p", {0, 1}, {0, 1}, {}, {}, false};
  EXPECT_EQ(line_pdf({"T", "x", "y", 760, 460, false}, {plain}).find("ExtGState"), std::string::npos);
}

TEST(ChartPdf, NonFiniteValuesLeaveNoUnreadableNumbers) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  LineSeries s{"n", {0, 1, 2, 3}, {1, nan, 3, 2}, {}, {}, true};
  const std::string content = content_stream(line_pdf({"NaN", "x", "y", 760, 460, false}, {s}));
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(content.find("nan"), std::string::npos) << content;
  EXPECT_EQ(content.find("inf"), std::string::npos) << content;
}

TEST(ChartPdf, SvgStaysTheDefaultFormat) {
  const ChartOptions options{"T", "x", "y", 760, 460, true};
  const std::string svg = render_line_chart(options, {band_series()});
  EXPECT_EQ(svg, render_line_chart(options, {band_series()}, ChartFormat::kSvg));
  EXPECT_EQ(svg.rfind("<svg xmlns=", 0), 0U);
  const std::vector<BoxStats> boxes{{"w", 1, 2, 3, 4, 5}};
  EXPECT_EQ(render_box_chart(options, boxes), render_box_chart(options, boxes, ChartFormat::kSvg));
}

TEST(ChartFormatOf, ReadsTheExtension) {
  EXPECT_EQ(chart_format_of("plots/learning_curve.svg"), ChartFormat::kSvg);
  EXPECT_EQ(chart_format_of("plots/learning_curve.pdf"), ChartFormat::kPdf);
  EXPECT_EQ(chart_format_of("FIGURE.PDF"), ChartFormat::kPdf);
  try {
    chart_format_of("plots/learning_curve.png");
    FAIL() << "a .png path was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("plots/learning_curve.png"), std::string::npos) << e.what();
  }
  EXPECT_THROW(chart_format_of("plots/learning_curve"), std::invalid_argument);
  EXPECT_THROW(chart_format_of("plots.pdf/learning_curve"), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------
// A real reader, where one is installed (poppler-utils, qpdf); skipped otherwise.

bool have_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs `command`, returning its exit status and standard output.
int run_command(const std::string& command, std::string& output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, read);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ChartPdfReader : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("metarl_chart_pdf_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }

  fs::path dir_;
};

TEST_F(ChartPdfReader, PdftotextExtractsTheTitle) {
  if (!have_program("pdftotext")) GTEST_SKIP() << "pdftotext (poppler-utils) is not installed";
  LineSeries other{"after adaptation", {0, 1, 2, 3}, {-30, -10, -9, -8}, {}, {}, false};
  const std::string line = write("line.pdf", line_pdf({"Learning curve of maml", "meta-iteration", "return \xCE\xB1",
                                                        760, 460, true},
                                                       {band_series(), other}));
  const std::string box = write("box.pdf", render_box_chart({"Inner step sizes", "", "alpha", 760, 460, false},
                                                            {{"layer.0", 1, 2, 3, 4, 5}}, ChartFormat::kPdf));
  std::string text;
  ASSERT_EQ(run_command("pdftotext '" + line + "' - 2>&1", text), 0) << text;
  EXPECT_NE(text.find("Learning curve of maml"), std::string::npos) << text;
  EXPECT_NE(text.find("after adaptation"), std::string::npos) << text;
  EXPECT_EQ(text.find("Syntax Error"), std::string::npos) << text;
  text.clear();
  ASSERT_EQ(run_command("pdftotext '" + box + "' - 2>&1", text), 0) << text;
  EXPECT_NE(text.find("Inner step sizes"), std::string::npos) << text;
  EXPECT_EQ(text.find("Syntax Error"), std::string::npos) << text;
}

TEST_F(ChartPdfReader, QpdfFindsNoErrors) {
  if (!have_program("qpdf")) GTEST_SKIP() << "qpdf is not installed";
  const std::string line = write("line.pdf", line_pdf({"T", "x", "y", 760, 460, true}, {band_series()}));
  const std::string box = write("box.pdf", render_box_chart({"B", "", "y", 500, 300, false},
                                                            {{"w", 1, 2, 3, 4, 5}}, ChartFormat::kPdf));
  for (const std::string& path : {line, box}) {
    std::string report;
    // Exit 0: no errors and no warnings (2 is errors, 3 warnings).
    EXPECT_EQ(run_command("qpdf --check '" + path + "' 2>&1", report), 0) << report;
  }
}

}  // namespace
}  // namespace metarl::meta
