#pragma once
// MuJoCo locomotion task distributions, the benchmarks meta-RL papers report:
// halfcheetah-vel, halfcheetah-dir (MAML, ProMP, pytorch-maml-rl, garage,
// learn2learn), ant-fwd-back (MAML's ant, forward or backward along x) and ant-dir
// (ProMP's AntRandDirec2DEnv: a direction on the whole circle, on Gym's ant).
//
// Except ant-dir (below, at its class), physics, observations, rewards and horizon
// follow the environments of MAML's paper
// (Finn et al. 2017, section 5.3 and appendix A.2; code cbfinn/maml_rl@9c8e2eb,
// rllab/envs/mujoco/{half_cheetah_env_rand,half_cheetah_env_rand_direc,
// ant_env_rand_direc}.py and rllab/envs/mujoco/mujoco_env.py), the "rllab family": one
// MuJoCo step per environment step (frame skip 1: 0.01 s for the cheetah, 0.02 s for
// the ant), 200 steps, velocity = the x (and y) velocity of the whole robot's centre of
// mass at the end of the step. The models are the project's own MJCF files
// (envs/mujoco/*.xml, which cite every constant), embedded in the library at build time
// and installed under share/metarl/mujoco. Gym-based ports (pytorch-maml-rl, ProMP,
// garage) step 5 times per environment step and take the velocity as a finite
// difference of the torso's position; their returns are not comparable with MAML's.
//
// Each row is one mjData over a model shared by every row (MuJoCo steps read the
// model, never write it); a row whose task changes the physics (halfcheetah-dir's
// and ant-fwd-back's held-out mass_scale) gets its own copy of the model. Stepping
// writes into the batch buffers and allocates nothing; rows split over threads like
// every environment.
// After mj_step the quantities an observation or reward reads are brought to the
// post-step state, as rllab's forward() after each step did: the cheetah runs the
// position and velocity stages only (mj_kinematics, mj_comPos, mj_comVel,
// mj_subtreeVel); the ant needs contact forces, so it runs mj_forward and
// mj_rnePostConstraint (MuJoCo 2.x no longer computes cfrc_ext by default) and then
// puts back what mj_forward changed that the next step reads. Either way each row
// steps exactly as MuJoCo's own mj_step on one mjData.
//
// MuJoCo stays out of this header, as Box2D does out of box2d_nav.h: the model and
// data types are only declared here.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/batched_env.h"
#include "envs/task_layout.h"

struct mjModel_;
struct mjData_;

namespace metarl::envs {

// The MJCF text of a shipped model: "half_cheetah" or "ant" (envs/mujoco/NAME.xml, as
// built into the library), or "gym_ant", Gym's ant, which is ant.xml with the three
// values its header says rllab changed put back (timestep 0.01 s, MuJoCo's default
// contact solref and solimp, the start at qpos0). Throws std::invalid_argument for
// another name.
const std::string& mujoco_model_xml(const std::string& name);

// How a family of MuJoCo environments steps and starts its episodes.
enum class MujocoNoise { kNormal, kUniform };  // N(0, 1) or U(−1, 1), times a scale
struct MujocoStepping {
  int frame_skip = 1;                 // mj_step calls per environment step
  double position_noise = 0.01;       // qpos = start + position_noise · noise
  MujocoNoise position_noise_kind = MujocoNoise::kNormal;
  double velocity_noise = 0.1;        // qvel = velocity_noise · N(0, 1)
};
// rllab's MujocoEnv (MAML's environments): one MuJoCo step per environment step,
// reset_mujoco's qpos + 0.01·N(0, 1), qvel 0.1·N(0, 1).
inline constexpr MujocoStepping kRllabStepping{};
// Gym's MujocoEnv with the ant's reset_model (ProMP's environments): 5 MuJoCo steps
// per environment step, qpos + U(−0.1, 0.1), qvel 0.1·N(0, 1).
inline constexpr MujocoStepping kGymStepping{5, 0.1, MujocoNoise::kUniform, 0.1};

// The common part of the MuJoCo environments: rows, reset noise, stepping, the
// post-step evaluation and per-row models. A derived environment says what its task
// is and writes its observation, reward and termination from the row's mjData.
class MujocoLocomotion : public BatchedEnv {
 public:
  ~MujocoLocomotion() override;

