#include "meta/parallel/collectives.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "envs/errors.h"

#ifdef METARL_WITH_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace metarl::meta {

void Collectives::all_reduce_sum(std::vector<torch::Tensor>& /*tensors: one rank's sum is itself*/,
                                 const std::string& /*what*/) const {}

std::vector<torch::Tensor> Collectives::all_gather(const torch::Tensor& tensor, const std::string& /*what*/) const {
  return {tensor};
}

const Collectives& single_process() {
  static const Collectives one;
  return one;
}

std::shared_ptr<const Collectives> single_process_shared() {
  return std::shared_ptr<const Collectives>(&single_process(), [](const Collectives*) {});  // not owned
}

double all_reduce_sum(const Collectives& collectives, double value, const std::string& what) {
  if (!collectives.distributed()) return value;
  std::vector<torch::Tensor> tensors{torch::full({1}, value, torch::kFloat64)};
  collectives.all_reduce_sum(tensors, what);
  return tensors.front().item<double>();
}

torch::Tensor all_reduce_sum(const Collectives& collectives, torch::Tensor tensor, const std::string& what) {
  if (!collectives.distributed()) return tensor;
  std::vector<torch::Tensor> tensors{tensor};
  collectives.all_reduce_sum(tensors, what);
  return tensor;
}

std::vector<std::uint64_t> all_gather_words(const Collectives& collectives, const std::vector<std::uint64_t>& words,
                                            const std::string& what) {
  if (!collectives.distributed()) return words;
  // Counts first, then every rank's words padded to the longest (all_gather needs one shape).
  const auto counts = collectives.all_gather(torch::full({1}, static_cast<int64_t>(words.size()), torch::kInt64), what);
  int64_t longest = 0;
  for (const auto& count : counts) longest = std::max(longest, count.item<int64_t>());
  auto padded = torch::zeros({std::max<int64_t>(longest, 1)}, torch::kInt64);
  std::memcpy(padded.data_ptr<int64_t>(), words.data(), words.size() * sizeof(std::uint64_t));
  const auto gathered = collectives.all_gather(padded, what);
  std::vector<std::uint64_t> out;
  for (size_t r = 0; r < gathered.size(); ++r) {
    const auto* data = reinterpret_cast<const std::uint64_t*>(gathered[r].data_ptr<int64_t>());
    out.insert(out.end(), data, data + counts[r].item<int64_t>());
  }
  return out;
}

std::vector<double> all_gather_doubles(const Collectives& collectives, const std::vector<double>& values,
                                       const std::string& what) {
  if (!collectives.distributed()) return values;
  std::vector<std::uint64_t> words(values.size());
  std::memcpy(words.data(), values.data(), values.size() * sizeof(double));
  const auto gathered = all_gather_words(collectives, words, what);
  std::vector<double> out(gathered.size());
  std::memcpy(out.data(), gathered.data(), gathered.size() * sizeof(double));
  return out;
}

std::pair<int, int> shard(int count, int rank, int world) {
  const auto begin = static_cast<int>(static_cast<int64_t>(count) * rank / world);
  const auto end = static_cast<int>(static_cast<int64_t>(count) * (rank + 1) / world);
  return {begin, end};
}

