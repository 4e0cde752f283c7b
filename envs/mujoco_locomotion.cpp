#include "envs/mujoco_locomotion.h"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>

#include "envs/errors.h"

namespace metarl::envs {

// The model files' text, generated from envs/mujoco/*.xml (envs/mujoco_model_files.cpp.in).
extern const char kMujocoHalfCheetahXml[];
extern const char kMujocoAntXml[];

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr float kInf = std::numeric_limits<float>::infinity();
// Controls and coordinates copied on the stack per step; both models have fewer.
constexpr int kMaxControls = 16;
constexpr int kMaxCoordinates = 64;

// A standard normal draw from the row's stream (Box–Muller; 1 − u keeps the log's
// argument in (0, 1]).
double standard_normal(Rng& rng) {
  const double u1 = 1.0 - rng.uniform();
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

// Warnings MuJoCo counts when a step is not a continuation of the state: it zeroes
// controls that are not finite (mjWARN_BADCTRL) and resets an mjData whose positions,
// velocities or accelerations blew up (mj_checkPos, mj_checkVel, mj_checkAcc).
int instability_warnings(const mjData* d) {
  return d->warning[mjWARN_BADCTRL].number + d->warning[mjWARN_BADQPOS].number +
         d->warning[mjWARN_BADQVEL].number + d->warning[mjWARN_BADQACC].number;
}

// MuJoCo's default warning handler prints to stdout and appends to MUJOCO_LOG.TXT in
// the working directory; a run should not leave files where it was started, nor mix
// into a table on stdout. Installed only where the program set no handler of its own.
void warn_on_stderr(const char* message) { std::fprintf(stderr, "metarl: MuJoCo warning: %s\n", message); }

// Parses a shipped model once per process; every environment of that model shares it.
std::shared_ptr<const mjModel> shared_model(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const mjModel>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (mju_user_warning == nullptr) mju_user_warning = warn_on_stderr;
  if (auto model = loaded[name].lock()) return model;
  const std::string& xml = mujoco_model_xml(name);
  // The text goes through MuJoCo's virtual file system: nothing is read from disk,
  // so the library needs no data directory. mjVFS holds 2000 names of 1000 bytes:
  // on the heap.
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  const std::string file = name + ".xml";
  if (mj_makeEmptyFileVFS(vfs.get(), file.c_str(), static_cast<int>(xml.size())) != 0) {
    throw std::runtime_error("MuJoCo model '" + name + "': could not make its in-memory file");
  }
  const int index = mj_findFileVFS(vfs.get(), file.c_str());
  std::memcpy(vfs->filedata[index], xml.data(), xml.size());
  char error[1000] = "";
  mjModel* raw = mj_loadXML(file.c_str(), vfs.get(), error, sizeof(error));
  mj_deleteVFS(vfs.get());
  if (raw == nullptr) throw std::runtime_error("MuJoCo model '" + name + "' does not load: " + error);
  std::shared_ptr<const mjModel> model(raw, [](const mjModel* m) { mj_deleteModel(const_cast<mjModel*>(m)); });
  loaded[name] = model;
  return model;
}

float clip_unit(double value) { return static_cast<float>(std::clamp(value, -1.0, 1.0)); }

// Bounds of observations whose components are positions and velocities (unbounded).
void unbounded_observation(EnvSpec& spec) {
  spec.observation_low.assign(static_cast<size_t>(spec.observation_dim), -kInf);
  spec.observation_high.assign(static_cast<size_t>(spec.observation_dim), kInf);
}

double control_square_sum(const double* ctrl, int nu) {
  double sum = 0.0;
  for (int k = 0; k < nu; ++k) sum += ctrl[k] * ctrl[k];
  return sum;
}

// What every locomotion spec has: `action_dim` joint torques in [-1, 1] (times each
// motor's gear), 200 steps from a noisy start (the row's stream), an unbounded
// observation of `observation_dim` whose entries [unit_begin, unit_end) (the ants'
// clipped contact forces and rotations) lie in [-1, 1].
EnvSpec locomotion_spec(const std::string& name, const std::string& description, int observation_dim, int action_dim,
                        int unit_begin = 0, int unit_end = 0) {
  EnvSpec spec;
  spec.name = name;
  spec.description = description;
  spec.observation_dim = observation_dim;
  spec.action_dim = action_dim;
  spec.action_low.assign(static_cast<size_t>(action_dim), -1.0f);
  spec.action_high.assign(static_cast<size_t>(action_dim), 1.0f);
  unbounded_observation(spec);
  for (int i = unit_begin; i < unit_end; ++i) {
    spec.observation_low[i] = -1.0f;
    spec.observation_high[i] = 1.0f;
  }
  spec.max_episode_steps = MujocoLocomotion::kMaxEpisodeSteps;
  spec.deterministic_reset = false;
  return spec;
}

// Σ clip(cfrc_ext, −1, 1)² over every body: the ants' contact cost before its weight.
double clipped_contact_square_sum(const mjModel* m, const mjData& d) {
  double sum = 0.0;
  for (int i = 0; i < 6 * m->nbody; ++i) {
    const double f = std::clamp(d.cfrc_ext[i], -1.0, 1.0);
    sum += f * f;
  }
  return sum;
}

// Whether an ant's state is finite with its torso's height (qpos[2], m) in [low, high]:
// the ants' condition to go on. (MuJoCo resets a state that stopped being finite before
// this reads it; step_rows ends such an episode itself.)
bool finite_with_torso_between(const mjModel* m, const mjData& d, double low, double high) {
  for (int i = 0; i < m->nq; ++i) {
    if (!std::isfinite(d.qpos[i])) return false;
  }
  for (int i = 0; i < m->nv; ++i) {
    if (!std::isfinite(d.qvel[i])) return false;
  }
  return d.qpos[2] >= low && d.qpos[2] <= high;
}

// `text` with its one occurrence of `from` replaced by `to`; a logic_error if ant.xml
// no longer has it exactly once (gym_ant would silently stop being Gym's).
std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) {
    throw std::logic_error("envs/mujoco/ant.xml: expected '" + from + "' once, to derive Gym's ant from it");
  }
  return text.replace(at, from.size(), to);
}

