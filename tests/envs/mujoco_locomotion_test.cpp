// The MuJoCo locomotion environments against MuJoCo itself and against restatements
// of what they claim: each row steps exactly as mj_step on one mjData started from the
// same state; the velocity the reward reads is the centre of mass's (a finite
// difference of the centre of mass agrees); rewards recomputed from the row's state and
// the observation; the published model sizes; mass scaling; the task splits; the
// memory margins chosen in envs/mujoco/*.xml.

#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "envs/errors.h"
#include "envs/mujoco_locomotion.h"
#include "envs/registry.h"

namespace metarl::envs {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Deterministic actions in [-1.5, 1.5] (some clipped), from a row, step and joint.
float test_action(int row, int step, int joint) {
  const double phase = 0.37 * step + 1.3 * joint + 2.1 * row;
  return static_cast<float>(1.5 * std::sin(phase) * std::cos(0.11 * step * (joint + 1)));
}

std::vector<float> test_actions(int rows, int nu, int step) {
  std::vector<float> actions(static_cast<size_t>(rows) * nu);
  for (int r = 0; r < rows; ++r) {
    for (int k = 0; k < nu; ++k) actions[static_cast<size_t>(r) * nu + k] = test_action(r, step, k);
  }
  return actions;
}

struct DataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};
using DataPtr = std::unique_ptr<mjData, DataDeleter>;

// A copy of the row's current state, to replay it with MuJoCo's own mj_step.
DataPtr copy_row(const MujocoLocomotion& env, int row) {
  const mjModel* m = env.row_model(row);
  return DataPtr(mj_copyData(nullptr, m, env.row_data(row)));
}

void expect_same_state(const mjModel* m, const mjData* reference, const mjData* row, const std::string& where) {
  for (int i = 0; i < m->nq; ++i) ASSERT_EQ(reference->qpos[i], row->qpos[i]) << where << ", qpos[" << i << "]";
  for (int i = 0; i < m->nv; ++i) ASSERT_EQ(reference->qvel[i], row->qvel[i]) << where << ", qvel[" << i << "]";
}

std::unique_ptr<MujocoLocomotion> make_env(const std::string& name, int rows, std::uint64_t seed) {
  auto env = EnvRegistry::global().make(name, rows, seed);
  auto* locomotion = dynamic_cast<MujocoLocomotion*>(env.get());
  if (locomotion == nullptr) {
    ADD_FAILURE() << name << " is not a MujocoLocomotion";
    return nullptr;
  }
  env.release();
  return std::unique_ptr<MujocoLocomotion>(locomotion);
}

// Σ a² of row `row`'s actions clipped to the control range [-1, 1]: the control cost's sum.
double clipped_square_sum(const std::vector<float>& actions, int row, int nu) {
  double sum = 0.0;
  for (int k = 0; k < nu; ++k) {
    const double a = std::clamp(static_cast<double>(actions[static_cast<size_t>(row) * nu + k]), -1.0, 1.0);
    sum += a * a;
  }
  return sum;
}