namespace {

int parse_variable(const char* name, const char* value, int low, int high) {
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || parsed < low || parsed > high) {
    throw UsageError("environment variable " + std::string(name) + "='" + quoted_value(value) +
                     "' is invalid; expected an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return static_cast<int>(parsed);
}

}  // namespace

std::optional<LaunchEnvironment> launch_environment() {
  const char* rank = std::getenv("RANK");
  if (!rank) return std::nullopt;
  auto required = [](const char* name) -> const char* {
    const char* value = std::getenv(name);
    if (!value || !*value) {
      throw UsageError(std::string("RANK is set but ") + name +
                       " is not; a distributed worker needs RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT "
                       "(torchrun's variables; docs/distributed.md)");
    }
    return value;
  };
  LaunchEnvironment launch;
  launch.world_size = parse_variable("WORLD_SIZE", required("WORLD_SIZE"), 1, 65536);
  launch.rank = parse_variable("RANK", rank, 0, launch.world_size - 1);
  launch.master_addr = required("MASTER_ADDR");
  launch.master_port = parse_variable("MASTER_PORT", required("MASTER_PORT"), 1, 65535);
  const char* local_rank = std::getenv("LOCAL_RANK");
  launch.local_rank = local_rank && *local_rank ? parse_variable("LOCAL_RANK", local_rank, 0, 65535) : 0;
  return launch;
}

#ifdef METARL_WITH_GLOO

bool distributed_support() { return true; }

namespace {

using Milliseconds = std::chrono::milliseconds;

bool is_loopback(const std::string& address) {
  return address == "127.0.0.1" || address == "localhost" || address == "::1";
}

class GlooCollectives final : public Collectives {
 public:
  GlooCollectives(const LaunchEnvironment& launch, const DistributedOptions& options)
      : rank_(launch.rank), world_size_(launch.world_size),
        timeout_(Milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000.0))) {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(launch.master_port);
    store_options.isServer = launch.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(launch.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout_;
    const std::string where = launch.master_addr + ":" + std::to_string(launch.master_port);
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, store_options);
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout_);
      // Each rank binds its own address: the loopback for one machine, the interface
      // GLOO_SOCKET_IFNAME names, or the address its hostname resolves to.
      const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
      if (interface && *interface) {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
      } else if (is_loopback(launch.master_addr)) {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(
          c10::make_intrusive<c10d::PrefixStore>("gloo", store_), launch.rank, launch.world_size, gloo_options);
      // The heartbeat has a connection of its own: the main thread's may be in a
      // collective's rendezvous when a beat is due.
      c10d::TCPStoreOptions client_options = store_options;
      client_options.isServer = false;
      client_options.numWorkers = c10::nullopt;
      client_options.waitWorkers = false;
      heartbeat_store_ = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, client_options);
    } catch (const std::exception& e) {
      throw std::runtime_error("rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) +
                               ": the rendezvous at " + where + " failed within " +
                               std::to_string(timeout_.count() / 1000) + " s: " + e.what());
    }
    heartbeat_ = std::thread([this] { beat(); });
  }

  ~GlooCollectives() override {
    stop_.store(true);
    if (heartbeat_.joinable()) heartbeat_.join();
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

  void all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what) const override {
    if (tensors.empty()) return;
    // One buffer on the wire: float64 on the CPU, whatever the tensors' dtypes and devices.
    std::vector<torch::Tensor> flat;
    for (const auto& t : tensors) flat.push_back(t.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}));
    std::vector<torch::Tensor> buffer{torch::cat(flat)};
    run("summing " + what + " over", [&] { return group_->allreduce(buffer); });
    int64_t offset = 0;
    torch::NoGradGuard no_grad;
    for (auto& t : tensors) {
      const int64_t n = t.numel();
      t.copy_(buffer.front().slice(0, offset, offset + n).view(t.sizes()));
      offset += n;
    }
  }

  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor, const std::string& what) const override {
    std::vector<torch::Tensor> input{tensor.detach().to(torch::kCPU).contiguous()};
    std::vector<std::vector<torch::Tensor>> output(1);
    for (int r = 0; r < world_size_; ++r) output.front().push_back(torch::empty_like(input.front()));
    run("gathering " + what + " from", [&] { return group_->allgather(output, input); });
    return output.front();
  }

 private:
  // `what`: "summing the meta-gradient over", "gathering the per-task returns from".
  template <typename Start>
  void run(const std::string& what, const Start& start) const {
    try {
      auto work = start();
      work->wait(timeout_);
    } catch (const std::exception& e) {
      throw std::runtime_error("rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ": " + what +
                               " the ranks failed (" + first_line(e.what()) + "); " + silent_ranks());
    }
  }

  static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

  static std::string heartbeat_key(int rank) { return "metarl/heartbeat/" + std::to_string(rank); }

  void beat() {
    while (!stop_.load()) {
      try {
        heartbeat_store_->add(heartbeat_key(rank_), 1);
      } catch (const std::exception&) {
        return;  // the store is gone: a collective will report it
      }
      for (int i = 0; i < 10 && !stop_.load(); ++i) std::this_thread::sleep_for(Milliseconds(100));
    }
  }

  // The ranks whose heartbeat stopped: two readings 2.5 s apart (beats come every second).
  std::string silent_ranks() const {
    try {
      std::vector<int64_t> first;
      for (int r = 0; r < world_size_; ++r) first.push_back(heartbeat_store_->add(heartbeat_key(r), 0));
      std::this_thread::sleep_for(Milliseconds(2500));
      std::string silent;
      for (int r = 0; r < world_size_; ++r) {
        if (r != rank_ && heartbeat_store_->add(heartbeat_key(r), 0) == first[static_cast<size_t>(r)]) {
          silent += (silent.empty() ? "" : ", ") + std::to_string(r);
        }
      }
      if (silent.empty()) return "every other rank is alive (a rank may have stopped with an error of its own)";
      return "rank(s) " + silent + " stopped responding (died, hung or were killed)";
    } catch (const std::exception&) {
      return "rank 0, which serves the rendezvous store, is unreachable (it died, hung or was killed)";
    }
  }

  int rank_;
  int world_size_;
  Milliseconds timeout_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<c10d::TCPStore> heartbeat_store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  std::atomic<bool> stop_{false};
  std::thread heartbeat_;
};

}  // namespace

std::shared_ptr<Collectives> connect(const LaunchEnvironment& launch, const DistributedOptions& options) {
  return std::make_shared<GlooCollectives>(launch, options);
}

#else

bool distributed_support() { return false; }

std::shared_ptr<Collectives> connect(const LaunchEnvironment& launch, const DistributedOptions& /*options*/) {
  throw UsageError("RANK=" + std::to_string(launch.rank) +
                   " asks for a distributed run, but this metarl was built without c10d's Gloo (install libgloo-dev "
                   "and rebuild; docs/distributed.md)");
}

#endif

}  // namespace metarl::meta
