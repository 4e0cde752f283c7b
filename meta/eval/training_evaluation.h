#pragma once
// eval_every: the evaluation of a training run's checkpoint while it trains, and its
// rows in RUN_DIR/eval_during_training.csv (meta/run/run_directory.h names the file).

#include <cstdint>
#include <string>

#include "meta/config.h"
#include "meta/parallel/collectives.h"
#include "meta/eval/eval_report.h"

namespace metarl::meta {

// `metarl eval`'s protocol on the checkpoint just written, with the config's eval_*
// keys and its default seed (the same tasks at every evaluation); every process its share.
EvalReport evaluate_during_training(const TrainConfig& config, const std::string& checkpoint_path,
                                    const Collectives& collectives);
// The CSV's header for `steps` adaptation steps, and one evaluation's row.
std::string training_evaluation_header(int steps);
std::string training_evaluation_row(int iteration, std::int64_t env_steps, const EvalReport& report);

}  // namespace metarl::meta
