#include "envs/box2d_nav.h"

#include <box2d/box2d.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>

namespace metarl::envs {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kNumWalls = 4;
// touching_ keeps one bit per static fixture (walls, then obstacles) in a byte.
static_assert(kNumWalls + Box2DNav::kNumObstacles <= 8, "one contact bit per fixture in a std::uint8_t");
constexpr std::uint8_t kWallBits = (1u << kNumWalls) - 1;
// The velocity bound of the spec is Box2D's per-step translation cap over kDt.
static_assert(Box2DNav::kMaxSpeed * Box2DNav::kDt - b2_maxTranslation < 1e-9 &&
                  b2_maxTranslation - Box2DNav::kMaxSpeed * Box2DNav::kDt < 1e-9,
              "kMaxSpeed must equal b2_maxTranslation / kDt");
// Stream tag: layout seeds never coincide with env-row or task-sampling streams.
constexpr std::uint64_t kLayoutStream = 0x6C61796F75745F31ULL;  // "layout_1"

// The rays' end points relative to the robot's centre, m: kNumRays directions every
// 45° counter-clockwise from +x, in the world frame (the robot does not rotate).
static_assert(Box2DNav::kNumRays == 8, "the ray table below has 8 directions");
constexpr float kRay = static_cast<float>(Box2DNav::kRayRange);
constexpr float kRayDiagonal = static_cast<float>(Box2DNav::kRayRange * 0.70710678118654752440);
const b2Vec2 kRayOffsets[Box2DNav::kNumRays] = {
    {kRay, 0.0f},  {kRayDiagonal, kRayDiagonal},   {0.0f, kRay},  {-kRayDiagonal, kRayDiagonal},
    {-kRay, 0.0f}, {-kRayDiagonal, -kRayDiagonal}, {0.0f, -kRay}, {kRayDiagonal, -kRayDiagonal}};

// Closest hit of one ray, ignoring the robot's own disc. Returning the fraction
// clips the ray, so Box2D reports only hits closer than the best so far.
class ClosestHit final : public b2RayCastCallback {
 public:
  explicit ClosestHit(const b2Body* robot) : robot_(robot) {}
  float ReportFixture(b2Fixture* fixture, const b2Vec2& /*point*/, const b2Vec2& /*normal*/,
                      float fraction) override {
    if (fixture->GetBody() == robot_) return -1.0f;
    fraction_ = fraction;
    return fraction;
  }
  // Fraction of the ray's length to the closest hit; 1 when nothing was hit.
  float take_fraction() {
    const float f = fraction_;
    fraction_ = 1.0f;
    return f;
  }

 private:
  const b2Body* robot_;
  float fraction_ = 1.0f;
};

// Whether a candidate keeps clear of the start region, the goal and the obstacles
// already placed. Tested on bounding discs: conservative for boxes, exact for discs.
bool fits(const Box2DNav::Obstacle& candidate, const std::vector<Box2DNav::Obstacle>& placed, double goal_x,
          double goal_y) {
  const double reach = candidate.bounding_radius();
  if (std::hypot(candidate.x, candidate.y) < reach + Box2DNav::kKeepOutRadius) return false;
  if (std::hypot(candidate.x - goal_x, candidate.y - goal_y) < reach + Box2DNav::kKeepOutRadius) return false;
  for (const auto& other : placed) {
    if (std::hypot(candidate.x - other.x, candidate.y - other.y) <
        reach + other.bounding_radius() + Box2DNav::kPassage) {
      return false;
    }
  }
  return true;
}

}  // namespace

// One row's simulation. A fresh world per episode (see reset_row), so its contact
// caches, broad-phase tree and proxy ids never carry one episode into the next.
struct Box2DNav::RowWorld {
  b2World world{b2Vec2(0.0f, 0.0f)};  // top-down: no gravity in the plane
  b2Body* robot = nullptr;
};