// Gym's ant (openai/gym v0.10.5 gym/envs/mujoco/assets/ant.xml, which ProMP loads):
// ant.xml's body with the three values that file's header lists as rllab's put back.
std::string gym_ant_xml(const std::string& ant) {
  std::string gym = replace_once(ant, "<option timestep=\"0.02\" integrator=\"RK4\"/>",
                                 "<option timestep=\"0.01\" integrator=\"RK4\"/>");
  gym = replace_once(gym, " solref=\".02 1\" solimp=\".8 .8 .01\"", "");  // MuJoCo's defaults
  const size_t key = gym.find("<keyframe>");
  const size_t key_end = gym.find("</keyframe>");
  if (key == std::string::npos || key_end == std::string::npos) {
    throw std::logic_error("envs/mujoco/ant.xml: expected its <keyframe>, to derive Gym's ant from it");
  }
  // Gym starts at qpos0: the torso at 0.75 m, every joint at 0.
  return gym.erase(key, key_end + std::string("</keyframe>").size() - key);
}

}  // namespace

const std::string& mujoco_model_xml(const std::string& name) {
  static const std::string half_cheetah = kMujocoHalfCheetahXml;
  static const std::string ant = kMujocoAntXml;
  static const std::string gym_ant = gym_ant_xml(ant);
  if (name == "half_cheetah") return half_cheetah;
  if (name == "ant") return ant;
  if (name == "gym_ant") return gym_ant;
  throw std::invalid_argument("no shipped MuJoCo model '" + quoted_value(name) +
                              "'; the models are half_cheetah, ant, gym_ant");
}

void MujocoLocomotion::ModelDeleter::operator()(mjModel_* model) const { mj_deleteModel(model); }
void MujocoLocomotion::DataDeleter::operator()(mjData_* data) const { mj_deleteData(data); }

