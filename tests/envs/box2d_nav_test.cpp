// box2d-nav against independent restatements of what it claims: the free motion of
// Box2D 2.4's integrator (b2Island::Solve: semi-implicit Euler, v += h·F/m, then
// linear damping v *= 1/(1 + h·c); b2FrictionJoint: the accumulated friction impulse
// clamped to h·maxForce), contact and ray geometry recomputed in double precision
// from the obstacle list, and the reward −‖position − goal‖ − penalty.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "envs/box2d_nav.h"
#include "envs/registry.h"

namespace metarl::envs {
namespace {

using Obstacle = Box2DNav::Obstacle;

// Observation layout.
constexpr int kX = 0, kY = 1, kVx = 2, kVy = 3, kRays = 4;
constexpr int kObs = Box2DNav::kObservationDim;
constexpr double kL = Box2DNav::kArenaHalfWidth;
constexpr double kR = Box2DNav::kRobotRadius;
constexpr double kH = Box2DNav::kDt;
constexpr double kSkin = 0.01;  // m, Box2D's b2_polygonRadius: boxes collide this far out
constexpr double kEmpty = -1.0;  // layout without obstacles

struct Task {
  double goal_x = 1.0, goal_y = 1.0, layout = kEmpty, mass = 1.0, friction = 0.1, damping = 1.0;
  std::vector<double> values() const { return {goal_x, goal_y, layout, mass, friction, damping}; }
};

void set_task(Box2DNav& env, int row, const Task& task) {
  const auto values = task.values();
  env.set_task(row, values.data());
}

const float* obs(const Box2DNav& env, int row = 0) { return env.observations() + row * kObs; }
// The observation the latest step ended in: before the automatic reset on done rows.
const float* last_obs(const Box2DNav& env, int row = 0) {
  return (env.done(row) ? env.final_observations() : env.observations()) + row * kObs;
}

double distance_to_goal(const float* o, const Task& t) {
  return std::hypot(static_cast<double>(o[kX]) - t.goal_x, static_cast<double>(o[kY]) - t.goal_y);
}

// Distance from (px, py) to an obstacle's collision core, m (0 inside a box,
// negative inside a disc).
double gap_to(const Obstacle& o, double px, double py) {
  const double dx = px - o.x;
  const double dy = py - o.y;
  if (o.shape == Obstacle::Shape::kDisc) return std::hypot(dx, dy) - o.half_width;
  const double lx = std::cos(o.angle) * dx + std::sin(o.angle) * dy;
  const double ly = -std::sin(o.angle) * dx + std::cos(o.angle) * dy;
  return std::hypot(std::max(std::abs(lx) - o.half_width, 0.0), std::max(std::abs(ly) - o.half_height, 0.0));
}

// Which walls (bits 0–3: east, west, north, south) and obstacles (bits 4…) a robot
// centred at (px, py) touches by Box2D's manifold test: within r of a disc, within
// r plus the skin of a box. `ambiguous` is set when a gap lies within 1e-4 m of its
// threshold, where float rounding may decide either way.
unsigned touching(double px, double py, const std::vector<Obstacle>& obstacles, bool& ambiguous) {
  unsigned mask = 0;
  ambiguous = false;
  auto check = [&](double gap, double threshold, int bit) {
    if (std::abs(gap - threshold) < 1e-4) ambiguous = true;
    if (gap <= threshold) mask |= 1u << bit;
  };
  check(kL - px, kR + kSkin, 0);
  check(px + kL, kR + kSkin, 1);
  check(kL - py, kR + kSkin, 2);
  check(py + kL, kR + kSkin, 3);
  for (size_t k = 0; k < obstacles.size(); ++k) {
    const bool disc = obstacles[k].shape == Obstacle::Shape::kDisc;
    check(gap_to(obstacles[k], px, py), disc ? kR : kR + kSkin, 4 + static_cast<int>(k));
  }
  return mask;
}

// Distance along the unit direction (dx, dy) from (px, py) to the first wall or
// obstacle core, m: slab tests for the arena and boxes, a quadratic for discs.
double ray_distance(double px, double py, double dx, double dy, const std::vector<Obstacle>& obstacles) {
  const double inf = std::numeric_limits<double>::infinity();
  double best = inf;
  if (dx > 1e-12) best = std::min(best, (kL - px) / dx);
  if (dx < -1e-12) best = std::min(best, (-kL - px) / dx);
  if (dy > 1e-12) best = std::min(best, (kL - py) / dy);
  if (dy < -1e-12) best = std::min(best, (-kL - py) / dy);
  for (const auto& o : obstacles) {
    const double sx = px - o.x;
    const double sy = py - o.y;
    if (o.shape == Obstacle::Shape::kDisc) {
      const double b = sx * dx + sy * dy;
      const double disc = b * b - (sx * sx + sy * sy - o.half_width * o.half_width);
      if (disc >= 0) {
        const double t = -b - std::sqrt(disc);
        if (t >= 0) best = std::min(best, t);
      }
      continue;
    }
    const double c = std::cos(o.angle);
    const double s = std::sin(o.angle);
    const double p[2] = {c * sx + s * sy, -s * sx + c * sy};
    const double d[2] = {c * dx + s * dy, -s * dx + c * dy};
    const double half[2] = {o.half_width, o.half_height};
    double enter = -inf;
    double leave = inf;
    bool miss = false;
    for (int a = 0; a < 2; ++a) {
      if (std::abs(d[a]) < 1e-12) {
        miss = miss || std::abs(p[a]) > half[a];
        continue;
      }
      const double t1 = (-half[a] - p[a]) / d[a];
      const double t2 = (half[a] - p[a]) / d[a];
      enter = std::max(enter, std::min(t1, t2));
      leave = std::min(leave, std::max(t1, t2));
    }
    if (!miss && enter <= leave && enter >= 0) best = std::min(best, enter);
  }
  return best;
}

// Box2D's free motion (no contact) for one step, in double: force and damping
// (b2Island::Solve), then Coulomb floor friction (b2FrictionJoint, at most
// h·μ·m·g of momentum against the velocity), then x += h·v.
void reference_step(double& x, double& y, double& vx, double& vy, double fx, double fy, const Task& t) {
  vx = (vx + kH * fx / t.mass) / (1.0 + kH * t.damping);
  vy = (vy + kH * fy / t.mass) / (1.0 + kH * t.damping);
  const double speed = std::hypot(vx, vy);
  const double stop = kH * t.friction * Box2DNav::kGravity;  // m/s friction removes per step
  const double scale = speed > stop ? (speed - stop) / speed : 0.0;
  vx *= scale;
  vy *= scale;
  x += kH * vx;
  y += kH * vy;
}

// Clips a force to the per-axis bound, as the environment does.
float clip(double f) {
  return static_cast<float>(std::clamp(f, -double{Box2DNav::kMaxForce}, double{Box2DNav::kMaxForce}));
}

TEST(Box2DNav, SpecAndTaskParameters) {
  Box2DNav env(1, 0);
  const EnvSpec& spec = env.spec();
  EXPECT_EQ(spec.name, "box2d-nav");
  EXPECT_EQ(spec.observation_dim, 12);  // position, velocity, 8 rays: no goal
  EXPECT_EQ(spec.action_dim, 2);
  EXPECT_FALSE(spec.discrete_actions);
  EXPECT_FALSE(spec.deterministic_reset);
  EXPECT_EQ(spec.max_episode_steps, 200);
  EXPECT_FLOAT_EQ(spec.action_high[0], 5.0f);
  for (int k = 0; k < Box2DNav::kNumRays; ++k) {
    EXPECT_EQ(spec.observation_low[kRays + k], 0.0f);
    EXPECT_EQ(spec.observation_high[kRays + k], 1.0f);
  }
  const auto& params = env.task_distribution().parameters();
  const std::vector<std::string> names = {"goal_x", "goal_y", "layout", "mass", "friction", "damping"};
  ASSERT_EQ(params.size(), names.size());
  for (size_t p = 0; p < names.size(); ++p) {
    EXPECT_EQ(params[p].name, names[p]);
    EXPECT_FALSE(params[p].unit.empty());
    EXPECT_LE(params[p].heldout_low, params[p].train_low);
    EXPECT_GE(params[p].heldout_high, params[p].train_high);
    EXPECT_TRUE(params[p].heldout_low < params[p].train_low || params[p].heldout_high > params[p].train_high)
        << names[p] << " has no held-out values";
  }
  const auto& layout = Box2DNav::task_layout();
  const int goal_x = layout.index_of(&Box2DNavTask::goal_x);
  const int mass = layout.index_of(&Box2DNavTask::mass);
  const int friction = layout.index_of(&Box2DNavTask::friction);
  EXPECT_GT(params[goal_x].heldout_high, params[goal_x].train_high);  // goals farther out
  EXPECT_GT(params[mass].heldout_high, params[mass].train_high);      // heavier robots
  // The heaviest, grippiest held-out robot can still be pushed along one axis.
  EXPECT_LT(params[friction].heldout_high * params[mass].heldout_high * Box2DNav::kGravity,
            Box2DNav::kMaxForce);
}

TEST(Box2DNav, StartsAtRestInTheStartDisc) {
  Box2DNav env(64, 3);
  env.reset();
  for (int r = 0; r < 64; ++r) {
    EXPECT_LE(std::hypot(obs(env, r)[kX], obs(env, r)[kY]), Box2DNav::kStartRadius + 1e-6);
    EXPECT_EQ(obs(env, r)[kVx], 0.0f);
    EXPECT_EQ(obs(env, r)[kVy], 0.0f);
  }
  EXPECT_NE(obs(env, 0)[kX], obs(env, 1)[kX]);  // drawn per row
}

TEST(Box2DNav, MovesInTheDirectionOfTheForce) {
  const int directions = 8;
  Box2DNav env(directions, 1);
  for (int r = 0; r < directions; ++r) set_task(env, r, Task{});
  env.reset();
  std::vector<float> start(env.observations(), env.observations() + directions * kObs);
  std::vector<float> actions(2 * directions);
  for (int r = 0; r < directions; ++r) {
    const double angle = 0.3 + 2 * M_PI * r / directions;
    actions[2 * r] = static_cast<float>(4.0 * std::cos(angle));
    actions[2 * r + 1] = static_cast<float>(4.0 * std::sin(angle));
  }
  for (int t = 0; t < 10; ++t) env.step(actions.data());
  for (int r = 0; r < directions; ++r) {
    const double dx = obs(env, r)[kX] - start[r * kObs + kX];
    const double dy = obs(env, r)[kY] - start[r * kObs + kY];
    const double moved = std::hypot(dx, dy);
    EXPECT_GT(moved, 0.1) << "row " << r;
    EXPECT_GT((dx * actions[2 * r] + dy * actions[2 * r + 1]) / (moved * 4.0), 0.9999) << "row " << r;
    const double vx = obs(env, r)[kVx];
    const double vy = obs(env, r)[kVy];
    EXPECT_GT((vx * actions[2 * r] + vy * actions[2 * r + 1]) / (std::hypot(vx, vy) * 4.0), 0.9999) << "row " << r;
  }
}

TEST(Box2DNav, FreeMotionFollowsBox2DsSemiImplicitEulerWithDampingAndFloorFriction) {
  for (const Task& task : {Task{-2.0, 2.0, kEmpty, 1.0, 0.1, 1.0}, Task{-2.0, 2.0, kEmpty, 0.4, 0.0, 0.3},
                           Task{-2.0, 2.0, kEmpty, 1.9, 0.18, 1.8}}) {
    Box2DNav env(1, 11);
    set_task(env, 0, task);
    env.reset();
    double x = obs(env)[kX];
    double y = obs(env)[kY];
    double vx = 0.0;
    double vy = 0.0;
    for (int t = 0; t < 40; ++t) {
      // Accelerations of 4.5 m/s² that turn round every 0.9 s, so the robot stays
      // well inside the empty arena; the heaviest robot's forces exceed the clip.
      const float action[2] = {clip(task.mass * 4.5 * std::cos(0.35 * t)),
                               clip(task.mass * 4.5 * std::sin(0.35 * t + 1.0))};
      reference_step(x, y, vx, vy, action[0], action[1], task);
      env.step(action);
      ASSERT_FALSE(env.done(0));
      ASSERT_LT(std::max(std::abs(x), std::abs(y)), kL - 0.5) << "the test left free space";
      ASSERT_NEAR(obs(env)[kVx], vx, 1e-4) << "mass " << task.mass << " step " << t;
      ASSERT_NEAR(obs(env)[kVy], vy, 1e-4) << "mass " << task.mass << " step " << t;
      ASSERT_NEAR(obs(env)[kX], x, 1e-4) << "mass " << task.mass << " step " << t;
      ASSERT_NEAR(obs(env)[kY], y, 1e-4) << "mass " << task.mass << " step " << t;
      x = obs(env)[kX];  // continue from the environment's float state
      y = obs(env)[kY];
      vx = obs(env)[kVx];
      vy = obs(env)[kVy];
    }
  }
}

TEST(Box2DNav, HeavierRobotAcceleratesLessUnderTheSameForce) {
  // One step from rest under 3 N along +x: Δv = (h·F/m)/(1 + h·c) without floor
  // friction, and h·μ·g less with it.
  const std::vector<double> masses = {0.3, 0.5, 1.0, 2.0};
  for (const double friction : {0.0, 0.1}) {
    Box2DNav env(static_cast<int>(masses.size()), 2);
    for (size_t r = 0; r < masses.size(); ++r) {
      set_task(env, static_cast<int>(r), Task{1.0, 1.0, kEmpty, masses[r], friction, 1.0});
    }
    env.reset();
    std::vector<float> actions;
    for (size_t r = 0; r < masses.size(); ++r) actions.insert(actions.end(), {3.0f, 0.0f});
    env.step(actions.data());
    double previous = std::numeric_limits<double>::infinity();
    for (size_t r = 0; r < masses.size(); ++r) {
      const double dv = obs(env, static_cast<int>(r))[kVx];
      const double expected =
          std::max(0.0, kH * 3.0 / masses[r] / (1.0 + kH * 1.0) - kH * friction * Box2DNav::kGravity);
      EXPECT_NEAR(dv, expected, 1e-5) << "mass " << masses[r] << " friction " << friction;
      EXPECT_EQ(obs(env, static_cast<int>(r))[kVy], 0.0f);
      EXPECT_LT(dv, previous) << "mass " << masses[r];
      previous = dv;
    }
  }
}

TEST(Box2DNav, StaticFloorFrictionHoldsTheRobotAgainstASmallForce) {
  // μ·m·g = 0.2 · 2 kg · 9.81 m/s² = 3.92 N: 3.5 N does not move the robot, 4.5 N does.
  Box2DNav env(2, 4);
  set_task(env, 0, Task{1.0, 1.0, kEmpty, 2.0, 0.2, 1.0});
  set_task(env, 1, Task{1.0, 1.0, kEmpty, 2.0, 0.2, 1.0});
  env.reset();
  const float x0 = obs(env, 0)[kX];
  const float x1 = obs(env, 1)[kX];
  const float actions[4] = {3.5f, 0.0f, 4.5f, 0.0f};
  for (int t = 0; t < 20; ++t) env.step(actions);
  EXPECT_NEAR(obs(env, 0)[kX], x0, 1e-6);
  EXPECT_NEAR(obs(env, 0)[kVx], 0.0f, 1e-6);
  EXPECT_GT(obs(env, 1)[kX], x1 + 0.01);
}

TEST(Box2DNav, WallsContainTheRobot) {
  // The lightest, least damped robot on a frictionless floor, pushed at full force
  // into every wall and corner, then across the arena into the opposite one (at
  // ~12 m/s, 0.6 m per step: Box2D's continuous collision must catch it).
  const int directions = 8;
  Box2DNav env(directions, 5);
  // The goal lies off every path, so no episode ends.
  for (int r = 0; r < directions; ++r) set_task(env, r, Task{2.0, 1.0, kEmpty, 0.3, 0.0, 0.25});
  env.reset();
  const double bound = kL - kR + kSkin;  // the centre never passes a wall's core by more than the skin
  for (const double turn : {0.0, M_PI}) {
    std::vector<float> actions(2 * directions);
    for (int r = 0; r < directions; ++r) {
      const double angle = turn + 2 * M_PI * r / directions;
      actions[2 * r] = clip(5.0 * std::cos(angle) / std::max(std::abs(std::cos(angle)), std::abs(std::sin(angle))));
      actions[2 * r + 1] =
          clip(5.0 * std::sin(angle) / std::max(std::abs(std::cos(angle)), std::abs(std::sin(angle))));
    }
    for (int t = 0; t < 80; ++t) {
      env.step(actions.data());
      for (int r = 0; r < directions; ++r) {
        ASSERT_FALSE(env.done(r));
        ASSERT_LE(std::abs(obs(env, r)[kX]), bound) << "row " << r << " step " << t;
        ASSERT_LE(std::abs(obs(env, r)[kY]), bound) << "row " << r << " step " << t;
      }
    }
    for (int r = 0; r < directions; ++r) {
      // Pressed against the wall (or both walls of a corner) it was pushed into.
      const double pushed_x = actions[2 * r] * obs(env, r)[kX];
      const double pushed_y = actions[2 * r + 1] * obs(env, r)[kY];
      if (std::abs(actions[2 * r]) > 1.0f) {
        EXPECT_GT(pushed_x / std::abs(actions[2 * r]), kL - kR - kSkin - 1e-3);
      }
      if (std::abs(actions[2 * r + 1]) > 1.0f) {
        EXPECT_GT(pushed_y / std::abs(actions[2 * r + 1]), kL - kR - kSkin - 1e-3);
      }
    }
  }
}

// What the robot of row 0 touched after the latest step, by the independent
// geometry, carried from one check_penalties call to the next.
struct Contacts {
  unsigned before = 0;
  bool skip_next = false;  // the latest step was ambiguous: its successor proves nothing
};

// Runs `steps` steps of `policy(obs) -> force` in row 0 and checks, step by step,
// that the reward is −distance minus the penalty exactly when the independently
// computed set of touched walls and obstacles gains a member. Returns the number of
// penalties.
template <typename Policy>
int check_penalties(Box2DNav& env, const Task& task, Contacts& contacts, int steps, Policy policy) {
  const auto& obstacles = env.obstacles(0);
  unsigned& before = contacts.before;
  bool& skip_next = contacts.skip_next;
  int penalties = 0;
  int ambiguous_steps = 0;
  for (int t = 0; t < steps; ++t) {
    const auto force = policy(obs(env));
    const float action[2] = {clip(force.first), clip(force.second)};
    env.step(action);
    const float* o = last_obs(env);
    const double penalty = -static_cast<double>(env.rewards()[0]) - distance_to_goal(o, task);
    const bool penalised = std::abs(penalty - Box2DNav::kCollisionPenalty) < 1e-5;
    EXPECT_TRUE(penalised || std::abs(penalty) < 1e-5) << "reward off -distance by " << penalty << " at step " << t;
    penalties += penalised;
    bool ambiguous = false;
    const unsigned now = touching(o[kX], o[kY], obstacles, ambiguous);
    if (!ambiguous && !skip_next) {
      EXPECT_EQ(penalised, (now & ~before) != 0u)
          << "step " << t << ": touching " << now << ", before " << before << ", at (" << o[kX] << ", " << o[kY] << ")";
    }
    ambiguous_steps += ambiguous;
    skip_next = ambiguous;
    before = now;
    if (env.done(0)) before = 0;  // a new episode starts clear of everything
  }
  EXPECT_LT(ambiguous_steps, std::max(2, steps / 20));
  return penalties;
}

TEST(Box2DNav, CollisionPenaltyExactlyOnNewContactWithAWall) {
  const Task task{-1.0, 0.5, kEmpty, 1.0, 0.05, 1.0};
  Box2DNav env(1, 6);
  set_task(env, 0, task);
  env.reset();
  // Push east into the wall and keep pushing: one penalty, not one per step.
  Contacts contacts;
  EXPECT_EQ(check_penalties(env, task, contacts, 60, [](const float*) { return std::make_pair(3.0, 0.0); }), 1);
  // Back off, come back: a second contact.
  EXPECT_EQ(check_penalties(env, task, contacts, 10, [](const float*) { return std::make_pair(-3.0, 0.0); }), 0);
  EXPECT_EQ(check_penalties(env, task, contacts, 30, [](const float*) { return std::make_pair(3.0, 0.0); }), 1);
  // Slide north along the east wall into the corner: the north wall is a new contact.
  EXPECT_EQ(check_penalties(env, task, contacts, 60, [](const float*) { return std::make_pair(2.0, 3.0); }), 1);
  EXPECT_GT(obs(env)[kY], kL - kR - kSkin - 1e-3);
}

// A layout whose obstacle of `shape` can be reached in a straight line from the
// start region with no other obstacle near the way; returns its index in
// generate_obstacles(layout, goal), the layout in `layout`.
int find_reachable_obstacle(Obstacle::Shape shape, const Task& task, double& layout) {
  for (int l = 0; l < 1000; ++l) {
    const auto obstacles = Box2DNav::generate_obstacles(l, task.goal_x, task.goal_y);
    for (size_t k = 0; k < obstacles.size(); ++k) {
      if (obstacles[k].shape != shape) continue;
      const double length = std::hypot(obstacles[k].x, obstacles[k].y);
      bool clear = true;
      for (size_t j = 0; j < obstacles.size() && clear; ++j) {
        if (j == k) continue;
        // Distance from obstacle j's centre to the segment origin → obstacle k.
        const double along = std::clamp((obstacles[j].x * obstacles[k].x + obstacles[j].y * obstacles[k].y) /
                                            (length * length),
                                        0.0, 1.0);
        const double gap = std::hypot(obstacles[j].x - along * obstacles[k].x, obstacles[j].y - along * obstacles[k].y);
        clear = gap > obstacles[j].bounding_radius() + Box2DNav::kStartRadius + kR + 0.1;
      }
      if (clear) {
        layout = l;
        return static_cast<int>(k);
      }
    }
  }
  return -1;
}

TEST(Box2DNav, CollisionPenaltyExactlyOnNewContactWithAnObstacle) {
  for (const auto shape : {Obstacle::Shape::kDisc, Obstacle::Shape::kBox}) {
    Task task{-2.0, -2.0, 0.0, 1.0, 0.05, 1.0};
    const int target = find_reachable_obstacle(shape, task, task.layout);
    ASSERT_GE(target, 0);
    Box2DNav env(1, 8);
    set_task(env, 0, task);
    env.reset();
    const Obstacle o = env.obstacles(0)[target];
    auto toward = [&](const float* ob) {
      const double dx = o.x - ob[kX];
      const double dy = o.y - ob[kY];
      const double n = std::hypot(dx, dy);
      return std::make_pair(2.5 * dx / n, 2.5 * dy / n);
    };
    Contacts contacts;
    EXPECT_EQ(check_penalties(env, task, contacts, 80, toward), 1) << "layout " << task.layout;
    bool ambiguous = false;
    EXPECT_TRUE(touching(obs(env)[kX], obs(env)[kY], env.obstacles(0), ambiguous) & (1u << (4 + target)))
        << "the robot should rest against obstacle " << target;
    EXPECT_EQ(check_penalties(env, task, contacts, 10,
                              [&](const float* ob) {
                                const auto f = toward(ob);
                                return std::make_pair(-f.first, -f.second);
                              }),
              0);
    EXPECT_EQ(check_penalties(env, task, contacts, 40, toward), 1);
  }
}

TEST(Box2DNav, RewardIsMinusDistanceWithPenaltiesOverRandomRollouts) {
  // Random forces in obstacle layouts: every step's reward and penalty agree with
  // the independent geometry, and collisions do happen.
  int penalties = 0;
  for (int layout = 0; layout < 6; ++layout) {
    const Task task{0.5 * layout - 1.2, 1.3 - 0.4 * layout, static_cast<double>(layout), 0.6, 0.05, 0.5};
    Box2DNav env(1, 20 + layout);
    set_task(env, 0, task);
    env.reset();
    Rng rng(layout);
    Contacts contacts;
    penalties += check_penalties(env, task, contacts, 199, [&](const float*) {
      return std::make_pair(rng.uniform(-6.0, 6.0), rng.uniform(-6.0, 6.0));
    });
  }
  EXPECT_GT(penalties, 0);
}

TEST(Box2DNav, TheGoalIsNotObserved) {
  // Same seed, physics, (empty) layout and actions, different goals: identical
  // observations, different rewards. With obstacles the layout itself keeps clear of
  // the goal, so this holds in the empty arena only.
  Box2DNav a(3, 6);
  Box2DNav b(3, 6);
  for (int r = 0; r < 3; ++r) {
    // Goals in far corners: no random walk of 3 s reaches one (an episode that ended
    // in one environment only would reset it).
    set_task(a, r, Task{2.3, 2.3, kEmpty});
    set_task(b, r, Task{-2.3, -2.3, kEmpty});
  }
  a.reset();
  b.reset();
  Rng rng(4);
  bool rewards_differ = false;
  for (int t = 0; t < 60; ++t) {
    float actions[6];
    for (auto& action : actions) action = static_cast<float>(rng.uniform(-5.0, 5.0));
    a.step(actions);
    b.step(actions);
    ASSERT_TRUE(std::equal(a.observations(), a.observations() + 3 * kObs, b.observations())) << "step " << t;
    for (int r = 0; r < 3; ++r) rewards_differ = rewards_differ || a.rewards()[r] != b.rewards()[r];
  }
  EXPECT_TRUE(rewards_differ);
}

TEST(Box2DNav, ReachingTheGoalTerminates) {
  const Task task{1.2, -0.8, kEmpty, 1.0, 0.1, 1.0};
  Box2DNav env(1, 9);
  set_task(env, 0, task);
  env.reset();
  bool reached = false;
  for (int t = 0; t < 200 && !reached; ++t) {
    // A PD controller toward the goal, which it knows from the task (the policy would
    // have to infer it); stiff enough to beat static friction (0.98 N) short of the
    // goal radius.
    const float* o = obs(env);
    const float action[2] = {clip(20.0 * (task.goal_x - o[kX]) - 8.0 * o[kVx]),
                             clip(20.0 * (task.goal_y - o[kY]) - 8.0 * o[kVy])};
    env.step(action);
    const double distance = distance_to_goal(last_obs(env), task);
    ASSERT_NEAR(env.rewards()[0], -distance, 1e-5) << "step " << t;
    ASSERT_EQ(env.terminated()[0] == 1, distance < Box2DNav::kGoalRadius) << "step " << t << " distance " << distance;
    reached = env.terminated()[0];
  }
  ASSERT_TRUE(reached);
  EXPECT_EQ(env.elapsed_steps()[0], 0);
  EXPECT_LE(std::hypot(obs(env)[kX], obs(env)[kY]), Box2DNav::kStartRadius + 1e-6);  // next episode started
  EXPECT_EQ(obs(env)[kVx], 0.0f);
}

TEST(Box2DNav, SameLayoutSameObstaclesOtherLayoutOtherObstacles) {
  // floor(layout) is what counts.
  EXPECT_EQ(Box2DNav::generate_obstacles(7.0, 1.0, 1.0), Box2DNav::generate_obstacles(7.9, 1.0, 1.0));
  EXPECT_NE(Box2DNav::generate_obstacles(7.0, 1.0, 1.0), Box2DNav::generate_obstacles(8.0, 1.0, 1.0));
  EXPECT_TRUE(Box2DNav::generate_obstacles(-1.0, 1.0, 1.0).empty());
  // Rows with the same task share the arena; the environment uses the generator's.
  Box2DNav env(3, 0);
  set_task(env, 0, Task{1.0, 1.0, 7.0});
  set_task(env, 1, Task{1.0, 1.0, 7.5, 2.0, 0.0, 0.5});  // other physics, same layout
  set_task(env, 2, Task{1.0, 1.0, 8.0});
  EXPECT_EQ(env.obstacles(0), Box2DNav::generate_obstacles(7.0, 1.0, 1.0));
  EXPECT_EQ(env.obstacles(0), env.obstacles(1));
  EXPECT_NE(env.obstacles(0), env.obstacles(2));
  // Rays see the difference: same layout, same start → same readings.
  env.reset();
  Box2DNav twin(3, 0);
  for (int r = 0; r < 3; ++r) twin.set_task(r, env.task(r));
  twin.reset();
  EXPECT_EQ(std::vector<float>(obs(env, 0), obs(env, 0) + kObs), std::vector<float>(obs(twin, 0), obs(twin, 0) + kObs));
}

TEST(Box2DNav, EveryLayoutKeepsTheStartAndGoalFreeAndPassagesOpen) {
  Rng rng(31);
  int complete = 0;
  double first_x = 0.0;
  bool layouts_differ = false;
  const int layouts = 2000;  // the held-out range
  for (int l = 0; l < layouts; ++l) {
    const double gx = rng.uniform(-2.0, 2.0);
    const double gy = rng.uniform(-2.0, 2.0);
    const auto obstacles = Box2DNav::generate_obstacles(l, gx, gy);
    complete += obstacles.size() == static_cast<size_t>(Box2DNav::kNumObstacles);
    if (l == 0) first_x = obstacles.at(0).x;
    layouts_differ = layouts_differ || obstacles.at(0).x != first_x;
    for (size_t k = 0; k < obstacles.size(); ++k) {
      const Obstacle& o = obstacles[k];
      // Exact gaps, not bounding discs: the start region, the goal, the walls.
      ASSERT_GT(gap_to(o, 0.0, 0.0), Box2DNav::kStartRadius + kR + kSkin) << "layout " << l;
      ASSERT_GT(gap_to(o, gx, gy), Box2DNav::kGoalRadius + kR + kSkin) << "layout " << l;
      ASSERT_LE(std::abs(o.x) + o.bounding_radius(), kL - 2 * kR) << "layout " << l;
      ASSERT_LE(std::abs(o.y) + o.bounding_radius(), kL - 2 * kR) << "layout " << l;
      ASSERT_GE(o.half_width, Box2DNav::kMinObstacleSize);
      ASSERT_LE(o.half_height, Box2DNav::kMaxObstacleSize);
      for (size_t j = 0; j < k; ++j) {
        ASSERT_GT(std::hypot(o.x - obstacles[j].x, o.y - obstacles[j].y),
                  o.bounding_radius() + obstacles[j].bounding_radius() + 2 * kR)
            << "layout " << l << ": obstacles " << j << " and " << k << " leave no passage";
      }
    }
  }
  EXPECT_GE(complete, layouts * 99 / 100);
  EXPECT_TRUE(layouts_differ);
}

TEST(Box2DNav, RayReadingsMatchTheGeometryAndShortenTowardANearbyWall) {
  // All 8 readings against an independent ray cast, over rollouts in an empty
  // arena and in obstacle layouts.
  for (const double layout : {kEmpty, 2.0, 3.0, 4.0}) {
    const Task task{1.5, -1.5, layout, 0.5, 0.05, 0.5};
    Box2DNav env(1, 12);
    set_task(env, 0, task);
    env.reset();
    Rng rng(5);
    for (int t = 0; t < 150; ++t) {
      const float action[2] = {clip(rng.uniform(-5.0, 5.0) + 2.0), clip(rng.uniform(-5.0, 5.0))};
      env.step(action);
      const float* o = last_obs(env);
      for (int k = 0; k < Box2DNav::kNumRays; ++k) {
        const double angle = k * M_PI / 4;
        const double expected =
            std::min(1.0, ray_distance(o[kX], o[kY], std::cos(angle), std::sin(angle), env.obstacles(0)) /
                              Box2DNav::kRayRange);
        ASSERT_GE(o[kRays + k], 0.0f);
        ASSERT_LE(o[kRays + k], 1.0f);
        ASSERT_NEAR(o[kRays + k], expected, 2e-4) << "layout " << layout << " step " << t << " ray " << k;
      }
    }
  }
  // Pressed against the east wall: the east ray is short, the west ray sees nothing.
  Box2DNav env(1, 13);
  set_task(env, 0, Task{});
  env.reset();
  const float east[2] = {5.0f, 0.0f};
  for (int t = 0; t < 60; ++t) env.step(east);
  EXPECT_NEAR(obs(env)[kRays + 0], (kL - obs(env)[kX]) / Box2DNav::kRayRange, 1e-4);
  EXPECT_LT(obs(env)[kRays + 0], 0.06f);
  EXPECT_EQ(obs(env)[kRays + 4], 1.0f);
  EXPECT_LT(obs(env)[kRays + 1], obs(env)[kRays + 3]);  // north-east shorter than north-west
}

TEST(Box2DNav, EpisodesDoNotDependOnEarlierEpisodes) {
  // Each reset builds a fresh world, so a restored random state replays exactly,
  // whatever the row did before (what resuming a checkpoint relies on).
  const Task task{-1.0, 1.5, 5.0, 0.7, 0.05, 0.5};
  Box2DNav used(2, 14);
  Box2DNav fresh(2, 14);
  for (int r = 0; r < 2; ++r) {
    set_task(used, r, task);
    set_task(fresh, r, task);
  }
  const auto initial_states = fresh.rng_states();
  Rng rng(1);
  auto random_forces = [&] {
    std::vector<float> a(4);
    for (auto& f : a) f = static_cast<float>(rng.uniform(-6.0, 6.0));
    return a;
  };
  used.reset();
  for (int t = 0; t < 250; ++t) used.step(random_forces().data());  // walls, obstacles, an automatic reset
  used.set_rng_states(initial_states);
  used.reset();
  fresh.reset();
  for (int t = 0; t < 220; ++t) {
    const auto a = random_forces();
    used.step(a.data());
    fresh.step(a.data());
    ASSERT_EQ(std::vector<float>(used.observations(), used.observations() + 2 * kObs),
              std::vector<float>(fresh.observations(), fresh.observations() + 2 * kObs))
        << "step " << t;
    ASSERT_EQ(used.rewards()[0], fresh.rewards()[0]);
    ASSERT_EQ(used.rewards()[1], fresh.rewards()[1]);
  }
}

TEST(Box2DNav, ATaskChangeMidEpisodeKeepsTheRobotsStateAndChangesItsPhysics) {
  Box2DNav env(1, 15);
  Task task{1.0, 1.0, kEmpty, 1.0, 0.0, 1.0};
  set_task(env, 0, task);
  env.reset();
  const float push[2] = {2.0f, 1.0f};
  for (int t = 0; t < 5; ++t) env.step(push);
  double x = obs(env)[kX];
  double y = obs(env)[kY];
  double vx = obs(env)[kVx];
  double vy = obs(env)[kVy];
  task.mass = 2.0;
  task.damping = 0.5;
  task.goal_x = -1.0;
  set_task(env, 0, task);
  reference_step(x, y, vx, vy, push[0], push[1], task);
  env.step(push);
  EXPECT_NEAR(obs(env)[kVx], vx, 1e-5);
  EXPECT_NEAR(obs(env)[kVy], vy, 1e-5);
  EXPECT_NEAR(obs(env)[kX], x, 1e-5);
  EXPECT_NEAR(obs(env)[kY], y, 1e-5);
  // The new goal counts from this step on (reward −distance to it).
  EXPECT_NEAR(env.rewards()[0], -std::hypot(obs(env)[kX] + 1.0, obs(env)[kY] - 1.0), 1e-5);
  EXPECT_EQ(env.elapsed_steps()[0], 6);
}

TEST(Box2DNav, IsRegisteredAndDescribed) {
  auto env = EnvRegistry::global().make("box2d-nav", 4, 1);
  EXPECT_EQ(env->batch_size(), 4);
  EXPECT_EQ(env->spec().name, "box2d-nav");
  const std::string description = describe_environment("box2d-nav");
  EXPECT_NE(description.find("layout"), std::string::npos);
  EXPECT_NE(description.find("friction"), std::string::npos);
}

}  // namespace
}  // namespace metarl::envs