double Box2DNav::Obstacle::bounding_radius() const {
  return shape == Shape::kDisc ? half_width : std::hypot(half_width, half_height);
}

bool Box2DNav::Obstacle::operator==(const Obstacle& other) const {
  return shape == other.shape && x == other.x && y == other.y && half_width == other.half_width &&
         half_height == other.half_height && angle == other.angle;
}

EnvSpec Box2DNav::make_spec() {
  EnvSpec spec;
  spec.name = "box2d-nav";
  spec.description =
      "Box2D disc robot (radius 0.1 m) pushed by a 2D force through a 5 m x 5 m walled arena with up to 4 "
      "obstacles. Observation: position, velocity, 8 range readings (distance / 2 m, every 45 deg); the goal "
      "is unobserved. Action: force in N, clipped to [-5, 5] per axis. Reward: -distance to the goal, -1 more on each "
      "new contact with a wall or obstacle. Terminated within 0.1 m of the goal; truncated at 200 steps of 0.05 s.";
  spec.observation_dim = kObservationDim;
  spec.action_dim = 2;
  spec.action_low = {-kMaxForce, -kMaxForce};
  spec.action_high = {kMaxForce, kMaxForce};
  const auto arena = static_cast<float>(kArenaHalfWidth);
  const auto speed = static_cast<float>(kMaxSpeed);
  spec.observation_low = {-arena, -arena, -speed, -speed};
  spec.observation_high = {arena, arena, speed, speed};
  spec.observation_low.resize(kObservationDim, 0.0f);
  spec.observation_high.resize(kObservationDim, 1.0f);
  spec.max_episode_steps = kMaxEpisodeSteps;
  spec.deterministic_reset = false;  // the start is drawn from the row's stream
  return spec;
}

const TaskLayout<Box2DNavTask>& Box2DNav::task_layout() {
  // field, name, unit, description, train range, held-out range. Held-out goals lie
  // farther out, held-out layouts are seeds training never uses, held-out robots are
  // heavier and lighter, with floors grippier and slicker, drag stronger and weaker.
  // Held-out extremes keep the robot movable: μ m g = 0.2 · 2 kg · 9.81 = 3.9 N < 5 N.
  static const TaskLayout<Box2DNavTask> layout({
      {&Box2DNavTask::goal_x, "goal_x", "m", "goal x; unobserved, inferred from rewards (starts are around the origin)",
       -1.5, 1.5, -2.0, 2.0},
      {&Box2DNavTask::goal_y, "goal_y", "m", "goal y; unobserved, inferred from rewards", -1.5, 1.5, -2.0, 2.0},
      {&Box2DNavTask::layout, "layout", "index",
       "obstacle layout: floor(value) seeds the obstacles (training layouts 0-999, held-out up to 1999; "
       "negative = no obstacles)",
       0.0, 1000.0, 0.0, 2000.0},
      {&Box2DNavTask::mass, "mass", "kg", "robot mass: the same force accelerates a heavier robot less", 0.5, 1.5, 0.3,
       2.0},
      {&Box2DNavTask::friction, "friction", "dimensionless",
       "Coulomb floor friction mu: up to mu m 9.81 N opposes sliding, holding the robot when the force is "
       "smaller; walls and obstacles are frictionless",
       0.05, 0.15, 0.0, 0.2},
      {&Box2DNavTask::damping, "damping", "1/s",
       "linear damping c, a viscous drag dv/dt = -c v (Box2D: v <- v / (1 + c dt))", 0.5, 1.5, 0.25, 2.0},
  });
  return layout;
}

