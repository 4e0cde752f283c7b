"""metarl's C++ core: batched environments, training, evaluation, the meta-learner.

Type stub of the compiled module (python/src/*.cpp). Parameter names and defaults are
the bindings' py::arg names and defaults; python/tests/test_stubs.py checks them against
the signatures pybind11 reports. Shapes use B (an environment's rows), T (tasks of a
meta-batch), R (rollouts per task), H (horizon, steps) and P (task parameters).

Arrays: NumPy arrays returned by Env are read-only views of the environment's own
buffers, overwritten by its next step (copy what you keep). Array arguments are
converted (forcecast) to the dtype noted, so any array-like of the right shape works.
"""

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import torch

__version__: str
"""metarl's version (project(VERSION) in CMakeLists.txt), e.g. "0.1.0"."""

class TaskParameter:
    """One named, unit-carrying parameter of a task."""

    def __init__(
        self,
        name: str,
        unit: str,
        description: str,
        default: float,
        train_low: float,
        train_high: float,
        heldout_low: float,
        heldout_high: float,
    ) -> None:
        """A task parameter for register_env: `name` in `unit`, its `default`, the training
        range [train_low, train_high] and the held-out range [heldout_low, heldout_high],
        which contains it; the ranges are checked when the distribution is built
        (register_env raises ValueError)."""
    @property
    def name(self) -> str:
        """The parameter's name, e.g. "goal_x"."""
    @property
    def unit(self) -> str:
        """Its unit, e.g. "m" (metres)."""
    @property
    def description(self) -> str:
        """What it changes in the problem."""
    @property
    def default(self) -> float:
        """The default task's value, in `unit`."""
    @property
    def train_low(self) -> float:
        """The training range's lower end, inclusive, in `unit`."""
    @property
    def train_high(self) -> float:
        """The training range's upper end, inclusive, in `unit`."""
    @property
    def heldout_low(self) -> float:
        """The held-out range's lower end, in `unit` (at most train_low)."""
    @property
    def heldout_high(self) -> float:
        """The held-out range's upper end, in `unit` (at least train_high)."""
    def __repr__(self) -> str: ...

class TaskDistribution:
    """The tasks of an environment and their splits (train, test, heldout).

    Not constructible from Python: Env.task_distribution gives it."""

    @property
    def parameters(self) -> list[TaskParameter]:
        """The task parameters, in the order of a task row's columns."""
    @property
    def names(self) -> list[str]:
        """The parameters' names, in the order of a task row's columns."""
    @property
    def has_heldout(self) -> bool:
        """False when the held-out ranges equal the training ranges (no held-out tasks)."""
    def sample(self, n: int, split: str = "train", seed: int = 0) -> npt.NDArray[np.float64]:
        """n tasks of a split ("train", "test" or "heldout") drawn from `seed`:
        [n, P] float64. ValueError when n < 1 or the split is another name."""
    def defaults(self, n: int) -> npt.NDArray[np.float64]:
        """n copies of the default task: [n, P] float64."""