TEST(MujocoModels, HaveThePublishedSizesAndOptions) {
  auto cheetah = make_env("halfcheetah-vel", 1, 0);
  const mjModel* c = cheetah->model();
  EXPECT_EQ(c->nq, 9);
  EXPECT_EQ(c->nv, 9);
  EXPECT_EQ(c->nu, 6);
  EXPECT_EQ(c->nbody, 8);
  EXPECT_DOUBLE_EQ(c->opt.timestep, 0.01);
  EXPECT_EQ(c->opt.integrator, mjINT_EULER);
  EXPECT_NEAR(mj_getTotalmass(c), 14.0, 1e-9);  // settotalmass="14"
  const double gears[] = {120, 90, 60, 120, 60, 30};
  for (int k = 0; k < 6; ++k) EXPECT_DOUBLE_EQ(c->actuator_gear[6 * k], gears[k]) << "actuator " << k;

  auto ant = make_env("ant-fwd-back", 1, 0);
  const mjModel* a = ant->model();
  EXPECT_EQ(a->nq, 15);
  EXPECT_EQ(a->nv, 14);
  EXPECT_EQ(a->nu, 8);
  EXPECT_EQ(a->nbody, 14);
  EXPECT_DOUBLE_EQ(a->opt.timestep, 0.02);
  EXPECT_EQ(a->opt.integrator, mjINT_RK4);
  for (int k = 0; k < 8; ++k) EXPECT_DOUBLE_EQ(a->actuator_gear[6 * k], 150.0) << "actuator " << k;
  // The first actuator drives hip_4 (the published order).
  EXPECT_STREQ(mj_id2name(a, mjOBJ_JOINT, a->actuator_trnid[0]), "hip_4");
  ASSERT_EQ(a->nkey, 1);
  EXPECT_DOUBLE_EQ(a->key_qpos[2], 0.55);  // rllab's crouched start

  // ant-dir's Gym ant: the same bodies, joints and motors; Gym's timestep, contact
  // parameters at MuJoCo's defaults, no keyframe (the start is qpos0, torso at 0.75 m).
  auto gym_ant = make_env("ant-dir", 1, 0);
  const mjModel* g = gym_ant->model();
  ASSERT_EQ(g->nq, a->nq);
  ASSERT_EQ(g->nbody, a->nbody);
  ASSERT_EQ(g->ngeom, a->ngeom);
  EXPECT_DOUBLE_EQ(g->opt.timestep, 0.01);
  EXPECT_EQ(g->opt.integrator, mjINT_RK4);
  EXPECT_EQ(g->nkey, 0);
  EXPECT_DOUBLE_EQ(g->qpos0[2], 0.75);
  for (int b = 0; b < g->nbody; ++b) EXPECT_DOUBLE_EQ(g->body_mass[b], a->body_mass[b]) << "body " << b;
  for (int k = 0; k < 8; ++k) EXPECT_DOUBLE_EQ(g->actuator_gear[6 * k], 150.0) << "actuator " << k;
  for (int i = 0; i < g->ngeom; ++i) {
    EXPECT_DOUBLE_EQ(g->geom_solref[mjNREF * i], 0.02) << "geom " << i;
    EXPECT_DOUBLE_EQ(g->geom_solimp[mjNIMP * i], 0.9) << "geom " << i;  // MuJoCo's default; rllab's .8
    EXPECT_DOUBLE_EQ(g->geom_solimp[mjNIMP * i + 1], 0.95) << "geom " << i;
  }
  const auto* ant_dir = dynamic_cast<const MujocoLocomotion*>(gym_ant.get());
  ASSERT_NE(ant_dir, nullptr);
  EXPECT_EQ(ant_dir->stepping().frame_skip, 5);
  EXPECT_DOUBLE_EQ(ant_dir->step_seconds(), 0.05);
  EXPECT_EQ(mujoco_model_xml("gym_ant").find("solimp=\""), std::string::npos);  // the header comment still cites it

  EXPECT_THROW(mujoco_model_xml("humanoid"), std::invalid_argument);
  // MuJoCo's warnings go to stderr, not to stdout and MUJOCO_LOG.TXT in the working directory.
  EXPECT_NE(mju_user_warning, nullptr);
}