std::vector<Box2DNav::Obstacle> Box2DNav::generate_obstacles(double layout, double goal_x, double goal_y) {
  std::vector<Obstacle> placed;
  const double index = std::floor(layout);
  if (!(index >= 0.0)) return placed;  // negative (or NaN): the empty arena
  // Capped below 2^63 so that the conversion is defined; no split comes near.
  const std::uint64_t layout_seed = derive_seed(kLayoutStream, static_cast<std::uint64_t>(std::min(index, 1e18)));
  for (int k = 0; k < kNumObstacles; ++k) {
    // Obstacle k has its own stream: a rejected candidate of one obstacle never
    // shifts the draws of another.
    Rng rng(derive_seed(layout_seed, static_cast<std::uint64_t>(k)));
    for (int attempt = 0; attempt < kPlacementAttempts; ++attempt) {
      Obstacle candidate;
      if (rng.uniform() < 0.5) {
        candidate.shape = Obstacle::Shape::kBox;
        candidate.half_width = rng.uniform(kMinObstacleSize, kMaxObstacleSize);
        candidate.half_height = rng.uniform(kMinObstacleSize, kMaxObstacleSize);
        candidate.angle = rng.uniform(0.0, kPi);  // a box is symmetric under a half turn
      } else {
        candidate.shape = Obstacle::Shape::kDisc;
        candidate.half_width = candidate.half_height = rng.uniform(kMinObstacleSize, kMaxObstacleSize);
      }
      // Centres keep a passage to the walls: |x| + bounding radius ≤ 2.5 − 0.3 m.
      const double reach = kArenaHalfWidth - kPassage - candidate.bounding_radius();
      candidate.x = rng.uniform(-reach, reach);
      candidate.y = rng.uniform(-reach, reach);
      if (fits(candidate, placed, goal_x, goal_y)) {
        placed.push_back(candidate);
        break;
      }
    }
  }
  return placed;
}

Box2DNav::Box2DNav(int batch_size, std::uint64_t seed)
    : BatchedEnv(make_spec(), make_task_distribution(), batch_size, seed),
      worlds_(static_cast<size_t>(batch_size)),
      touching_(static_cast<size_t>(batch_size), 0),
      stale_(static_cast<size_t>(batch_size), 0) {
  // Every row starts with the default task (the base's); worlds wait for reset().
  const Box2DNavTask defaults = task_layout().read(task(0));
  row_tasks_.assign(static_cast<size_t>(batch_size), defaults);
  obstacles_.assign(static_cast<size_t>(batch_size), generate_obstacles(defaults.layout, defaults.goal_x, defaults.goal_y));
}

Box2DNav::~Box2DNav() = default;