class Env:
    """A batched environment: B rows stepped together. Arrays returned by reset/step
    view its buffers and are overwritten by the next step; copy them to keep them.

    Not constructible from Python: make_env (or Experiment.env) gives it."""

    @property
    def name(self) -> str:
        """The environment's registered name."""
    @property
    def batch_size(self) -> int:
        """B, the number of rows stepped together."""
    @property
    def observation_dim(self) -> int:
        """The length of one row's observation."""
    @property
    def action_dim(self) -> int:
        """The length of one row's action (discrete actions: 1, the index)."""
    @property
    def discrete_actions(self) -> bool:
        """True when an action is one index in [0, num_actions), passed to step as [B, 1]."""
    @property
    def num_actions(self) -> int:
        """The number of discrete actions (0 for continuous actions)."""
    @property
    def action_low(self) -> list[float]:
        """Each continuous action component's lower bound: action_dim numbers (discrete: none)."""
    @property
    def action_high(self) -> list[float]:
        """Each continuous action component's upper bound: action_dim numbers (discrete: none)."""
    @property
    def observation_low(self) -> list[float]:
        """Each observation component's lower bound: observation_dim numbers (may be -inf)."""
    @property
    def observation_high(self) -> list[float]:
        """Each observation component's upper bound: observation_dim numbers (may be inf)."""
    @property
    def max_episode_steps(self) -> int:
        """The time limit in steps: a row's episode is truncated when it reaches it."""
    @property
    def description(self) -> str:
        """One line on what the environment is."""
    @property
    def task_distribution(self) -> TaskDistribution:
        """The environment's tasks and their splits (keeps the environment alive)."""
    def seed(self, seed: int) -> None:
        """Restart every row's random stream (row r: derive_seed(seed, r))."""
    def reset(self) -> npt.NDArray[np.float32]:
        """Start a new episode in every row (tasks are kept); the observations,
        [B, observation_dim] float32, a read-only view."""
    def step(
        self, actions: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Advance every row with `actions` ([B, action_dim] float32; discrete: [B, 1], the
        index): (observations [B, observation_dim] float32, rewards [B] float32,
        terminated [B] bool, truncated [B] bool), read-only views. A row that ended
        restarts at once (its observation is the new episode's; final_observations holds
        the last). ValueError for another number of actions."""
    @property
    def observations(self) -> npt.NDArray[np.float32]:
        """The current observations, [B, observation_dim] float32, a read-only view."""
    @property
    def final_observations(self) -> npt.NDArray[np.float32]:
        """Each row's last observation of the episode that ended at the last step (other
        rows: stale), [B, observation_dim] float32, a read-only view."""
    @property
    def elapsed_steps(self) -> npt.NDArray[np.int32]:
        """Steps taken in each row's current episode, [B] int32, a read-only view."""
    def set_tasks(self, tasks: npt.ArrayLike) -> None:
        """Set every row's task: [B, P] float64, or [T, P] with B a multiple of T (task t
        on rows [t*B/T, (t+1)*B/T)). ValueError for another shape."""
    @property
    def tasks(self) -> npt.NDArray[np.float64]:
        """Each row's task parameters, [B, P] float64 (a copy)."""
    def set_step_threads(self, threads: int, min_split_microseconds: float = 100.0) -> None:
        """Threads sharing each step over row ranges (1: the calling thread only). A step
        is split when that has been measured faster, never while one thread steps the rows
        in under min_split_microseconds (µs; <= 0: every step). ValueError for threads < 1."""

def make_env(name: str, batch_size: int, seed: int = 0) -> Env:
    """A batched environment by name (env_names()), batch_size rows seeded from `seed`.
    ValueError for an unknown name or batch_size < 1."""

def derive_seed(seed: int, stream: int) -> int:
    """The seed of an independent random stream (envs/rng.h), a uint64: training's
    environment rows use stream 3."""

def env_names() -> list[str]:
    """Every registered environment's name."""

def describe_env(name: str) -> str:
    """What `metarl envs NAME` prints: spec, task parameters, ranges, training defaults."""

def training_defaults(name: str) -> str:
    """The environment's training defaults, as YAML. ValueError for an unknown name."""

def load_plugin(path: str) -> list[str]:
    """Load a plug-in library (metarl --plugin): its environments' names."""

def check_env(name: str) -> list[tuple[str, bool, str]]:
    """The conformance checks of `metarl check-env`: (check, passed, message) each."""

def register_env(
    name: str,
    factory: Callable[[int, int], object],
    spec: dict[str, object],
    tasks: Sequence[TaskParameter],
    summary: str = "",
    training_defaults: str = "",
) -> None:
    """Register a Python environment class under `name`: factory(batch_size, seed) returns
    an object with reset_row and step_rows. `spec` holds observation_dim, action_dim (or
    discrete_actions and num_actions), the bounds and max_episode_steps; `tasks` its
    TaskParameters; `training_defaults` YAML. ValueError for an unknown spec key, an
    invalid spec or task range, or a name already registered."""

def effective_config(yaml: str, overrides: Sequence[tuple[str, str]] = []) -> str:
    """The effective training config of these keys (YAML text, then (key, value text)
    overrides), as `metarl train --print-config` prints it. ValueError for a bad key,
    value or environment."""

def train(
    yaml: str,
    overrides: Sequence[tuple[str, str]],
    out: str,
    resume: bool = False,
    force: bool = False,
    iterations: int = 0,
    callback: Callable[[dict[str, float]], None] | None = None,
) -> None:
    """Train into run directory `out` (metarl train); returns when done. resume=True
    continues `out` (to `iterations` when given, > 0). callback(metrics) gets each
    iteration's metrics.csv columns. KeyboardInterrupt stops after the current iteration,
    with a checkpoint; ValueError for a bad key or value."""