// Each row equals MuJoCo's own stepping of one mjData from the same state, bit for
// bit, through the post-step evaluation the environment adds (which must not change
// the dynamics), with the environment's clipping of actions to the control range.
TEST(MujocoLocomotion, EachRowStepsExactlyAsMjStep) {
  for (const std::string name : {"halfcheetah-vel", "halfcheetah-dir", "ant-dir", "ant-fwd-back"}) {
    SCOPED_TRACE(name);
    constexpr int kRows = 3;
    auto env = make_env(name, kRows, 7);
    TaskDistribution tasks = env->task_distribution();
    Rng rng(11);
    // Held-out tasks: halfcheetah-dir's rows then step their own, heavier or lighter models.
    env->set_tasks(tasks.sample(kRows, Split::kHeldOut, rng));
    env->reset();
    const int nu = env->spec().action_dim;
    std::vector<DataPtr> reference;
    for (int r = 0; r < kRows; ++r) reference.push_back(copy_row(*env, r));
    for (int t = 0; t < 150; ++t) {
      const auto actions = test_actions(kRows, nu, t);
      env->step(actions.data());
      for (int r = 0; r < kRows; ++r) {
        if (env->done(r)) {  // an ant that fell: its next episode starts afresh
          reference[r] = copy_row(*env, r);
          continue;
        }
        const mjModel* m = env->row_model(r);
        mjData* d = reference[r].get();
        for (int k = 0; k < nu; ++k) {
          d->ctrl[k] = std::clamp(static_cast<double>(actions[static_cast<size_t>(r) * nu + k]), -1.0, 1.0);
        }
        for (int frame = 0; frame < env->stepping().frame_skip; ++frame) mj_step(m, d);  // ant-dir: 5
        expect_same_state(m, d, env->row_data(r), "row " + std::to_string(r) + ", step " + std::to_string(t));
        if (HasFatalFailure()) return;
      }
    }
  }
}

// The velocity in the reward is the whole robot's centre-of-mass velocity: the centre
// of mass moves by about v·dt per step (semi-implicit Euler: exactly the new velocity's
// displacement for the root slide, approximately for the body).
TEST(MujocoLocomotion, TheRewardedVelocityIsTheCentreOfMassVelocity) {
  HalfCheetahVel env(1, 3);
  const double goal = 1.5;
  env.set_task(0, &goal);
  env.reset();
  const int nu = 6;
  double com_x = env.row_data(0)->subtree_com[3 * 1];
  double worst = 0.0;
  double fastest = 0.0;
  for (int t = 0; t < 150; ++t) {
    const auto actions = test_actions(1, nu, t);
    env.step(actions.data());
    const double new_com_x = env.row_data(0)->subtree_com[3 * 1];
    const double finite_difference = (new_com_x - com_x) / 0.01;
    worst = std::max(worst, std::abs(finite_difference - env.forward_velocity(0)));
    fastest = std::max(fastest, std::abs(env.forward_velocity(0)));
    com_x = new_com_x;
  }
  EXPECT_GT(fastest, 0.3);  // the cheetah moved, so the comparison says something
  EXPECT_LT(worst, 0.1) << "m/s between the finite difference and the centre-of-mass velocity";
}