void Box2DNav::build_world(int row, float x, float y, float vx, float vy) {
  const double mass = row_tasks_[row].mass;
  const double friction = row_tasks_[row].friction;
  const double damping = row_tasks_[row].damping;
  assert(mass > 0.0 && friction >= 0.0 && damping >= 0.0);
  // `new RowWorld` default-initialises: std::make_unique would value-initialise and
  // zero the world's 100 KiB inline stack allocator (b2StackAllocator), of which a
  // step uses a few hundred bytes — 15 µs and 100 KiB of resident memory per build.
  std::unique_ptr<RowWorld> built(new RowWorld);
  b2World& world = built->world;
  // One dynamic body: sleeping would only zero a slow drift's velocity after 0.5 s.
  world.SetAllowSleeping(false);

  // Walls and obstacles are fixtures of one static body. Frictionless and inelastic:
  // the robot slides along them and does not bounce; the floor (below) is its only
  // friction. User data: the fixture's bit in touching_.
  b2BodyDef arena_def;  // static, at the origin
  b2Body* arena = world.CreateBody(&arena_def);
  b2FixtureDef fixture;
  fixture.friction = 0.0f;
  fixture.restitution = 0.0f;
  const auto half = static_cast<float>(kArenaHalfWidth);
  const auto thick = static_cast<float>(kWallThickness / 2);
  const b2Vec2 wall_centres[kNumWalls] = {{half + thick, 0.0f}, {-half - thick, 0.0f}, {0.0f, half + thick},
                                          {0.0f, -half - thick}};
  for (int i = 0; i < kNumWalls; ++i) {
    b2PolygonShape wall;
    const bool vertical = i < 2;  // east and west walls; their length covers the corners
    wall.SetAsBox(vertical ? thick : half + 2 * thick, vertical ? half + 2 * thick : thick, wall_centres[i], 0.0f);
    fixture.shape = &wall;
    fixture.userData.pointer = static_cast<uintptr_t>(i);
    arena->CreateFixture(&fixture);
  }
  const auto& obstacles = obstacles_[row];
  for (size_t k = 0; k < obstacles.size(); ++k) {
    const Obstacle& o = obstacles[k];
    const b2Vec2 centre(static_cast<float>(o.x), static_cast<float>(o.y));
    b2PolygonShape box;
    b2CircleShape disc;
    if (o.shape == Obstacle::Shape::kBox) {
      box.SetAsBox(static_cast<float>(o.half_width), static_cast<float>(o.half_height), centre,
                   static_cast<float>(o.angle));
      fixture.shape = &box;
    } else {
      disc.m_p = centre;
      disc.m_radius = static_cast<float>(o.half_width);
      fixture.shape = &disc;
    }
    fixture.userData.pointer = static_cast<uintptr_t>(kNumWalls + k);
    arena->CreateFixture(&fixture);
  }

  // The robot: a disc that does not rotate (nothing observes a heading, and the
  // frictionless contacts exert no torque on it anyway).
  b2BodyDef robot_def;
  robot_def.type = b2_dynamicBody;
  robot_def.position.Set(x, y);
  robot_def.linearVelocity.Set(vx, vy);
  robot_def.fixedRotation = true;
  robot_def.linearDamping = static_cast<float>(damping);
  b2Body* robot = world.CreateBody(&robot_def);
  b2CircleShape body_shape;
  body_shape.m_radius = static_cast<float>(kRobotRadius);
  b2FixtureDef robot_fixture;
  robot_fixture.shape = &body_shape;
  robot_fixture.friction = 0.0f;
  robot_fixture.restitution = 0.0f;
  robot->CreateFixture(&robot_fixture);
  // The mass set directly rather than through a density, which would round it
  // through π r² in float.
  b2MassData mass_data;
  mass_data.mass = static_cast<float>(mass);
  mass_data.center.SetZero();
  mass_data.I = 0.0f;
  robot->SetMassData(&mass_data);

  // Floor friction: Box2D's top-down friction joint to the static arena. Each step it
  // removes up to maxForce·dt of momentum against the sliding velocity — Coulomb
  // friction with equal static and kinetic coefficients. Modelling the floor as
  // extra damping was rejected: viscous drag never holds a robot still against a
  // small force. The anchors are irrelevant here: neither body rotates.
  b2FrictionJointDef floor;
  floor.bodyA = arena;
  floor.bodyB = robot;
  floor.maxForce = static_cast<float>(friction * mass * kGravity);
  floor.maxTorque = 0.0f;
  floor.collideConnected = true;  // a joint disables collisions between its bodies by default
  world.CreateJoint(&floor);

  built->robot = robot;
  worlds_[row] = std::move(built);
}

void Box2DNav::write_observation(int row) {
  const RowWorld& w = *worlds_[row];
  const b2Vec2 p = w.robot->GetPosition();
  const b2Vec2 v = w.robot->GetLinearVelocity();
  float* obs = observation_row(row);
  obs[0] = p.x;
  obs[1] = p.y;
  obs[2] = v.x;
  obs[3] = v.y;
  ClosestHit hit(w.robot);
  for (int k = 0; k < kNumRays; ++k) {
    w.world.RayCast(&hit, p, p + kRayOffsets[k]);
    obs[4 + k] = hit.take_fraction();
  }
}

