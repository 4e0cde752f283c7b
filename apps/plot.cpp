// `metarl plot RUN [RUN ...]`: images of runs and seed groups — learning curve,
// adaptation curves of saved evaluations, learned α — as SVG or PDF, in RUN/plots/
// (or --out DIR); several runs overlay their learning curves (meta/report/plots.h).

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "meta/report/plots.h"

namespace metarl::apps {

namespace {
struct PlotCommandOptions {
  std::vector<std::string> runs;
  meta::PlotOptions plot;
  std::string format = "svg";
  std::string x_axis = "iterations";
};
}  // namespace

void add_plot_command(CLI::App& app) {
  auto options = std::make_shared<PlotCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "plot", "Plot runs or seed groups: learning curves, adaptation, alpha (SVG or PDF); several runs overlay");
  command->add_option("runs", options->runs, "Run directories or seed groups (metarl train --seeds)")->required();
  command->add_option("--out", options->plot.out_dir, "Folder for the images (default RUN/plots; needed for several)");
  command->add_option("--format", options->format, "svg or pdf")
      ->check(CLI::IsMember({"svg", "pdf"}))
      ->capture_default_str();
  command->add_option("--width", options->plot.width, "Image width in pixels (PDF: points)")
      ->check(CLI::Range(100, 20000))
      ->capture_default_str();
  command->add_option("--height", options->plot.height, "Image height in pixels (PDF: points)")
      ->check(CLI::Range(100, 20000))
      ->capture_default_str();
  command->add_option("--smooth", options->plot.smooth,
                      "Moving average of the learning curves over this many iterations (1 = raw)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  command->add_option("--x", options->x_axis, "Learning curves' x axis: iterations or env-steps")
      ->check(CLI::IsMember({"iterations", "env-steps"}))
      ->capture_default_str();
  command->callback([options] {
    options->plot.format = options->format == "pdf" ? meta::ChartFormat::kPdf : meta::ChartFormat::kSvg;
    options->plot.x_axis = options->x_axis == "env-steps" ? meta::PlotXAxis::kEnvSteps : meta::PlotXAxis::kIterations;
    for (const auto& path : meta::plot_runs(options->runs, options->plot)) std::cout << path << "\n";
  });
}

}  // namespace metarl::apps
