#pragma once
// box2d-nav: a disc robot pushed by a 2D force through a walled arena with
// obstacles, simulated by Box2D 2.4 (one b2World per env row, built afresh at each
// reset and after a task change). Top-down: no gravity in the plane; the floor acts
// through Coulomb friction and linear damping.
//   arena: the square [−2.5, 2.5]² m inside four static walls; up to 4 static boxes
//     and discs, generated from the task's `layout` (generate_obstacles);
//   robot: a disc of radius 0.1 m that does not rotate; starts at rest, uniformly in
//     the disc of radius 0.25 m around the origin (drawn from the row's stream);
//   action: force (Fx, Fy) in N, each component clipped to [−5, 5];
//   step: 0.05 s of Box2D (semi-implicit Euler, 4 velocity / 2 position iterations);
//   observation [12]: position (x, y) m, velocity (vx, vy) m/s, 8 range readings
//     (rays every 45° from +x, counter-clockwise, world frame): distance to the
//     nearest wall or obstacle / 2 m, 1 when nothing is within 2 m;
//   reward: −‖position − goal‖ (m, after the step), minus 1 on a step in which the
//     robot starts touching a wall or obstacle it did not touch after the last step;
//   terminated: ‖position − goal‖ < 0.1 m;  truncated: after 200 steps (10 s).
// The goal is not observed: like point-nav's, it can only be inferred from the
// rewards, so a policy adapts to each task by finding its goal — with the robot's
// unobserved mass, friction and damping to adapt to on the way, and a layout it sees
// only through the range readings. An earlier version observed goal − position; then
// the pretrained policy without any adaptation beat Meta-SGD and MAML after one or
// two steps on held-out tasks (−32.25 against −38.40 and −39.13, issue M): physics
// and layout alone barely change the optimal policy, so there was nothing to adapt to.
//
// Box2D stays out of this header (it is installed for plug-in authors, who need not
// have Box2D): each row's world lives behind a pointer to a type defined in
// box2d_nav.cpp.

#include <cstdint>
#include <memory>
#include <vector>

#include "envs/batched_env.h"
#include "envs/task_layout.h"

namespace metarl::envs {

// A box2d-nav task.
struct Box2DNavTask {
  double goal_x = 1.0;    // m; unobserved
  double goal_y = 1.0;    // m; unobserved
  double layout = 0.0;    // floor(layout) seeds the obstacles; negative: none
  double mass = 1.0;      // kg
  double friction = 0.1;  // Coulomb floor friction μ
  double damping = 1.0;   // 1/s, linear damping
};

class Box2DNav final : public BatchedEnv {
 public:
  static constexpr double kDt = 0.05;                  // s per step
  static constexpr int kVelocityIterations = 4;        // Box2D solver iterations per step
  static constexpr int kPositionIterations = 2;
  static constexpr int kMaxEpisodeSteps = 200;         // 10 s
  static constexpr double kArenaHalfWidth = 2.5;       // m, inner faces of the walls at ±2.5
  static constexpr double kWallThickness = 0.5;        // m
  static constexpr double kRobotRadius = 0.1;          // m
  static constexpr double kStartRadius = 0.25;         // m, starts are uniform in this disc around the origin
  static constexpr float kMaxForce = 5.0f;             // N, per-axis action bound
  static constexpr double kGoalRadius = 0.1;           // m, terminated when the centre is closer to the goal
  static constexpr double kCollisionPenalty = 1.0;     // reward units (m) per new contact
  static constexpr double kGravity = 9.81;             // m/s², only as the normal force of floor friction
  static constexpr int kNumRays = 8;                   // range readings, every 360°/8 from +x
  static constexpr double kRayRange = 2.0;             // m, a reading of 1 means nothing within this
  // Box2D moves a body at most b2_maxTranslation = 2 m per step (b2Island::Solve
  // scales the velocity down beyond it), so no speed exceeds 2 m / 0.05 s: the
  // velocity bound of the observation (checked against Box2D in box2d_nav.cpp).
  static constexpr double kMaxSpeed = 40.0;            // m/s
  static constexpr int kObservationDim = 4 + kNumRays;
  // Obstacle generation.
  static constexpr int kNumObstacles = 4;
  static constexpr int kPlacementAttempts = 100;       // per obstacle; an obstacle that finds no place is left out
  static constexpr double kKeepOutRadius = 0.6;        // m, obstacles stay this far from the origin and the goal
  static constexpr double kPassage = 0.3;              // m, free gap between obstacles and walls (> a robot diameter)
  static constexpr double kMinObstacleSize = 0.15;     // m, disc radius or box half-extent
  static constexpr double kMaxObstacleSize = 0.4;