MujocoLocomotion::MujocoLocomotion(EnvSpec spec, TaskDistribution tasks, int batch_size, std::uint64_t seed,
                                   const std::string& model_name, bool computes_contact_forces,
                                   const Stepping& stepping)
    : BatchedEnv(std::move(spec), std::move(tasks), batch_size, seed),
      model_(shared_model(model_name)),
      own_models_(static_cast<size_t>(batch_size)),
      torso_before_step_(static_cast<size_t>(3 * batch_size), 0.0),
      computes_contact_forces_(computes_contact_forces),
      stepping_(stepping) {
  if (stepping_.frame_skip < 1 || !(stepping_.position_noise >= 0.0) || !(stepping_.velocity_noise >= 0.0)) {
    throw std::logic_error("MuJoCo stepping: frame_skip must be at least 1 and the noise scales finite and >= 0");
  }
  const mjModel* m = model_.get();
  if (m->nu != this->spec().action_dim || m->nu > kMaxControls || m->nq > kMaxCoordinates) {
    throw std::logic_error("MuJoCo model '" + model_name + "': " + std::to_string(m->nu) + " actuators (the environment " +
                           "declares " + std::to_string(this->spec().action_dim) + ", at most " +
                           std::to_string(kMaxControls) + ") and " + std::to_string(m->nq) +
                           " coordinates (at most " + std::to_string(kMaxCoordinates) + ")");
  }
  data_.reserve(static_cast<size_t>(batch_size));
  for (int r = 0; r < batch_size; ++r) {
    data_.emplace_back(mj_makeData(m));
    if (!data_.back()) throw std::runtime_error("MuJoCo: out of memory for row " + std::to_string(r) + "'s data");
  }
  actuator_strength_.assign(static_cast<size_t>(batch_size) * m->nu, 1.0);
  start_qpos_.assign(m->qpos0, m->qpos0 + m->nq);
  if (m->nkey > 0) start_qpos_.assign(m->key_qpos, m->key_qpos + m->nq);  // the first keyframe
}

MujocoLocomotion::~MujocoLocomotion() = default;

void MujocoLocomotion::set_row_actuator_strength(int row, int actuator, double strength) {
  const int nu = model_->nu;
  if (actuator < 0 || actuator >= nu || !(strength >= 0.0)) {
    throw std::logic_error("MuJoCo actuator strength of row " + std::to_string(row) + ": actuator " +
                           std::to_string(actuator) + " of " +
                           std::to_string(nu) + ", strength " + std::to_string(strength) + " (expected >= 0)");
  }
  actuator_strength_[static_cast<size_t>(row) * nu + actuator] = strength;
}

double MujocoLocomotion::step_seconds() const { return model_->opt.timestep * stepping_.frame_skip; }

const mjModel_* MujocoLocomotion::row_model(int row) const {
  return own_models_[row] ? own_models_[row].get() : model_.get();
}

const mjData_* MujocoLocomotion::row_data(int row) const { return data_[row].get(); }

void MujocoLocomotion::set_row_mass_scale(int row, double mass_scale) {
  if (!(mass_scale > 0.0) || !std::isfinite(mass_scale)) {
    throw UsageError(spec().name + ": task parameter mass_scale = " + std::to_string(mass_scale) +
                     "; expected a positive finite factor");
  }
  if (mass_scale == 1.0) {
    own_models_[row].reset();
    return;
  }
  const mjModel* shared = model_.get();
  if (!own_models_[row]) {
    own_models_[row].reset(mj_copyModel(nullptr, shared));
    if (!own_models_[row]) throw std::runtime_error("MuJoCo: out of memory for row " + std::to_string(row) + "'s model");
  }
  mjModel* m = own_models_[row].get();
  for (int b = 0; b < m->nbody; ++b) {
    m->body_mass[b] = shared->body_mass[b] * mass_scale;
    for (int k = 0; k < 3; ++k) m->body_inertia[3 * b + k] = shared->body_inertia[3 * b + k] * mass_scale;
  }
  // The constants derived from masses (subtree masses, which the centre-of-mass
  // velocity divides by; the constraint solver's inverse weights and mean inertia), as
  // the compiler would have set them for the heavier model. mj_setConst works on a
  // scratch mjData, so the row's own state (a task changed mid-episode) is kept.
  if (!scratch_) scratch_.reset(mj_makeData(shared));
  mj_setConst(m, scratch_.get());
}