// Rewards recomputed from each row's post-step state and its observation.
TEST(MujocoLocomotion, RewardsFollowThePublishedFormulas) {
  {
    HalfCheetahVel env(2, 5);
    const std::vector<double> goals = {0.5, 2.5};
    env.set_tasks(TaskBatch{2, 1, goals});
    env.reset();
    for (int t = 0; t < 40; ++t) {
      const auto actions = test_actions(2, 6, t);
      env.step(actions.data());
      for (int r = 0; r < 2; ++r) {
        const double control = clipped_square_sum(actions, r, 6);
        const double v = env.row_data(r)->subtree_linvel[3];
        EXPECT_FLOAT_EQ(env.rewards()[r], static_cast<float>(-std::abs(v - goals[r]) - 0.05 * control));
        // The observation: qpos without x, qvel, centre of mass.
        const float* o = env.observations() + 20 * r;
        EXPECT_EQ(o[0], static_cast<float>(env.row_data(r)->qpos[1]));
        EXPECT_EQ(o[8], static_cast<float>(env.row_data(r)->qvel[0]));
        EXPECT_EQ(o[17], static_cast<float>(env.row_data(r)->subtree_com[3]));
      }
    }
  }
  {
    // Forward and backward from the same seed and actions are the same motion: their
    // rewards sum to twice the control cost's negative.
    HalfCheetahDir env(2, 5);
    const std::vector<double> tasks = {1.0, 1.0, -1.0, 1.0};  // (direction, mass_scale) per row
    env.set_tasks(TaskBatch{2, 2, tasks});
    env.seed(9);
    env.reset();
    // Both rows start alike only with the same stream: compare against a second env.
    HalfCheetahDir backward(2, 5);
    const std::vector<double> back_tasks = {-1.0, 1.0, 1.0, 1.0};
    backward.set_tasks(TaskBatch{2, 2, back_tasks});
    backward.seed(9);
    backward.reset();
    for (int t = 0; t < 40; ++t) {
      const auto actions = test_actions(2, 6, t);
      env.step(actions.data());
      backward.step(actions.data());
      for (int r = 0; r < 2; ++r) {
        const double control = clipped_square_sum(actions, r, 6);
        EXPECT_NEAR(env.rewards()[r] + backward.rewards()[r], -2.0 * 0.05 * control, 1e-5);
        const double sign = tasks[2 * r] >= 0 ? 1.0 : -1.0;
        EXPECT_NEAR(env.rewards()[r], sign * env.forward_velocity(r) - 0.05 * control, 1e-5);
      }
    }
  }
  {
    // ant-fwd-back: MAML's ant reward on rllab's physics (the centre of mass's velocity).
    AntFwdBack env(2, 5);
    int touching = 0;  // steps after the first 20 with contact forces in the observation
    const std::vector<double> signs = {1.0, -1.0};
    env.set_tasks(TaskBatch{2, 2, {1.0, 1.0, -1.0, 1.0}});
    env.reset();
    for (int t = 0; t < 60; ++t) {
      const auto actions = test_actions(2, 8, t);
      env.step(actions.data());
      for (int r = 0; r < 2; ++r) {
        const float* o = (env.done(r) ? env.final_observations() : env.observations()) + Ant::kObservationDim * r;
        const double control = clipped_square_sum(actions, r, 8);
        double contact = 0.0;  // from the observation's clipped contact forces
        for (int i = 29; i < 29 + 84; ++i) contact += static_cast<double>(o[i]) * o[i];
        if (env.done(r)) {
          EXPECT_TRUE(o[2] < 0.2f || o[2] > 1.0f) << "terminated at height " << o[2];
          continue;  // the row's data is the next episode's
        }
        EXPECT_TRUE(o[2] >= 0.2f && o[2] <= 1.0f) << "not terminated at height " << o[2];
        const double vx = signs[r] * env.row_data(r)->subtree_linvel[3];
        EXPECT_NEAR(env.rewards()[r], vx - 0.005 * control - 0.0005 * contact + 0.05, 1e-4);
        if (t > 20) touching += contact > 0.0;
      }
    }
    // The ant is on the floor in about half of these steps (it hops under them), so
    // contact forces are computed after the step (mj_rnePostConstraint) and observed.
    EXPECT_GT(touching, 15) << "of at most 78 row-steps after the first 20";
  }
  {
    // ant-dir: ProMP's reward on Gym's physics (the torso's displacement over 0.05 s).
    AntDir env(2, 5);
    int touching = 0;
    int moved = 0;  // row-steps whose torso moved more than 1 cm along the direction
    const std::vector<double> directions = {0.3, -2.0};
    env.set_tasks(TaskBatch{2, 2, {0.3, 1.0, -2.0, 1.0}});
    env.reset();
    for (int t = 0; t < 60; ++t) {
      const auto actions = test_actions(2, 8, t);
      env.step(actions.data());
      for (int r = 0; r < 2; ++r) {
        const float* o = (env.done(r) ? env.final_observations() : env.observations()) + AntDir::kObservationDim * r;
        const double control = clipped_square_sum(actions, r, 8);
        double contact = 0.0;
        for (int i = 27; i < 27 + 84; ++i) contact += static_cast<double>(o[i]) * o[i];
        // The observation starts with qpos[2:], the torso's height first.
        if (env.done(r)) {
          EXPECT_TRUE(o[0] < 0.0f || o[0] > 1.0f) << "terminated at height " << o[0];
          continue;
        }
        EXPECT_TRUE(o[0] >= 0.0f && o[0] <= 1.0f) << "not terminated at height " << o[0];
        EXPECT_EQ(o[0], static_cast<float>(env.row_data(r)->qpos[2]));
        const double* after = env.row_data(r)->xpos + 3;
        const double* before = env.torso_position_before_step(r);
        const double along = std::cos(directions[r]) * (after[0] - before[0]) +
                             std::sin(directions[r]) * (after[1] - before[1]);
        EXPECT_NEAR(env.velocity_along_direction(r), along / 0.05, 1e-9);
        EXPECT_NEAR(env.rewards()[r], along / 0.05 - 0.5 * control - 0.0005 * contact + 1.0, 1e-4);
        if (t > 20) touching += contact > 0.0;
        moved += std::abs(along) > 0.01;
      }
    }
    EXPECT_GT(touching, 15) << "of at most 78 row-steps after the first 20";
    EXPECT_GT(moved, 10) << "the torso moved, so the displacement check says something";
  }
}