void Box2DNav::reset_row(int row, Rng& rng) {
  // A fresh world, not the old one with the robot teleported back: the broad-phase
  // tree and proxy ids that earlier episodes leave behind can reorder contacts, so a
  // restored random state (a resumed checkpoint) would not replay bit for bit. A
  // build costs ~4 µs, ~0.02 µs per step of a 200-step episode.
  // Uniform over the start disc's area (hence the square root).
  const double radius = kStartRadius * std::sqrt(rng.uniform());
  const double angle = 2.0 * kPi * rng.uniform();
  build_world(row, static_cast<float>(radius * std::cos(angle)), static_cast<float>(radius * std::sin(angle)), 0.0f,
              0.0f);
  touching_[row] = 0;  // the start region is clear of walls and obstacles
  stale_[row] = 0;
  write_observation(row);
}

void Box2DNav::task_changed(int row) {
  const Box2DNavTask& task = row_tasks_[row] = task_layout().read(this->task(row));
  auto obstacles = generate_obstacles(task.layout, task.goal_x, task.goal_y);
  if (obstacles != obstacles_[row]) {
    // Other obstacles: touching one of them after the rebuild is a new contact.
    touching_[row] &= kWallBits;
    obstacles_[row] = std::move(obstacles);
  }
  // Before the first reset there is no world yet; reset() builds it from the task.
  stale_[row] = worlds_[row] != nullptr;
}

void Box2DNav::step_rows(const float* actions, int begin, int end) {
  float* reward = reward_buffer();
  std::uint8_t* terminated = terminated_buffer();
  for (int r = begin; r < end; ++r) {
    if (stale_[r]) {
      // The task changed mid-episode: same robot state, new physics and obstacles.
      const b2Body* old_robot = worlds_[r]->robot;
      const b2Vec2 p = old_robot->GetPosition();
      const b2Vec2 v = old_robot->GetLinearVelocity();
      build_world(r, p.x, p.y, v.x, v.y);
      stale_[r] = 0;
    }
    RowWorld& w = *worlds_[r];
    b2Body* robot = w.robot;
    const float fx = std::clamp(actions[2 * r], -kMaxForce, kMaxForce);
    const float fy = std::clamp(actions[2 * r + 1], -kMaxForce, kMaxForce);
    robot->ApplyForceToCenter(b2Vec2(fx, fy), true);  // cleared by Step (auto-clear forces)
    w.world.Step(static_cast<float>(kDt), kVelocityIterations, kPositionIterations);

    // Contacts at the post-step pose. Box2D's own touching flags lag: Step updates
    // them in its collide phase, before it moves the bodies, so a wall reached
    // during a step would count only on the next one (unless a time-of-impact event
    // caught it). Instead each candidate contact (every fixture whose fattened
    // bounding box overlaps the robot's) is evaluated with Box2D's narrow phase at
    // the current transforms: touching means a non-empty manifold — the disc within
    // a box's 1 cm skin (b2_polygonRadius), or overlapping a disc.
    std::uint8_t touching = 0;
    for (b2ContactEdge* edge = robot->GetContactList(); edge != nullptr; edge = edge->next) {
      b2Contact* contact = edge->contact;
      b2Fixture* a = contact->GetFixtureA();
      b2Fixture* b = contact->GetFixtureB();
      b2Manifold manifold;
      contact->Evaluate(&manifold, a->GetBody()->GetTransform(), b->GetBody()->GetTransform());
      if (manifold.pointCount > 0) {
        b2Fixture* other = a->GetBody() == robot ? b : a;
        touching = static_cast<std::uint8_t>(touching | (1u << other->GetUserData().pointer));
      }
    }
    const bool new_contact = (touching & ~touching_[r]) != 0;
    touching_[r] = touching;

    const b2Vec2 p = robot->GetPosition();
    const double dx = static_cast<double>(p.x) - row_tasks_[r].goal_x;
    const double dy = static_cast<double>(p.y) - row_tasks_[r].goal_y;
    const double distance = std::sqrt(dx * dx + dy * dy);
    reward[r] = static_cast<float>(-distance - (new_contact ? kCollisionPenalty : 0.0));
    terminated[r] = distance < kGoalRadius;
    write_observation(r);
  }
}

}  // namespace metarl::envs