void MujocoLocomotion::evaluate_after_step(const mjModel* m, mjData* d) const {
  if (!computes_contact_forces_) {
    // Positions and velocities only: these stages write nothing the next mj_step reads.
    mj_kinematics(m, d);
    mj_comPos(m, d);
    mj_comVel(m, d);
    mj_subtreeVel(m, d);
    return;
  }
  // The whole forward pass, for the contact forces. It changes two things the next
  // mj_step reads: mj_kinematics normalises the root quaternion in qpos in place (a
  // last-bit change) and the constraint solver's warm start moves. Both are put back,
  // so the row steps exactly as mj_step alone would (tests/envs/mujoco_locomotion_test.cpp).
  double qpos[kMaxCoordinates];
  double warmstart[kMaxCoordinates];
  std::copy(d->qpos, d->qpos + m->nq, qpos);
  std::copy(d->qacc_warmstart, d->qacc_warmstart + m->nv, warmstart);
  mj_forward(m, d);
  mj_rnePostConstraint(m, d);
  mj_subtreeVel(m, d);
  std::copy(qpos, qpos + m->nq, d->qpos);
  std::copy(warmstart, warmstart + m->nv, d->qacc_warmstart);
}

void MujocoLocomotion::reset_row(int row, Rng& rng) {
  const mjModel* m = row_model(row);
  mjData* d = data_[row].get();
  // A fresh state (time, warm start, controls, contacts), so that no episode carries
  // anything into the next one.
  mj_resetData(m, d);
  for (int i = 0; i < m->nq; ++i) {
    const double noise = stepping_.position_noise_kind == MujocoNoise::kUniform ? rng.uniform(-1.0, 1.0) : standard_normal(rng);
    d->qpos[i] = start_qpos_[i] + stepping_.position_noise * noise;
  }
  for (int i = 0; i < m->nv; ++i) d->qvel[i] = stepping_.velocity_noise * standard_normal(rng);
  // rllab and Gym added the noise to the ant's root quaternion too and let MuJoCo
  // normalise it; normalising here keeps the observed qpos a unit quaternion from the start.
  for (int j = 0; j < m->njnt; ++j) {
    if (m->jnt_type[j] == mjJNT_FREE) mju_normalize4(d->qpos + m->jnt_qposadr[j] + 3);
  }
  evaluate_after_step(m, d);
  write_observation(row);
}

void MujocoLocomotion::step_rows(const float* actions, int begin, int end) {
  const int nu = spec().action_dim;
  float* reward = reward_buffer();
  std::uint8_t* terminated = terminated_buffer();
  for (int r = begin; r < end; ++r) {
    const mjModel* m = row_model(r);
    mjData* d = data_[r].get();
    const float* action = actions + static_cast<size_t>(r) * nu;
    const double* strength = actuator_strength_.data() + static_cast<size_t>(r) * nu;
    for (int k = 0; k < nu; ++k) {
      // rllab's normalize() clipped the policy's action to the control range; a weak
      // actuator (set_row_actuator_strength) gives that fraction of it.
      d->ctrl[k] = strength[k] * std::clamp(static_cast<double>(action[k]), m->actuator_ctrlrange[2 * k],
                                            m->actuator_ctrlrange[2 * k + 1]);
    }
    // MuJoCo zeroes controls that are not finite and resets the state itself
    // (mj_resetData, to qpos0) when positions, velocities or accelerations blow up,
    // counting a warning: that step ends the episode (terminated), since what follows
    // is not its continuation.
    std::copy(d->xpos + 3 * kTorso, d->xpos + 3 * kTorso + 3, torso_before_step_.begin() + 3 * r);
    const int instabilities_before = instability_warnings(d);
    bool reset_by_mujoco = false;
    for (int frame = 0; frame < stepping_.frame_skip && !reset_by_mujoco; ++frame) {
      mj_step(m, d);
      reset_by_mujoco = instability_warnings(d) != instabilities_before;
    }
    // mj_step leaves positions, centres of mass and forces at the state before the
    // step; bring what the observation and reward read to the state after it.
    evaluate_after_step(m, d);
    // A state MuJoCo reset is not where the step went: no displacement is rewarded.
    if (reset_by_mujoco) std::copy(d->xpos + 3 * kTorso, d->xpos + 3 * kTorso + 3, torso_before_step_.begin() + 3 * r);
    bool done = false;
    reward[r] = step_reward(r, d->ctrl, &done);
    terminated[r] = done || reset_by_mujoco;
    write_observation(r);
  }
}