// ant-fwd-back's two tasks are one ant paying opposite x velocities: forward and
// backward step the same (same model, seed and actions) and observe the same, and
// their rewards differ by twice the x velocity.
TEST(MujocoLocomotion, AntForwardBackwardIsTheAntAlongPlusOrMinusX) {
  AntFwdBack forward(1, 5);
  forward.set_tasks(TaskBatch{1, 2, {1.0, 1.0}});
  AntFwdBack backward(1, 5);
  backward.set_tasks(TaskBatch{1, 2, {-1.0, 1.0}});
  for (BatchedEnv* env : std::initializer_list<BatchedEnv*>{&forward, &backward}) {
    env->seed(9);
    env->reset();
  }
  int compared = 0;
  for (int t = 0; t < 60; ++t) {
    const auto actions = test_actions(1, 8, t);
    forward.step(actions.data());
    backward.step(actions.data());
    ASSERT_EQ(backward.done(0), forward.done(0)) << "step " << t;
    for (int i = 0; i < Ant::kObservationDim; ++i) {
      ASSERT_EQ(backward.observations()[i], forward.observations()[i]) << "step " << t << ", entry " << i;
    }
    if (forward.done(0)) continue;  // the row's data is the next episode's
    const double vx = forward.row_data(0)->subtree_linvel[3];
    EXPECT_NEAR(forward.rewarded_velocity(0), vx, 1e-12);
    EXPECT_NEAR(backward.rewarded_velocity(0), -vx, 1e-12);
    EXPECT_NEAR(forward.rewards()[0] - backward.rewards()[0], 2.0 * vx, 1e-4) << "step " << t;
    ++compared;
  }
  EXPECT_GT(compared, 20);
}

// A step MuJoCo flags as unstable (here a NaN action, whose controls it zeroes with a
// warning) ends that row's episode; the other rows go on.
TEST(MujocoLocomotion, AStepMujocoResetEndsTheEpisode) {
  for (const std::string name : {"halfcheetah-vel", "ant-dir", "ant-fwd-back"}) {
    SCOPED_TRACE(name);
    auto env = make_env(name, 2, 4);
    env->reset();
    const int nu = env->spec().action_dim;
    std::vector<float> actions(static_cast<size_t>(2) * nu, 0.1f);
    env->step(actions.data());
    EXPECT_FALSE(env->done(0));
    actions[0] = std::numeric_limits<float>::quiet_NaN();
    env->step(actions.data());
    EXPECT_TRUE(env->terminated()[0]);
    EXPECT_FALSE(env->done(1));
    EXPECT_EQ(env->elapsed_steps()[0], 0);  // a fresh episode
    // The next episode steps normally.
    actions[0] = 0.1f;
    env->step(actions.data());
    EXPECT_FALSE(env->done(0));
    EXPECT_TRUE(std::isfinite(env->rewards()[0]));
  }
}

