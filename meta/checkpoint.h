#pragma once
// Checkpoints: θ, α, the outer optimiser's state, random-number states, the
// iteration and the effective config, in one torch archive. The archive is wrapped
// in a container — magic "METARLCK", format version, payload length and a 64-bit
// FNV-1a checksum of the payload — verified before torch parses anything: torch's
// own zip reader loads a file with flipped bytes inside a tensor without complaint,
// which would be a silently wrong policy. Every file metarl
// writes into a run directory goes through write_file_atomically (temporary file,
// fsync, rename, fsync of the directory), so a crash leaves either the old file
// or the new one, never half of one.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agents/policy.h"
#include "meta/meta_learner.h"
#include "meta/options.h"

namespace metarl::meta {

inline constexpr const char* kCheckpointFormat = "metarl-checkpoint-1";
inline constexpr const char* kCheckpointFile = "checkpoint.pt";
inline constexpr const char* kConfigFile = "config.yaml";
inline constexpr const char* kMetricsFile = "metrics.csv";

// 64-bit FNV-1a of `size` bytes, continuing from `hash` (the offset basis for a fresh
// one): the checkpoint container's checksum, and a run's config-and-build fingerprint.
std::uint64_t fnv1a64(const void* data, size_t size, std::uint64_t hash = 0xCBF29CE484222325ULL);

// Writes `contents` to `path` atomically: temporary file, fsync, rename, fsync of
// the directory.
void write_file_atomically(const std::string& path, const std::string& contents);

struct CheckpointData {
  std::string config_yaml;   // the effective TrainConfig (to_yaml)
  std::string env;
  Algorithm algorithm = Algorithm::kMetaSgd;  // stored by name (algorithm_names())
  std::string architecture;  // Policy::architecture()
  std::int64_t iteration = 0;  // meta-iterations completed
  // Set by load_checkpoint: the file's payload checksum (FNV-1a, 64 bits), which
  // names this checkpoint in evaluation reports (its provenance).
  std::uint64_t checksum = 0;
  agents::ParameterList theta;
  agents::ParameterList alpha;
};

// `extra` may add more entries (optimiser and RNG states) to the archive.
void save_checkpoint(const std::string& path, const CheckpointData& data,
                     const std::function<void(torch::serialize::OutputArchive&)>& extra = {});

// A new run directory `out_dir` holding `data` (checkpoint.pt and config.yaml, no
// optimiser state: it evaluates, it does not resume), for copies of a run with edited
// or averaged parameters. Throws UsageError when out_dir exists. Written beside it and
// renamed into place, so it appears whole or not at all.
void write_parameter_copy(const std::string& out_dir, const CheckpointData& data);

// Accepts a run directory or a checkpoint file. Throws UsageError when it is
// missing, unreadable, truncated or not a metarl checkpoint. Tensors load on the CPU.
// `extra` may read more entries.
CheckpointData load_checkpoint(const std::string& run_dir_or_file,
                               const std::function<void(torch::serialize::InputArchive&)>& extra = {});

// Copies the checkpoint's θ and α into `learner` after checking that they fit: the
// same policy architecture, tensor count and shapes (θ's and α's). Throws UsageError
// "checkpoint '<path>' is incompatible: ..." otherwise.
void load_parameters(const CheckpointData& data, const std::string& path, MetaLearner& learner);

// RUN_DIR/checkpoint.pt for a directory, the path itself for a file.
std::string resolve_checkpoint_path(const std::string& run_dir_or_file);
// "runs/seed2/" → "runs/seed2": a run as the user named it, for report names and plot
// titles.
std::string shown_run(std::string run);

// Random-number state words ↔ int64 tensors, bit for bit, for the checkpoint archive.
torch::Tensor rng_words_to_tensor(const std::vector<std::uint64_t>& words);
std::vector<std::uint64_t> rng_tensor_to_words(const torch::Tensor& tensor);

}  // namespace metarl::meta