// ---------------------------------------------------------------------------------
// The cheetahs

HalfCheetah::HalfCheetah(EnvSpec spec, TaskDistribution tasks, int batch_size, std::uint64_t seed)
    : MujocoLocomotion(std::move(spec), std::move(tasks), batch_size, seed, "half_cheetah",
                       /*computes_contact_forces=*/false) {}

EnvSpec HalfCheetah::make_cheetah_spec(const char* name, const char* description) {
  return locomotion_spec(name, description, kObservationDim, 6);
}

double HalfCheetah::forward_velocity(int row) const { return data(row).subtree_linvel[3 * kTorso]; }

double HalfCheetah::control_cost(const double* ctrl) { return kControlCost * control_square_sum(ctrl, 6); }

void HalfCheetah::write_observation(int row) {
  // qpos without the root's x (8: root z, root angle, 6 joint angles; m, rad), qvel (9:
  // m/s, rad/s) and the whole robot's centre of mass (3, m).
  const mjModel* m = row_model(row);
  const mjData& d = data(row);
  float* obs = observation_row(row);
  int k = 0;
  for (int i = 1; i < m->nq; ++i) obs[k++] = static_cast<float>(d.qpos[i]);
  for (int i = 0; i < m->nv; ++i) obs[k++] = static_cast<float>(d.qvel[i]);
  for (int i = 0; i < 3; ++i) obs[k++] = static_cast<float>(d.subtree_com[3 * kTorso + i]);
}

HalfCheetahVel::HalfCheetahVel(int batch_size, std::uint64_t seed)
    : HalfCheetah(make_spec(), task_layout().distribution(), batch_size, seed),
      row_tasks_(static_cast<size_t>(batch_size)) {
  // The base set the default tasks before this object existed.
  for (int r = 0; r < batch_size; ++r) task_changed(r);
}

EnvSpec HalfCheetahVel::make_spec() {
  return make_cheetah_spec(
      "halfcheetah-vel",
      "MAML's half-cheetah goal velocity (MuJoCo, planar cheetah, 0.01 s per step, 200 steps). Observation: "
      "qpos without x (8), qvel (9), centre of mass (3). Action: 6 joint torques / gear, clipped to [-1, 1]. "
      "Reward: -|centre-of-mass x velocity - goal velocity| - 0.05 sum(action^2). The goal is unobserved.");
}

const TaskLayout<HalfCheetahVelTask>& HalfCheetahVel::task_layout() {
  // MAML samples goal velocities uniformly in [0, 2] m/s (section 5.3); held out: the
  // faster goals of (2, 3] m/s.
  static const TaskLayout<HalfCheetahVelTask> layout({
      {&HalfCheetahVelTask::goal_velocity, "goal_velocity", "m/s",
       "forward speed to hold (centre of mass); unobserved, inferred from rewards", 0.0, 2.0, 0.0, 3.0},
  });
  return layout;
}

void HalfCheetahVel::task_changed(int row) { row_tasks_[row] = task_layout().read(task(row)); }

float HalfCheetahVel::step_reward(int row, const double* ctrl, bool* terminated) {
  *terminated = false;
  const double speed_error = std::abs(forward_velocity(row) - row_tasks_[row].goal_velocity);
  return static_cast<float>(-speed_error - control_cost(ctrl));
}

HalfCheetahLegs::HalfCheetahLegs(int batch_size, std::uint64_t seed)
    : HalfCheetah(make_spec(), task_layout().distribution(), batch_size, seed) {
  for (int r = 0; r < batch_size; ++r) task_changed(r);
}