TEST(MujocoLocomotion, MassScaleGivesTheRowItsOwnHeavierModel) {
  HalfCheetahDir env(2, 1);
  const std::vector<double> tasks = {1.0, 1.5, -1.0, 1.0};
  env.set_tasks(TaskBatch{2, 2, tasks});
  EXPECT_NE(env.row_model(0), env.model());
  EXPECT_EQ(env.row_model(1), env.model());
  EXPECT_NEAR(mj_getTotalmass(env.row_model(0)), 21.0, 1e-9);
  EXPECT_NEAR(env.row_model(0)->body_subtreemass[0], 21.0, 1e-9);  // mj_setConst ran
  EXPECT_NEAR(mj_getTotalmass(env.model()), 14.0, 1e-9);           // the shared model is untouched
  // A heavier cheetah falls as fast but moves less under the same torques.
  env.reset();
  double light = 0.0, heavy = 0.0;
  for (int t = 0; t < 100; ++t) {
    std::vector<float> actions(12);
    for (int k = 0; k < 6; ++k) actions[k] = actions[6 + k] = test_action(0, t, k);
    env.step(actions.data());
    heavy += std::abs(env.row_data(0)->qvel[3]);
    light += std::abs(env.row_data(1)->qvel[3]);
  }
  EXPECT_LT(heavy, light);
  const double back[] = {1.0, 1.0};
  env.set_task(0, back);
  EXPECT_EQ(env.row_model(0), env.model());
  const double bad[] = {1.0, 0.0};
  EXPECT_THROW(env.set_task(0, bad), UsageError);
}

TEST(MujocoLocomotion, SplitsAreThePublishedRangesAndTheirExtrapolations) {
  Rng rng(3);
  const TaskBatch vel = HalfCheetahVel::task_layout().distribution().sample(500, Split::kHeldOut, rng);
  const TaskBatch vel_train = HalfCheetahVel::task_layout().distribution().sample(500, Split::kTrain, rng);
  for (int i = 0; i < 500; ++i) {
    EXPECT_GT(vel.at(i, 0), 2.0);
    EXPECT_LE(vel.at(i, 0), 3.0);
    EXPECT_GE(vel_train.at(i, 0), 0.0);
    EXPECT_LE(vel_train.at(i, 0), 2.0);
  }
  const TaskBatch dir = HalfCheetahDir::task_layout().distribution().sample(500, Split::kTrain, rng);
  int backward = 0;
  for (int i = 0; i < 500; ++i) {
    backward += dir.at(i, 0) < 0.0;
    EXPECT_EQ(dir.at(i, 1), 1.0);  // training cheetahs all weigh 14 kg
  }
  EXPECT_GT(backward, 200);  // half of 500, give or take 4 standard deviations (45)
  EXPECT_LT(backward, 300);
  const TaskBatch dir_heldout = HalfCheetahDir::task_layout().distribution().sample(500, Split::kHeldOut, rng);
  for (int i = 0; i < 500; ++i) EXPECT_NE(dir_heldout.at(i, 1), 1.0);
  // ant-dir: ProMP's directions, uniform on the circle (each quadrant about a quarter
  // of 500: 125, give or take 4 standard deviations, 39), with the model's masses;
  // held out, the same directions on ants 0.5-1.5 times as heavy.
  const TaskBatch ant = AntDir::task_layout().distribution().sample(500, Split::kTrain, rng);
  int quadrants[4] = {0, 0, 0, 0};
  for (int i = 0; i < 500; ++i) {
    ASSERT_GE(ant.at(i, 0), -kPi);
    ASSERT_LE(ant.at(i, 0), kPi);
    ++quadrants[std::min(3, static_cast<int>((ant.at(i, 0) + kPi) / (0.5 * kPi)))];
    EXPECT_EQ(ant.at(i, 1), 1.0);
  }
  for (int q = 0; q < 4; ++q) {
    EXPECT_GT(quadrants[q], 86) << "quadrant " << q;
    EXPECT_LT(quadrants[q], 164) << "quadrant " << q;
  }
  const TaskBatch ant_heldout = AntDir::task_layout().distribution().sample(500, Split::kHeldOut, rng);
  for (int i = 0; i < 500; ++i) {
    EXPECT_NE(ant_heldout.at(i, 1), 1.0);
    EXPECT_GE(ant_heldout.at(i, 1), 0.5);
    EXPECT_LE(ant_heldout.at(i, 1), 1.5);
  }
  // ant-fwd-back: MAML's half forward, half backward with the model's masses; held out,
  // ants 0.5-1.5 times as heavy.
  const TaskBatch fwd_back = AntFwdBack::task_layout().distribution().sample(500, Split::kTrain, rng);
  int ants_backward = 0;
  for (int i = 0; i < 500; ++i) {
    ants_backward += fwd_back.at(i, 0) < 0.0;
    EXPECT_EQ(fwd_back.at(i, 1), 1.0);
  }
  EXPECT_GT(ants_backward, 200);
  EXPECT_LT(ants_backward, 300);
  const TaskBatch fwd_back_heldout = AntFwdBack::task_layout().distribution().sample(500, Split::kHeldOut, rng);
  for (int i = 0; i < 500; ++i) {
    EXPECT_NE(fwd_back_heldout.at(i, 1), 1.0);
    EXPECT_GE(fwd_back_heldout.at(i, 1), 0.5);
    EXPECT_LE(fwd_back_heldout.at(i, 1), 1.5);
  }
}

