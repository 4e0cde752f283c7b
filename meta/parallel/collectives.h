#pragma once
// Collectives for data-parallel meta-training over processes, on torch.distributed's
// c10d (ProcessGroupGloo, rendezvous through a TCPStore), and their one-process form.
// A meta-iteration asks "sum this over the ranks"; in one process that is a no-op,
// so every outer step is written once. The task is the unit of parallelism: rank r
// samples, adapts and differentiates tasks [shard(T, r, N)) of every meta-batch, and
// the sums over tasks (meta-gradients, curvature products, surrogate and KL values,
// returns) are reduced. Every rank then takes the same step (a ring all-reduce leaves
// the same bits on every rank), so the meta-parameters never need a broadcast.
//
// Launch: torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
// LOCAL_RANK), so torchrun, SLURM's srun and ssh loops all start workers alike, and
// `metarl train --nproc N` starts N local ones itself (meta/parallel/launch.h). docs/distributed.md.
//
// Faults: every collective waits at most the timeout; a failed one is reported with the
// ranks whose heartbeats (a counter each rank bumps in the store every second) stopped,
// so a rank that died, hung or was killed is named instead of leaving the others hanging.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace metarl::meta {

class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int rank() const { return 0; }
  virtual int world_size() const { return 1; }
  bool distributed() const { return world_size() > 1; }
  // Sums each tensor over the ranks, in place (every rank ends with the same values).
  // `what` names the quantity in a failure message ("the meta-gradient").
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what) const;
  // Every rank's `tensor` (one shape and dtype on all ranks), in rank order.
  virtual std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor, const std::string& what) const;
};

// The one-process collectives: sums and gathers of one rank. The shared form is the
// same object, for the holders of a run's collectives (MetaTrainer, TrainRunOptions):
// one process is a communicator like any other, never a null pointer.
const Collectives& single_process();
std::shared_ptr<const Collectives> single_process_shared();

// Σ over ranks of a number (float64 on the wire).
double all_reduce_sum(const Collectives& collectives, double value, const std::string& what);
// Σ over ranks of `tensor`, in place; returns it (a no-op in one process).
torch::Tensor all_reduce_sum(const Collectives& collectives, torch::Tensor tensor, const std::string& what);
// Rank order concatenation of every rank's words, whatever their counts.
std::vector<std::uint64_t> all_gather_words(const Collectives& collectives, const std::vector<std::uint64_t>& words,
                                            const std::string& what);

// Rank order concatenation of every rank's numbers (their bits travel as words).
std::vector<double> all_gather_doubles(const Collectives& collectives, const std::vector<double>& values,
                                       const std::string& what);

// Items [first, last) of `count` for `rank` of `world`: contiguous, in rank order,
// sizes differing by at most one (the TRPO task groups' rule).
std::pair<int, int> shard(int count, int rank, int world);

// torchrun's variables. nullopt when RANK is unset (one process); UsageError naming the
// variable and its value when one is malformed or missing.
struct LaunchEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;       // picks the GPU of `cuda` (cuda:LOCAL_RANK)
  std::string master_addr;  // the rendezvous host (rank 0 serves the store there)
  int master_port = 29500;
};
std::optional<LaunchEnvironment> launch_environment();

struct DistributedOptions {
  double timeout_seconds = 300.0;  // the longest any collective or the rendezvous may wait
};

// Whether this build has c10d's Gloo (libgloo-dev's headers at build time).
bool distributed_support();

// Joins the process group of `launch`: a TCPStore served by rank 0, ProcessGroupGloo
// over it. Throws UsageError when built without Gloo, std::runtime_error naming the
// address when the rendezvous fails within the timeout.
std::shared_ptr<Collectives> connect(const LaunchEnvironment& launch, const DistributedOptions& options);

}  // namespace metarl::meta