EnvSpec HalfCheetahLegs::make_spec() {
  return make_cheetah_spec(
      "halfcheetah-legs",
      "Half-cheetah running forward with weak legs (MuJoCo, MAML's planar cheetah, 0.01 s per step, 200 steps; "
      "after Al-Shedivat et al.'s weakening legs). Observation: qpos without x (8), qvel (9), centre of mass (3). "
      "Action: 6 joint torques / gear, clipped to [-1, 1], each leg's three then times its strength. Reward: "
      "centre-of-mass x velocity - 0.05 sum(applied control^2). Strengths unobserved; held out: down to 0.");
}

const TaskLayout<HalfCheetahLegsTask>& HalfCheetahLegs::task_layout() {
  // Training legs keep 0.2–1 of their torque, held-out ones 0–1 (a leg with no torque
  // at all, and nearly so, is never trained on). A task process (envs/task_process.h)
  // weakens a leg round by round: back_strength=scale(0.8).
  static const TaskLayout<HalfCheetahLegsTask> layout({
      {&HalfCheetahLegsTask::back_strength, "back_strength", "fraction",
       "the back leg's torques (thigh, shin, foot) times this; unobserved", 0.2, 1.0, 0.0, 1.0},
      {&HalfCheetahLegsTask::front_strength, "front_strength", "fraction",
       "the front leg's torques (thigh, shin, foot) times this; unobserved", 0.2, 1.0, 0.0, 1.0},
  });
  return layout;
}

void HalfCheetahLegs::task_changed(int row) {
  const HalfCheetahLegsTask legs = task_layout().read(task(row));
  // Actuators in half_cheetah.xml's order: bthigh, bshin, bfoot, fthigh, fshin, ffoot.
  for (int k = 0; k < 3; ++k) set_row_actuator_strength(row, k, legs.back_strength);
  for (int k = 3; k < 6; ++k) set_row_actuator_strength(row, k, legs.front_strength);
}

float HalfCheetahLegs::step_reward(int row, const double* ctrl, bool* terminated) {
  *terminated = false;
  return static_cast<float>(forward_velocity(row) - control_cost(ctrl));
}

HalfCheetahDir::HalfCheetahDir(int batch_size, std::uint64_t seed)
    : HalfCheetah(make_spec(), task_layout().distribution(), batch_size, seed),
      row_tasks_(static_cast<size_t>(batch_size)) {
  for (int r = 0; r < batch_size; ++r) task_changed(r);
}

EnvSpec HalfCheetahDir::make_spec() {
  return make_cheetah_spec(
      "halfcheetah-dir",
      "MAML's half-cheetah forward/backward (MuJoCo, planar cheetah, 0.01 s per step, 200 steps). Observation: "
      "qpos without x (8), qvel (9), centre of mass (3). Action: 6 joint torques / gear, clipped to [-1, 1]. "
      "Reward: d * centre-of-mass x velocity - 0.05 sum(action^2), d = +1 or -1, unobserved. Held out: "
      "cheetahs 0.5-1.5 times as heavy.");
}

const TaskLayout<ForwardBackwardTask>& HalfCheetahDir::task_layout() {
  // MAML draws g ~ U(0, 2) and runs backward when g < 1 (half_cheetah_env_rand_direc.py):
  // the same as a uniform direction value whose sign decides, with probability 1/2
  // each way. Every training cheetah has the model's masses (14 kg); held-out tasks
  // scale them (and the inertias) by 0.5–1.5, with the same motors.
  static const TaskLayout<ForwardBackwardTask> layout({
      {&ForwardBackwardTask::direction, "direction", "sign",
       "run forward (value >= 0, reward +x velocity) or backward (< 0, reward -x velocity); unobserved", -1.0, 1.0,
       -1.0, 1.0},
      {&ForwardBackwardTask::mass_scale, "mass_scale", "factor",
       "every body's mass and inertia times this (14 kg at 1); training cheetahs all weigh 14 kg", 1.0, 1.0, 0.5,
       1.5},
  });
  return layout;
}

void HalfCheetahDir::task_changed(int row) {
  row_tasks_[row] = task_layout().read(task(row));
  set_row_mass_scale(row, row_tasks_[row].mass_scale);
}

float HalfCheetahDir::step_reward(int row, const double* ctrl, bool* terminated) {
  *terminated = false;
  return static_cast<float>(row_tasks_[row].sign() * forward_velocity(row) - control_cost(ctrl));
}