// halfcheetah-legs: each leg's three actuators give `strength` of their torque, so a row
// steps as MuJoCo's mj_step with ctrl = strength × clip(action), and its reward is the
// forward velocity less the applied control's cost. At full strength it is
// halfcheetah-dir running forward, bit for bit; a task set mid-episode acts from the
// next step.
TEST(MujocoLocomotion, WeakLegsScaleTheirActuatorsControls) {
  constexpr int kRows = 2;
  HalfCheetahLegs legs(kRows, 4);
  HalfCheetahDir forward(kRows, 4);
  const std::vector<double> full = {1.0, 1.0, 1.0, 1.0};
  legs.set_tasks(TaskBatch{kRows, 2, full});
  forward.set_tasks(TaskBatch{kRows, 2, {1.0, 1.0, 1.0, 1.0}});  // (direction +1, mass 1) per row
  legs.reset();
  forward.reset();
  for (int t = 0; t < 30; ++t) {
    const auto actions = test_actions(kRows, 6, t);
    legs.step(actions.data());
    forward.step(actions.data());
    for (int r = 0; r < kRows; ++r) EXPECT_EQ(legs.rewards()[r], forward.rewards()[r]) << "step " << t;
  }
  // Weak legs from here on, in the running episodes: row 0's back leg at 0.3, row 1's
  // front leg at 0.
  const std::vector<std::vector<double>> strengths = {{0.3, 1.0}, {1.0, 0.0}};
  for (int r = 0; r < kRows; ++r) legs.set_task(r, strengths[r].data());
  std::vector<DataPtr> reference;
  for (int r = 0; r < kRows; ++r) reference.push_back(copy_row(legs, r));
  for (int t = 30; t < 130; ++t) {
    const auto actions = test_actions(kRows, 6, t);
    legs.step(actions.data());
    for (int r = 0; r < kRows; ++r) {
      const mjModel* m = legs.row_model(r);
      mjData* d = reference[r].get();
      double applied_square_sum = 0.0;
      for (int k = 0; k < 6; ++k) {
        const double strength = k < 3 ? strengths[r][0] : strengths[r][1];
        d->ctrl[k] = strength * std::clamp(static_cast<double>(actions[static_cast<size_t>(r) * 6 + k]), -1.0, 1.0);
        applied_square_sum += d->ctrl[k] * d->ctrl[k];
      }
      mj_step(m, d);
      expect_same_state(m, d, legs.row_data(r), "row " + std::to_string(r) + ", step " + std::to_string(t));
      if (HasFatalFailure()) return;
      EXPECT_NEAR(legs.rewards()[r], legs.forward_velocity(r) - 0.05 * applied_square_sum, 1e-5);
    }
  }
  // A leg with no torque: its actuators apply nothing.
  EXPECT_EQ(legs.row_data(1)->ctrl[3], 0.0);
  EXPECT_EQ(legs.row_data(1)->ctrl[5], 0.0);
  // The task layout: training legs keep 0.2–1 of their torque, held-out ones 0–1.
  Rng rng(3);
  const TaskBatch train = HalfCheetahLegs::task_layout().distribution().sample(400, Split::kTrain, rng);
  const TaskBatch heldout = HalfCheetahLegs::task_layout().distribution().sample(400, Split::kHeldOut, rng);
  double lowest_train = 1.0;
  double lowest_heldout = 1.0;
  for (int t = 0; t < 400; ++t) {
    for (int p = 0; p < 2; ++p) {
      lowest_train = std::min(lowest_train, train.at(t, p));
      lowest_heldout = std::min(lowest_heldout, heldout.at(t, p));
      EXPECT_LE(train.at(t, p), 1.0);
      EXPECT_LE(heldout.at(t, p), 1.0);
    }
  }
  EXPECT_GE(lowest_train, 0.2);
  EXPECT_LT(lowest_heldout, 0.2);
}

