#pragma once
// A small persistent thread pool for splitting one batched step over row ranges.
// Threads sleep on a condition variable between jobs, so a hand-off costs a wake-up,
// not a thread start (a wake-up measured ~50–100 µs on the 2-core reference VM; see
// BatchedEnv::set_step_threads), and BatchedEnv only splits steps that take long
// enough to pay for it. meta::run_in_parallel also runs on it. Torch-free, like the
// rest of envs/.

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace metarl::envs {

class RowWorkers {
 public:
  // `threads` counts the caller: threads − 1 workers are started.
  explicit RowWorkers(int threads);
  ~RowWorkers();
  RowWorkers(const RowWorkers&) = delete;
  RowWorkers& operator=(const RowWorkers&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls work(part) for part in [0, threads()) — part 0 on the calling thread — and
  // returns when all have finished. Then, if parts threw, the exception of the
  // lowest-numbered one is rethrown.
  void run(const std::function<void(int part)>& work);

 private:
  void worker_loop(int part);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable job_ready_;
  std::condition_variable job_done_;
  const std::function<void(int)>* job_ = nullptr;
  std::uint64_t generation_ = 0;  // bumped per job; a worker runs each generation once
  int pending_ = 0;               // workers still running the current job
  bool stopping_ = false;
  std::exception_ptr error_;      // of the lowest-numbered failing worker part so far
  int error_part_ = 0;
};

}  // namespace metarl::envs
