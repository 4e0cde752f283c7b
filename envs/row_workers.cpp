#include "envs/row_workers.h"

#include <stdexcept>

namespace metarl::envs {

RowWorkers::RowWorkers(int threads) {
  if (threads < 1) throw std::invalid_argument("RowWorkers: threads must be at least 1, got " + std::to_string(threads));
  workers_.reserve(static_cast<size_t>(threads - 1));
  for (int part = 1; part < threads; ++part) workers_.emplace_back([this, part] { worker_loop(part); });
}

RowWorkers::~RowWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  job_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void RowWorkers::run(const std::function<void(int)>& work) {
  if (workers_.empty()) {
    work(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &work;
    pending_ = static_cast<int>(workers_.size());
    error_ = nullptr;
    ++generation_;
  }
  job_ready_.notify_all();
  std::exception_ptr own_error;
  try {
    work(0);
  } catch (...) {
    own_error = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  job_done_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
  if (own_error) std::rethrow_exception(own_error);
  if (error_) std::rethrow_exception(error_);
}

void RowWorkers::worker_loop(int part) {
  std::uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    std::exception_ptr error;
    try {
      (*job)(part);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error && (!error_ || part < error_part_)) {
        error_ = error;
        error_part_ = part;
      }
      if (--pending_ == 0) job_done_.notify_one();
    }
  }
}

}  // namespace metarl::envs