// The sizes in envs/mujoco/*.xml: a wide margin over what saturated and random
// actions use (running out of stack would end the process), no dropped contact or
// constraint.
TEST(MujocoLocomotion, PerRowMemoryKeepsItsMargin) {
  for (const std::string name : {"halfcheetah-dir", "ant-dir", "ant-fwd-back"}) {
    SCOPED_TRACE(name);
    auto env = make_env(name, 8, 2);
    Rng rng(5);
    env->set_tasks(env->task_distribution().sample(8, Split::kHeldOut, rng));
    env->reset();
    const int nu = env->spec().action_dim;
    std::vector<float> actions(static_cast<size_t>(8) * nu);
    for (int t = 0; t < 1000; ++t) {
      for (int r = 0; r < 8; ++r) {
        for (int k = 0; k < nu; ++k) {
          // Rows 0-3 saturate in a slow rhythm (big strides, falls), 4-7 are noise.
          actions[static_cast<size_t>(r) * nu + k] =
              r < 4 ? (std::sin(0.05 * t * (r + 1) + k) > 0 ? 1.0f : -1.0f)
                    : static_cast<float>(rng.uniform(-1.5, 1.5));
        }
      }
      env->step(actions.data());
      // mj_resetData clears the counters at every episode's start: read them each step.
      for (int r = 0; r < 8; ++r) {
        const mjData* d = env->row_data(r);
        const mjModel* m = env->row_model(r);
        ASSERT_LT(d->maxuse_stack * 4, m->nstack) << "row " << r << ", step " << t;
        ASSERT_LT(d->maxuse_efc * 2, m->njmax) << "row " << r << ", step " << t;
        ASSERT_LT(d->maxuse_con * 2, m->nconmax) << "row " << r << ", step " << t;
        ASSERT_EQ(d->warning[mjWARN_CONTACTFULL].number, 0) << "row " << r << ", step " << t;
        ASSERT_EQ(d->warning[mjWARN_CNSTRFULL].number, 0) << "row " << r << ", step " << t;
        ASSERT_EQ(d->warning[mjWARN_BADQACC].number, 0) << "row " << r << ", step " << t;
      }
    }
  }
}

}  // namespace
}  // namespace metarl::envs