  // A static obstacle in world coordinates (m, rad). Discs: half_width = half_height
  // = radius and angle 0. Plain numbers, so that tests and tools can read a layout
  // without Box2D.
  struct Obstacle {
    enum class Shape { kBox, kDisc };
    Shape shape = Shape::kBox;
    double x = 0.0;
    double y = 0.0;
    double half_width = 0.0;
    double half_height = 0.0;
    double angle = 0.0;  // rad, counter-clockwise (boxes)
    // Radius of the smallest disc around (x, y) that holds the obstacle, m.
    double bounding_radius() const;
    bool operator==(const Obstacle& other) const;
    bool operator!=(const Obstacle& other) const { return !(*this == other); }
  };

  Box2DNav(int batch_size, std::uint64_t seed);
  ~Box2DNav() override;

  static EnvSpec make_spec();
  // The task's fields with units and ranges; its distribution is make_task_distribution().
  static const TaskLayout<Box2DNavTask>& task_layout();
  static TaskDistribution make_task_distribution() { return task_layout().distribution(); }
  // The obstacles of a layout, a pure function of (floor(layout), goal). Obstacle k
  // draws candidates from its own stream derive_seed(·, k) and takes the first that
  // keeps kKeepOutRadius from the origin (the start region) and from the goal, and
  // kPassage from the walls and the obstacles placed before it. So a layout value
  // always gives the same arena for the same goal; another goal changes an obstacle
  // only when one of its candidates comes near either goal (or an earlier obstacle
  // moved). Every gap between the convex obstacles and the walls exceeds the robot's
  // diameter, so the goal is always reachable. A negative layout gives an empty arena
  // (no obstacles), outside every split: for tests and curricula.
  static std::vector<Obstacle> generate_obstacles(double layout, double goal_x, double goal_y);
  // The obstacles of row `row`'s current task.
  const std::vector<Obstacle>& obstacles(int row) const { return obstacles_[row]; }

 protected:
  void reset_row(int row, Rng& rng) override;
  void step_rows(const float* actions, int begin, int end) override;
  void task_changed(int row) override;

 private:
  struct RowWorld;  // the Box2D world of one row; defined in box2d_nav.cpp
  // Builds a fresh world for `row` from its task with the robot at (x, y) moving at
  // (vx, vy), m and m/s.
  void build_world(int row, float x, float y, float vx, float vy);
  void write_observation(int row);

  std::vector<std::unique_ptr<RowWorld>> worlds_;  // [B]; empty until the row's first reset
  std::vector<std::vector<Obstacle>> obstacles_;  // [B], from the row's task
  std::vector<Box2DNavTask> row_tasks_;           // [B] the rows' tasks, typed
  // [B] bit i set: the robot touched fixture i (walls 0–3, obstacles 4…) after the last
  // step; a new bit on a step is a new contact, which the reward penalises.
  std::vector<std::uint8_t> touching_;
  // [B] the task changed since the world was built; the next step rebuilds it,
  // carrying the robot's position and velocity over.
  std::vector<std::uint8_t> stale_;
};

}  // namespace metarl::envs