  // The model row `row` steps with (the shared one unless its task scales the masses)
  // and its state: for tests that replay a row with MuJoCo's own mj_step.
  const mjModel_* row_model(int row) const;
  const mjData_* row_data(int row) const;
  // The torso's position (xpos, m) before the last step of `row`, [3].
  const double* torso_position_before_step(int row) const { return torso_before_step_.data() + 3 * row; }
  // The shared model (the task's physics at their defaults).
  const mjModel_* model() const { return model_.get(); }
  // Whether the post-step evaluation runs the whole forward pass and computes contact
  // forces (the ant), or the position and velocity stages only (the cheetah).
  bool computes_contact_forces() const { return computes_contact_forces_; }

  static constexpr int kMaxEpisodeSteps = 200;  // MAML: max_path_length = 200

  using Stepping = MujocoStepping;

  const Stepping& stepping() const { return stepping_; }
  // Seconds of simulated time per environment step: timestep × frame_skip.
  double step_seconds() const;

 protected:
  // `model_name`: mujoco_model_xml's name. The start pose is the model's first
  // keyframe when it has one, else qpos0.
  MujocoLocomotion(EnvSpec spec, TaskDistribution tasks, int batch_size, std::uint64_t seed,
                   const std::string& model_name, bool computes_contact_forces,
                   const Stepping& stepping = kRllabStepping);

  void reset_row(int row, Rng& rng) override;
  void step_rows(const float* actions, int begin, int end) override;

  // Observation, reward and terminated flag of `row` after a step (or, from
  // reset_row, the observation alone), from its post-step mjData. `ctrl` is the
  // applied control, the action clipped to the model's ctrlrange, [nu].
  virtual void write_observation(int row) = 0;
  virtual float step_reward(int row, const double* ctrl, bool* terminated) = 0;

  // Brings the derived quantities of a row's state (positions of bodies, centres of
  // mass and their velocities; the ant's contact forces) to its current qpos and qvel,
  // without changing what the next mj_step does.
  void evaluate_after_step(const mjModel_* m, mjData_* d) const;

  // Gives `row` physics whose masses and inertias are the shared model's times
  // `mass_scale` (1: the shared model again). Call from task_changed.
  void set_row_mass_scale(int row, double mass_scale);
  // Gives actuator `actuator` of `row` this fraction of its torque: the applied control
  // (d->ctrl, what MuJoCo multiplies by the gear, and what step_reward's control cost
  // reads) is the clipped action times it. 1 for every actuator unless a task weakens
  // one (halfcheetah-legs); × 1 leaves the control as it was, bit for bit.
  void set_row_actuator_strength(int row, int actuator, double strength);

  const mjData_& data(int row) const { return *data_[row]; }
  // The torso's body id (the first body after the world).
  static constexpr int kTorso = 1;

 private:
  struct ModelDeleter {
    void operator()(mjModel_* model) const;
  };
  struct DataDeleter {
    void operator()(mjData_* data) const;
  };

  std::shared_ptr<const mjModel_> model_;  // shared by every row and every env of this model
  std::vector<std::unique_ptr<mjModel_, ModelDeleter>> own_models_;  // [B]; null: the row uses model_
  std::vector<std::unique_ptr<mjData_, DataDeleter>> data_;          // [B]
  std::unique_ptr<mjData_, DataDeleter> scratch_;  // for mj_setConst on a row's own model
  std::vector<double> start_qpos_;                 // [nq], the start pose before noise
  std::vector<double> torso_before_step_;          // [B, 3], m
  std::vector<double> actuator_strength_;          // [B, nu], fractions of each actuator's torque
  bool computes_contact_forces_;
  Stepping stepping_;
};

// What the two cheetah task distributions share: the model, the observation (MAML's
// half_cheetah_env_rand*.py: qpos without the root's x, qvel, the centre of mass) and
// the forward velocity their rewards read.
class HalfCheetah : public MujocoLocomotion {
 public:
  static constexpr int kObservationDim = 20;
  static constexpr double kControlCost = 0.05;  // × Σ ctrl²; MAML: 0.5 · 1e-1

