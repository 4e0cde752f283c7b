// `metarl plot RUN_DIR`: SVG images of a run — learning curve, adaptation curves of
// its saved evaluations, learned α — in RUN_DIR/plots/ (or --out DIR).

#include <iostream>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "meta/plots.h"

namespace metarl::apps {

namespace {
struct PlotOptions {
  std::string run_dir;
  std::string out_dir;
};
}  // namespace

void add_plot_command(CLI::App& app) {
  auto options = std::make_shared<PlotOptions>();
  CLI::App* command = app.add_subcommand("plot", "Write SVG plots of a run: learning curve, adaptation, alpha");
  command->add_option("run_dir", options->run_dir, "Run directory from `metarl train`")->required();
  command->add_option("--out", options->out_dir, "Folder for the images (default RUN_DIR/plots)");
  command->callback([options] {
    for (const auto& path : meta::plot_run(options->run_dir, options->out_dir)) std::cout << path << "\n";
  });
}

}  // namespace metarl::apps