def evaluate(
    yaml: str,
    overrides: Sequence[tuple[str, str]],
    progress: Callable[[str, int, int, float], None] | None = None,
) -> tuple[str, str, str]:
    """metarl eval's evaluation: (report JSON, table text, per-task JSON lines); nothing
    is written. progress(method, step, steps, mean_return) after each step's rollouts."""

class Trainer:
    """A training run in memory, one meta-iteration at a time (no run directory)."""

    def __init__(self, yaml: str, overrides: Sequence[tuple[str, str]] = []) -> None:
        """A run of the config in `yaml` (YAML text) with `overrides` ((key, value text)
        pairs, applied last, as --set); ValueError for a bad key or value."""
    def run_iteration(self) -> dict[str, float]:
        """One meta-iteration: its metrics.csv columns (iteration, return_before,
        return_after, ...). RuntimeError naming what diverged when something is not finite."""
    @property
    def iterations_done(self) -> int:
        """Meta-iterations run so far."""
    @property
    def config(self) -> str:
        """The effective config, as YAML."""
    @property
    def theta(self) -> list[torch.Tensor]:
        """θ, the policy's initial parameters: the learner's own tensors."""
    @property
    def alpha(self) -> list[torch.Tensor]:
        """α, the inner step sizes (Meta-SGD: θ's shapes; MAML: one scalar each)."""
    def save_checkpoint(self, path: str) -> None:
        """Write a checkpoint file at `path` that restore and `metarl eval` read."""
    def restore(self, checkpoint: str) -> None:
        """Continue from a checkpoint (file or run directory) of a run with the same
        config. ValueError when it is unreadable or of another run shape."""

class Experiment:
    """The parts a config builds (environment, policy, sampler, meta-learner), for loops
    of one's own: sample tasks, roll out, adapt, differentiate."""

    def __init__(self, yaml: str, overrides: Sequence[tuple[str, str]] = []) -> None:
        """The parts of the config in `yaml` (YAML text) with `overrides` ((key, value
        text) pairs, applied last, as --set); ValueError for a bad key or value."""
    @property
    def config(self) -> str:
        """The effective config, as YAML."""
    @property
    def env(self) -> Env:
        """The environment the sampler steps (keeps the experiment alive)."""
    @property
    def theta(self) -> list[torch.Tensor]:
        """θ, the policy's initial parameters: the learner's own tensors, in
        parameter_names order."""
    @property
    def alpha(self) -> list[torch.Tensor]:
        """α, the inner step sizes (Meta-SGD: θ's shapes; MAML: one scalar each)."""
    @property
    def parameter_names(self) -> list[str]:
        """The names of θ's tensors, in theta's order."""
    def sample_tasks(self, split: str = "train") -> npt.NDArray[np.float64]:
        """meta_batch tasks of a split from the experiment's task stream: [T, P] float64."""
    def sample(self, params: Sequence[torch.Tensor], tasks: npt.ArrayLike) -> dict[str, torch.Tensor]:
        """Roll out `params` (θ, or task-batched [T, ...] adapted parameters) on `tasks`
        ([T, P] float64) x rollouts: {"observations": [T, R, H, obs], "actions":
        [T, R, H, action], "rewards": [T, R, H], "mask": [T, R, H]}. ValueError for
        parameters or tasks of another shape."""
    def adapt(
        self, params: Sequence[torch.Tensor], trajectories: dict[str, torch.Tensor], create_graph: bool = False
    ) -> list[torch.Tensor]:
        """One adaptation step of every task: θ'_t = params − α ⊙ ∇L_t, [T, ...] per
        parameter; create_graph=True keeps the graph for the meta-gradient."""
    def inner_loss(self, params: Sequence[torch.Tensor], trajectories: dict[str, torch.Tensor]) -> torch.Tensor:
        """Each task's inner loss: [T]."""
    def meta_loss(self, adapted: Sequence[torch.Tensor], trajectories: dict[str, torch.Tensor]) -> torch.Tensor:
        """The meta-objective on the adapted policies' rollouts (a scalar); backward()
        through adapt(create_graph=True) gives the meta-gradient in θ and α."""
    def load_checkpoint(self, path: str) -> None:
        """θ and α of a run directory or checkpoint file."""
