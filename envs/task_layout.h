#pragma once
// Typed task parameters: an environment declares its task as a struct of named
// doubles (gymnax's EnvParams habit) and lists each field once with its unit,
// description and ranges. The TaskDistribution's rows, units and ranges are derived
// from that list, the defaults from the struct's own member initialisers, and the
// environment reads a row back into the struct by member — so no index constant can
// disagree with an initialiser list's order, and a field left out of the list is an
// error at construction.
//
//   struct PendulumTask {
//     double mass = 1.0;    // kg
//     double length = 1.0;  // m
//   };
//   const TaskLayout<PendulumTask>& layout() {
//     static const TaskLayout<PendulumTask> layout({
//         {&PendulumTask::mass, "mass", "kg", "pendulum mass", 0.5, 1.5, 0.3, 2.0},
//         {&PendulumTask::length, "length", "m", "pendulum length", 0.5, 1.5, 0.3, 2.0}});
//     return layout;
//   }
//   PendulumTask task = layout().read(env.task(row));   // task.mass, task.length
//
// Header-only and torch-free: plug-in environments use it the same way, and the
// TaskDistribution they hand over is the same type as before (no ABI change).

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "envs/task_distribution.h"

namespace metarl::envs {

// One field of a task struct, with everything TaskParameter says about it except the
// default (the struct's own initialiser).
template <typename Task>
struct TaskField {
  double Task::*member;
  std::string name;         // e.g. "goal_x"
  std::string unit;         // e.g. "m"
  std::string description;  // what it changes in the problem
  double train_low;         // training range, inclusive
  double train_high;
  double heldout_low;       // held-out box; contains the training range
  double heldout_high;
};

template <typename Task>
class TaskLayout {
 public:
  // Throws std::logic_error when a member is listed twice or the struct holds more
  // than the listed doubles (a field left out), std::invalid_argument for the ranges
  // (TaskDistribution's rules).
  explicit TaskLayout(std::vector<TaskField<Task>> fields)
      : fields_(std::move(fields)), distribution_(make_parameters(fields_)) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (fields_[i].member == fields_[j].member) {
          throw std::logic_error("task layout: fields '" + fields_[j].name + "' and '" + fields_[i].name +
                                 "' name the same member");
        }
      }
    }
    if (sizeof(Task) != fields_.size() * sizeof(double)) {
      throw std::logic_error("task layout: the task struct holds " + std::to_string(sizeof(Task) / sizeof(double)) +
                             " doubles' worth of members, the layout lists " + std::to_string(fields_.size()) +
                             "; every member must be a listed double");
    }
  }

  const TaskDistribution& distribution() const { return distribution_; }
  const std::vector<TaskField<Task>>& fields() const { return fields_; }
  int num_fields() const { return static_cast<int>(fields_.size()); }

  // The typed task of a row (distribution order, as BatchedEnv::task(row) holds it).
  Task read(const double* row) const {
    Task task;
    for (size_t i = 0; i < fields_.size(); ++i) task.*(fields_[i].member) = row[i];
    return task;
  }
  // The row of a typed task, in distribution order: for set_task and TaskBatch.
  std::vector<double> values(const Task& task) const {
    std::vector<double> row;
    row.reserve(fields_.size());
    for (const auto& field : fields_) row.push_back(task.*(field.member));
    return row;
  }
  // The row position of a member; throws std::logic_error for one not in the layout.
  int index_of(double Task::*member) const {
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (fields_[i].member == member) return static_cast<int>(i);
    }
    throw std::logic_error("task layout: member not listed");
  }

 private:
  static std::vector<TaskParameter> make_parameters(const std::vector<TaskField<Task>>& fields) {
    const Task defaults{};
    std::vector<TaskParameter> parameters;
    for (const auto& field : fields) {
      parameters.push_back({field.name, field.unit, field.description, defaults.*(field.member), field.train_low,
                            field.train_high, field.heldout_low, field.heldout_high});
    }
    return parameters;
  }

  std::vector<TaskField<Task>> fields_;
  TaskDistribution distribution_;
};

}  // namespace metarl::envs