// ---------------------------------------------------------------------------------
// The ants

Ant::Ant(EnvSpec spec, TaskDistribution tasks, int batch_size, std::uint64_t seed)
    : MujocoLocomotion(std::move(spec), std::move(tasks), batch_size, seed, "ant",
                       /*computes_contact_forces=*/true) {}

EnvSpec Ant::make_ant_spec(const char* name, const std::string& description) {
  // Clipped contact forces and the rotation matrix's entries lie in [-1, 1].
  return locomotion_spec(name,
                  description +
                      " Observation: qpos (15), qvel (14), contact forces clipped to [-1, 1] (84), torso orientation "
                      "(9), centre of mass (3). Action: 8 joint torques / 150 N m, clipped to [-1, 1]. Terminated "
                      "when the torso leaves 0.2-1 m of height.",
                  kObservationDim, 8, 29, 29 + 84 + 9);
}

void Ant::write_observation(int row) {
  const mjModel* m = row_model(row);
  const mjData& d = data(row);
  float* obs = observation_row(row);
  int k = 0;
  for (int i = 0; i < m->nq; ++i) obs[k++] = static_cast<float>(d.qpos[i]);
  for (int i = 0; i < m->nv; ++i) obs[k++] = static_cast<float>(d.qvel[i]);
  for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = clip_unit(d.cfrc_ext[i]);
  for (int i = 0; i < 9; ++i) obs[k++] = static_cast<float>(d.xmat[9 * kTorso + i]);
  for (int i = 0; i < 3; ++i) obs[k++] = static_cast<float>(d.subtree_com[3 * kTorso + i]);
}

float Ant::step_reward(int row, const double* ctrl, bool* terminated) {
  const mjModel* m = row_model(row);
  const mjData& d = data(row);
  const double contact = clipped_contact_square_sum(m, d);
  // MAML's ant_env_rand_direc.py: done unless the state is finite and the torso's
  // height is within [0.2, 1] m.
  *terminated = !finite_with_torso_between(m, d, kMinHeight, kMaxHeight);
  return static_cast<float>(rewarded_velocity(row) - kControlCost * control_square_sum(ctrl, spec().action_dim) -
                            kContactCost * contact + kSurviveReward);
}

// ant-dir

AntDir::AntDir(int batch_size, std::uint64_t seed)
    : MujocoLocomotion(make_spec(), task_layout().distribution(), batch_size, seed, "gym_ant",
                       /*computes_contact_forces=*/true, kGymStepping),
      row_tasks_(static_cast<size_t>(batch_size)) {
  for (int r = 0; r < batch_size; ++r) task_changed(r);
}

EnvSpec AntDir::make_spec() {
  // Clipped contact forces after qpos without x, y (13) and qvel (14).
  return locomotion_spec(
      "ant-dir",
      "ProMP's ant running in a direction of the plane (AntRandDirec2DEnv: Gym's ant, MuJoCo quadruped, 0.01 s x 5 "
      "per step, 200 steps). Reward: torso displacement along the direction / 0.05 s - 0.5 sum(action^2) - 0.0005 "
      "sum(contact^2) + 1. The direction (uniform on the circle) is unobserved. Held out: ants 0.5-1.5 times as "
      "heavy. Observation: qpos without x, y (13), qvel (14), contact forces clipped to [-1, 1] (84). Action: 8 "
      "joint torques / 150 N m, clipped to [-1, 1]. Terminated when the torso leaves 0-1 m of height.",
      kObservationDim, 8, 27, 27 + 84);
}

const TaskLayout<AntDirTask>& AntDir::task_layout() {
  // ProMP draws a direction as a normalised 2-D standard normal, uniform on the circle;
  // here as its angle. ProMP trains and tests on the same distribution; the held-out
  // split adds ants lighter and heavier than any in training, as ant-fwd-back's does.
  static const TaskLayout<AntDirTask> layout({
      {&AntDirTask::direction, "direction", "rad",
       "direction to run in, counter-clockwise from +x; unobserved, inferred from rewards", -kPi, kPi, -kPi, kPi},
      {&AntDirTask::mass_scale, "mass_scale", "factor",
       "every body's mass and inertia times this; training ants all have the model's masses", 1.0, 1.0, 0.5, 1.5},
  });
  return layout;
}