  // The robot's forward velocity at the end of the last step, m/s (its centre of mass).
  double forward_velocity(int row) const;

 protected:
  HalfCheetah(EnvSpec spec, TaskDistribution tasks, int batch_size, std::uint64_t seed);
  // The spec both share, with the task-specific name and description.
  static EnvSpec make_cheetah_spec(const char* name, const char* description);
  void write_observation(int row) override;
  // kControlCost · Σ ctrl² over the six actuators.
  static double control_cost(const double* ctrl);
};

// halfcheetah-vel: run at a target forward speed (MAML's goal velocity task).
struct HalfCheetahVelTask {
  double goal_velocity = 1.0;  // m/s; unobserved
};

class HalfCheetahVel final : public HalfCheetah {
 public:
  HalfCheetahVel(int batch_size, std::uint64_t seed);
  static EnvSpec make_spec();
  static const TaskLayout<HalfCheetahVelTask>& task_layout();

 protected:
  float step_reward(int row, const double* ctrl, bool* terminated) override;
  void task_changed(int row) override;

 private:
  std::vector<HalfCheetahVelTask> row_tasks_;  // [B]
};

// halfcheetah-legs: run forward with legs whose motors may be weak (Al-Shedivat et al.,
// ICLR 2018, weakened two of their ant's legs' torques over rounds; this is the cheetah's
// version). Each leg's three actuators (thigh, shin, foot) give `strength` of their
// torque. Unobserved: the policy finds a leg's weakness from how the robot moves.
struct HalfCheetahLegsTask {
  double back_strength = 1.0;   // fraction of the back leg's torques (bthigh, bshin, bfoot)
  double front_strength = 1.0;  // fraction of the front leg's torques (fthigh, fshin, ffoot)
};

class HalfCheetahLegs final : public HalfCheetah {
 public:
  HalfCheetahLegs(int batch_size, std::uint64_t seed);
  static EnvSpec make_spec();
  static const TaskLayout<HalfCheetahLegsTask>& task_layout();

 protected:
  float step_reward(int row, const double* ctrl, bool* terminated) override;
  void task_changed(int row) override;
};

// MAML's forward/backward tasks (halfcheetah-dir, ant-fwd-back): the task's sign is the
// direction; the held-out split adds robots lighter and heavier than any in training
// (every split's direction is ±1, so direction alone has nothing outside the training
// range).
struct ForwardBackwardTask {
  double direction = 1.0;   // ≥ 0: forward (+x), < 0: backward; unobserved
  double mass_scale = 1.0;  // every body's mass and inertia × this

  // +1 forward, −1 backward: the factor of the x velocity the reward pays for.
  double sign() const { return direction >= 0.0 ? 1.0 : -1.0; }
};

// halfcheetah-dir: run forward or backward (MAML's forward/backward task).

class HalfCheetahDir final : public HalfCheetah {
 public:
  HalfCheetahDir(int batch_size, std::uint64_t seed);
  static EnvSpec make_spec();
  static const TaskLayout<ForwardBackwardTask>& task_layout();

 protected:
  float step_reward(int row, const double* ctrl, bool* terminated) override;
  void task_changed(int row) override;

 private:
  std::vector<ForwardBackwardTask> row_tasks_;  // [B]
};

// MAML's ant (rllab's, as MAML's ant_env_rand_direc.py steps it): the model, the
// observation (qpos, qvel, clipped contact forces, the torso's orientation and the
// centre of mass), the reward's costs and survival bonus, and the termination when the
// torso leaves 0.2–1 m of height. A derived task says which velocity the reward pays
// for (ant-fwd-back's; ant-dir is ProMP's ant, on Gym's physics, below).
class Ant : public MujocoLocomotion {
 public:
  static constexpr int kObservationDim = 125;
  static constexpr double kControlCost = 0.005;    // × Σ ctrl²; MAML: 0.5 · 1e-2 · Σ(a / 150)²
  static constexpr double kContactCost = 0.0005;   // × Σ clip(cfrc_ext, −1, 1)²; MAML: 0.5 · 1e-3
  static constexpr double kSurviveReward = 0.05;   // per step
  static constexpr double kMinHeight = 0.2;        // m; the torso below or above ends the episode
  static constexpr double kMaxHeight = 1.0;

