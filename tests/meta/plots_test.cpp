// The SVG chart writer and `metarl plot`'s library side. Charts are checked for
// their geometry, and rendered with rsvg-convert (librsvg2-bin, installed by
// scripts/install-deps.sh), which rejects malformed SVG.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "envs/errors.h"
#include "meta/checkpoint.h"
#include "meta/eval/evaluation.h"
#include "meta/report/plots.h"
#include "meta/report/svg_chart.h"
#include "meta/run/run_directory.h"
#include "meta/session/training_run.h"
#include "meta/trainer.h"
#include "tests/support/test_support.h"

namespace metarl::meta {
namespace {

namespace fs = std::filesystem;
using PlotsOnDisk = metarl::testing::ScratchDirTest;

// Renders an SVG file to PNG; true when rsvg-convert accepted it and wrote a PNG.
bool renders(const std::string& svg_path, const fs::path& png_path) {
  const std::string command = "rsvg-convert '" + svg_path + "' -o '" + png_path.string() + "' 2>/dev/null";
  if (std::system(command.c_str()) != 0) return false;
  std::ifstream png(png_path, std::ios::binary);
  char signature[8] = {};
  png.read(signature, 8);
  return std::string(signature + 1, 3) == "PNG";
}

bool have_renderer() { return std::system("command -v rsvg-convert > /dev/null 2>&1") == 0; }

// A run small enough to train in a test: point-nav, 4 tasks x 4 rollouts of 20 steps,
// one hidden layer of 16, 4 iterations.
TrainConfig small_run_config() {
  TrainConfig config;
  config.meta_batch = 4;
  config.rollouts = 4;
  config.horizon = 20;
  config.policy.hidden_sizes = {16};
  config.iterations = 4;
  return config;
}

TEST(NiceTicks, AreRoundAndCoverTheRange) {
  EXPECT_EQ(nice_ticks(0.0, 1.0, 5), (std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(nice_ticks(-83.0, -3.0, 4), (std::vector<double>{-80.0, -60.0, -40.0, -20.0}));
  EXPECT_EQ(nice_ticks(1.0, 300.0, 6), (std::vector<double>{50.0, 100.0, 150.0, 200.0, 250.0, 300.0}));
  EXPECT_FALSE(nice_ticks(5.0, 5.0).empty());  // a flat range is widened, not divided by zero
}

TEST(SvgChart, MapsDataIntoTheFrameAndEscapesText) {
  // Frame: x from 64 to width−160 = 600, y from height−50 = 410 (bottom) to 36 (top),
  // with 5% padding on y. Points (0, 0) and (10, 1): y range [−0.05, 1.05].
  LineSeries s{"a <b> & c", {0.0, 10.0}, {0.0, 1.0}, {}, {}, false};
  const std::string svg = render_line_chart({"T & U", "x", "y", 760, 460, false}, {s});
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  const double y0 = 410.0 - (0.0 + 0.05) / 1.1 * 374.0;
  const double y1 = 410.0 - (1.0 + 0.05) / 1.1 * 374.0;
  char expected[64];
  std::snprintf(expected, sizeof(expected), "points=\"64.0,%.1f 600.0,%.1f \"", y0, y1);
  EXPECT_NE(svg.find(expected), std::string::npos) << expected << "\n" << svg;
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; c"), std::string::npos);
  EXPECT_NE(svg.find("T &amp; U"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_THROW(render_line_chart({}, {LineSeries{"bad", {1.0}, {1.0, 2.0}, {}, {}, false}}), std::invalid_argument);
}

TEST(SvgChart, LongLegendLabelsNarrowTheFrameAndTheImageKeepsItsSize) {
  // 40 characters need 38 + 6.5·40 + 8 = 306 px of legend instead of 160: the frame
  // ends at 760 − 306 = 454 px, and the image stays 760 px wide.
  LineSeries s{std::string(40, 'm'), {0.0, 10.0}, {0.0, 1.0}, {}, {}, false};
  const std::string svg = render_line_chart({"T", "x", "y", 760, 460, false}, {s});
  EXPECT_NE(svg.find("width=\"760\" height=\"460\""), std::string::npos) << svg;
  EXPECT_NE(svg.find(" 454.0,"), std::string::npos) << svg;
  EXPECT_NE(svg.find(std::string(40, 'm')), std::string::npos) << "it fits: whole";
  // 100 characters do not fit in 45% of 760 px (342 px, 45 characters): shortened in
  // the middle, the frame at 760 − 342 = 418 px.
  LineSeries longer{std::string(50, 'a') + std::string(50, 'z'), {0.0, 10.0}, {0.0, 1.0}, {}, {}, false};
  const std::string shortened = render_line_chart({"T", "x", "y", 760, 460, false}, {longer});
  EXPECT_NE(shortened.find("width=\"760\""), std::string::npos);
  EXPECT_NE(shortened.find(" 418.0,"), std::string::npos) << shortened;
  EXPECT_NE(shortened.find(std::string(21, 'a') + "..." + std::string(21, 'z') + "<"), std::string::npos) << shortened;
}

TEST(SvgChart, BandsMarkersAndIntegerTicks) {
  LineSeries s{"m", {0, 1, 2, 3}, {-40, -14, -12, -11}, {-45, -16, -13, -12}, {-35, -12, -11, -10}, true};
  const std::string svg = render_line_chart({"A", "steps", "return", 760, 460, true}, {s});
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  EXPECT_NE(svg.find("<polygon"), std::string::npos);
  const std::regex circle("<circle ");
  EXPECT_EQ(std::distance(std::sregex_iterator(svg.begin(), svg.end(), circle), std::sregex_iterator()), 4);
  EXPECT_EQ(svg.find(">0.5</text>"), std::string::npos);  // no half steps on an integer axis
  EXPECT_NE(svg.find(">1</text>"), std::string::npos);
}

TEST_F(PlotsOnDisk, PlotRunWritesRenderableImagesOfARun) {
  const TrainConfig config = small_run_config();
  TrainRunOptions run;
  run.out_dir = dir_.string();
  run_training(config, run);
  EvalOptions eval;
  eval.checkpoints = {dir_.string()};
  eval.protocol.tasks = 3;
  eval.protocol.rollouts = 2;
  eval.protocol.steps = 2;
  save_eval_report(dir_.string(), evaluate(eval));
  EXPECT_TRUE(fs::exists(dir_ / "eval_test.json"));

  const auto written = plot_run(dir_.string());
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(fs::path(written[0]).filename(), "learning_curve.svg");
  EXPECT_EQ(fs::path(written[1]).filename(), "adaptation_test.svg");
  EXPECT_EQ(fs::path(written[2]).filename(), "alpha.svg");
  const std::string alpha_svg = metarl::testing::file_text(written[2]);
  EXPECT_NE(alpha_svg.find("layer0.weight"), std::string::npos);
  EXPECT_NE(alpha_svg.find("log_std"), std::string::npos);
  if (!have_renderer()) GTEST_SKIP() << "rsvg-convert missing: run scripts/install-deps.sh";
  for (const auto& svg : written) EXPECT_TRUE(renders(svg, dir_ / "render.png")) << svg;

  EXPECT_THROW(plot_run((dir_ / "empty").string()), UsageError);
  // The learning curve's title names the algorithm, environment and run.
  EXPECT_NE(metarl::testing::file_text(written[0]).find("Learning curve: meta-sgd on point-nav, " + dir_.string()),
            std::string::npos);
}

// Methods without learned step sizes get no α chart, and the pretrained baseline (no
// adaptation in training: its before and after are one number) one line, not two.
TEST_F(PlotsOnDisk, MamlAndPretrainedRunsGetNoAlphaChartAndPretrainedOneLine) {
  TrainConfig config = small_run_config();
  for (const Algorithm algorithm : {Algorithm::kMaml, Algorithm::kPretrained}) {
    config.algo = algorithm;
    const fs::path run_dir = dir_ / to_string(algorithm);
    TrainRunOptions run;
    run.out_dir = run_dir.string();
    run_training(config, run);
    const auto written = plot_run(run_dir.string());
    ASSERT_EQ(written.size(), 1u) << to_string(algorithm);
    EXPECT_EQ(fs::path(written[0]).filename(), "learning_curve.svg");
    const std::string svg = metarl::testing::file_text(written[0]);
    EXPECT_NE(svg.find("Learning curve: " + to_string(algorithm) + " on point-nav"), std::string::npos) << svg;
    const bool pretrained = algorithm == Algorithm::kPretrained;
    EXPECT_EQ(svg.find("after adaptation") != std::string::npos, !pretrained) << to_string(algorithm);
    EXPECT_EQ(svg.find("no adaptation in training") != std::string::npos, pretrained) << to_string(algorithm);
  }
}

}  // namespace
}  // namespace metarl::meta