void AntDir::task_changed(int row) {
  row_tasks_[row] = task_layout().read(task(row));
  set_row_mass_scale(row, row_tasks_[row].mass_scale);
}

double AntDir::velocity_along_direction(int row) const {
  const double* after = data(row).xpos + 3 * kTorso;
  const double* before = torso_position_before_step(row);
  const double angle = row_tasks_[row].direction;
  return (std::cos(angle) * (after[0] - before[0]) + std::sin(angle) * (after[1] - before[1])) / step_seconds();
}

void AntDir::write_observation(int row) {
  // Gym's Ant-v2 observation as ProMP's _get_obs has it: qpos without the root's x and
  // y (13), qvel (14), cfrc_ext clipped to [-1, 1] (14 bodies x 6 = 84).
  const mjModel* m = row_model(row);
  const mjData& d = data(row);
  float* obs = observation_row(row);
  int k = 0;
  for (int i = 2; i < m->nq; ++i) obs[k++] = static_cast<float>(d.qpos[i]);
  for (int i = 0; i < m->nv; ++i) obs[k++] = static_cast<float>(d.qvel[i]);
  for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = clip_unit(d.cfrc_ext[i]);
}

float AntDir::step_reward(int row, const double* ctrl, bool* terminated) {
  const mjModel* m = row_model(row);
  const mjData& d = data(row);
  const double contact = clipped_contact_square_sum(m, d);
  // ProMP: done unless the state is finite and 0 <= torso height <= 1 m.
  *terminated = !finite_with_torso_between(m, d, kMinHeight, kMaxHeight);
  return static_cast<float>(velocity_along_direction(row) - kControlCost * control_square_sum(ctrl, spec().action_dim) -
                            kContactCost * contact + kSurviveReward);
}

// ant-fwd-back

AntFwdBack::AntFwdBack(int batch_size, std::uint64_t seed)
    : Ant(make_spec(), task_layout().distribution(), batch_size, seed), row_tasks_(static_cast<size_t>(batch_size)) {
  for (int r = 0; r < batch_size; ++r) task_changed(r);
}

EnvSpec AntFwdBack::make_spec() {
  return make_ant_spec("ant-fwd-back",
                       "MAML's ant forward/backward (MuJoCo quadruped, 0.02 s per step, 200 steps; rllab's ant, "
                       "maml_rl's ant_env_rand_direc.py). Reward: d * centre-of-mass x velocity - 0.005 "
                       "sum(action^2) - 0.0005 sum(contact^2) + 0.05, d = +1 or -1, unobserved. Held out: ants "
                       "0.5-1.5 times as heavy.");
}

const TaskLayout<ForwardBackwardTask>& AntFwdBack::task_layout() {
  // MAML draws g ~ U(0, 3) and runs backward when g < 1.5 (ant_env_rand_direc.py): a
  // direction whose sign decides, with probability 1/2 each way. Every training ant has
  // the model's masses; held-out tasks scale them (and the inertias) by 0.5–1.5, with
  // the same motors, as halfcheetah-dir's do.
  static const TaskLayout<ForwardBackwardTask> layout({
      {&ForwardBackwardTask::direction, "direction", "sign",
       "run forward (value >= 0, reward +x velocity) or backward (< 0, reward -x velocity); unobserved", -1.0, 1.0,
       -1.0, 1.0},
      {&ForwardBackwardTask::mass_scale, "mass_scale", "factor",
       "every body's mass and inertia times this; training ants all have the model's masses", 1.0, 1.0, 0.5, 1.5},
  });
  return layout;
}

void AntFwdBack::task_changed(int row) {
  row_tasks_[row] = task_layout().read(task(row));
  set_row_mass_scale(row, row_tasks_[row].mass_scale);
}

double AntFwdBack::rewarded_velocity(int row) const {
  return row_tasks_[row].sign() * data(row).subtree_linvel[3 * kTorso];
}

}  // namespace metarl::envs