  // The velocity the row's task rewards at the end of the last step, m/s (of the centre of mass).
  virtual double rewarded_velocity(int row) const = 0;

 protected:
  Ant(EnvSpec spec, TaskDistribution tasks, int batch_size, std::uint64_t seed);
  // The spec every ant shares, with the task-specific name and description.
  static EnvSpec make_ant_spec(const char* name, const std::string& description);
  void write_observation(int row) override;
  float step_reward(int row, const double* ctrl, bool* terminated) override;
};

// ant-dir: ProMP's AntRandDirec2DEnv (Rothfuss et al. 2019; jonasrothfuss/ProMP@93ae339,
// meta_policy_search/envs/mujoco_envs/ant_rand_direc_2d.py): run in a direction drawn
// uniformly on the circle, on Gym's ant as ProMP stepped it (Gym's MujocoEnv: the
// gym_ant model, 0.01 s × 5 MuJoCo steps per environment step, Gym's reset noise) with
// its reward and observation. Held out: ants 0.5–1.5 times as heavy (ProMP has no
// held-out split).
//
// Where this differs from ProMP's: MuJoCo 2.2.2 instead of 1.50 (2.x's solver defaults
// and its solimp's two extra numbers at their defaults); the torso's displacement is
// measured over the 5 MuJoCo steps of the environment step, where mujoco-py's xpos,
// read after mj_step, lags one MuJoCo step behind qpos (the same 0.05 s shifted by
// 0.01 s, except on an episode's first step, where Gym's reset brought xpos up to date
// and ProMP's displacement spans 4 MuJoCo steps); contact forces are those of the
// state after the step; a step that MuJoCo resets (an unstable state) ends the episode
// with no displacement. Episodes may last 200 steps; ProMP's protocol stops at 100
// (`horizon: 100`, configs/promp-protocol/ant-dir-promp.yaml).
struct AntDirTask {
  double direction = 0.0;   // rad from +x, counter-clockwise; unobserved
  double mass_scale = 1.0;  // every body's mass and inertia × this; held out only
};

class AntDir final : public MujocoLocomotion {
 public:
  static constexpr int kObservationDim = 111;
  static constexpr double kControlCost = 0.5;      // × Σ ctrl²
  static constexpr double kContactCost = 0.0005;   // × Σ clip(cfrc_ext, −1, 1)²
  static constexpr double kSurviveReward = 1.0;    // per step
  static constexpr double kMinHeight = 0.0;        // m; the torso outside [0, 1] m ends the episode
  static constexpr double kMaxHeight = 1.0;

  AntDir(int batch_size, std::uint64_t seed);
  static EnvSpec make_spec();
  static const TaskLayout<AntDirTask>& task_layout();
  // The torso's displacement along the task's direction over the last step divided by
  // its duration (step_seconds()), m/s: what the reward pays for.
  double velocity_along_direction(int row) const;

 protected:
  void write_observation(int row) override;
  float step_reward(int row, const double* ctrl, bool* terminated) override;
  void task_changed(int row) override;

 private:
  std::vector<AntDirTask> row_tasks_;  // [B]
};

// ant-fwd-back: run forward or backward along x (MAML's ant forward/backward task,
// ant_env_rand_direc.py), a ForwardBackwardTask as halfcheetah-dir's.

class AntFwdBack final : public Ant {
 public:
  AntFwdBack(int batch_size, std::uint64_t seed);
  static EnvSpec make_spec();
  static const TaskLayout<ForwardBackwardTask>& task_layout();
  // ± the centre of mass's x velocity at the end of the last step, m/s.
  double rewarded_velocity(int row) const override;

 protected:
  void task_changed(int row) override;

 private:
  std::vector<ForwardBackwardTask> row_tasks_;  // [B]
};

}  // namespace metarl::envs
