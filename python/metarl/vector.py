"""A Gymnasium-style vector environment over a metarl batched environment.

``VectorEnv("point-nav", num_envs=64)`` behaves like ``gymnasium.vector.VectorEnv``
(Gymnasium 0.29's conventions): ``reset(seed=, options=)`` returns ``(obs, info)``,
``step(actions)`` returns ``(obs, reward, terminated, truncated, info)``, rows that end
restart at once and ``info["final_observation"]`` / ``info["_final_observation"]`` hold
the last observation of those rows. ``single_observation_space``,
``single_action_space`` (and the batched ``observation_space``, ``action_space``) are
``gymnasium.spaces`` when Gymnasium is installed, and small stand-ins with the same
attributes (``shape``, ``dtype``, ``low``, ``high``, ``n``, ``sample()``) otherwise.
Tasks are metarl's: ``set_tasks``, ``sample_tasks`` and ``options={"tasks": ...}``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, SupportsInt, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _core

try:  # Gymnasium is optional: its spaces when present
    from gymnasium import spaces as _spaces
except ImportError:  # pragma: no cover - exercised where Gymnasium is absent
    _spaces = None


class Box:
    """A stand-in for gymnasium.spaces.Box: values in [low, high], per component."""

    low: npt.NDArray[Any]  # `shape`, of `dtype`
    high: npt.NDArray[Any]
    shape: Tuple[int, ...]
    dtype: np.dtype[Any]

    def __init__(self, low: npt.ArrayLike, high: npt.ArrayLike, shape: Sequence[int],
                 dtype: npt.DTypeLike = np.float32, seed: Optional[int] = None) -> None:
        """``low`` and ``high`` broadcast to ``shape``; ``seed`` seeds sample()."""
        self.low = np.broadcast_to(np.asarray(low, dtype=dtype), shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=dtype), shape).copy()
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._rng = np.random.default_rng(seed)

    def sample(self) -> npt.NDArray[Any]:
        """A uniform value of the box, of ``shape`` and ``dtype``; an infinite bound counts
        as -1 (low) or 1 (high)."""
        low = np.where(np.isfinite(self.low), self.low, -1.0)
        high = np.where(np.isfinite(self.high), self.high, 1.0)
        return self._rng.uniform(low, high).astype(self.dtype)

    def contains(self, x: npt.ArrayLike) -> bool:
        """Whether ``x`` has the box's shape and lies in [low, high]."""
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= self.low) and np.all(x <= self.high))

    def __repr__(self) -> str:
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"


class Discrete:
    """A stand-in for gymnasium.spaces.Discrete: the integers 0, 1, ..., n - 1."""

    n: int
    shape: Tuple[()]
    dtype: np.dtype[Any]  # int64

    def __init__(self, n: SupportsInt, seed: Optional[int] = None) -> None:
        """``n`` values; ``seed`` seeds sample()."""
        self.n = int(n)
        self.shape = ()
        self.dtype = np.dtype(np.int64)
        self._rng = np.random.default_rng(seed)

    def sample(self) -> int:
        """A uniform value in [0, n)."""
        return int(self._rng.integers(self.n))

    def contains(self, x: SupportsInt) -> bool:
        """Whether ``x`` is in [0, n)."""
        return 0 <= int(x) < self.n

    def __repr__(self) -> str:
        return f"Discrete({self.n})"


class MultiDiscrete:
    """A stand-in for gymnasium.spaces.MultiDiscrete (the batched Discrete): component i
    in [0, nvec[i])."""

    nvec: npt.NDArray[np.int64]
    shape: Tuple[int, ...]
    dtype: np.dtype[Any]  # int64

    def __init__(self, nvec: npt.ArrayLike, seed: Optional[int] = None) -> None:
        """``nvec``: each component's number of values; ``seed`` seeds sample()."""
        self.nvec = np.asarray(nvec, dtype=np.int64)
        self.shape = self.nvec.shape
        self.dtype = np.dtype(np.int64)
        self._rng = np.random.default_rng(seed)

    def sample(self) -> npt.NDArray[np.int64]:
        """A uniform value of every component: nvec's shape, int64."""
        return self._rng.integers(self.nvec)


# A space: gymnasium.spaces' when Gymnasium is installed (typed Any: it is optional),
# else the stand-ins above.
_Space = Any


def _box(low: npt.ArrayLike, high: npt.ArrayLike, shape: Tuple[int, ...]) -> _Space:
    """A float32 Box space: Gymnasium's when installed, else the stand-in."""
    if _spaces is not None:
        return _spaces.Box(np.broadcast_to(np.asarray(low, np.float32), shape).copy(),
                           np.broadcast_to(np.asarray(high, np.float32), shape).copy(), shape, np.float32)
    return Box(low, high, shape)


# The task splits of metarl's task distributions (envs/task_distribution.h).
_SPLITS = ("train", "test", "heldout")


class VectorEnv:
    """``num_envs`` rows of metarl environment ``env`` (a name or a metarl.Env), stepped
    together in C++. ``copy=False`` returns the environment's own buffers (overwritten
    by the next step) instead of copies."""

    # Rows that end restart within the same step (Gymnasium 0.29, and 1.x's SAME_STEP mode).
    metadata = {"autoreset_mode": "same_step"}

    env: _core.Env
    num_envs: int
    copy: bool
    single_observation_space: _Space  # Box [observation_dim] float32
    observation_space: _Space  # Box [num_envs, observation_dim] float32
    single_action_space: _Space  # Box [action_dim] float32, or Discrete(num_actions)
    action_space: _Space  # Box [num_envs, action_dim] float32, or MultiDiscrete

    def __init__(self, env: Union[str, _core.Env], num_envs: Optional[int] = None, seed: int = 0, *,
                 tasks: Optional[npt.ArrayLike] = None, split: str = "train", copy: bool = True) -> None:
        """``env``: an environment name (then ``num_envs`` rows are made, seeded from
        ``seed``) or a metarl.Env (its own rows; ``num_envs`` is ignored). ``seed`` also
        seeds sample_tasks(). ``tasks``: the rows' task parameters (see set_tasks);
        ``split``: the split sample_tasks() draws from ("train", "test" or "heldout").
        Raises ValueError for another split, or a name without ``num_envs``."""
        if split not in _SPLITS:
            raise ValueError(f"VectorEnv: split {split!r} is not one of metarl's splits; expected "
                             + ", ".join(_SPLITS))
        if isinstance(env, str):
            if num_envs is None:
                raise ValueError("VectorEnv: num_envs is required with an environment name")
            env = _core.make_env(env, int(num_envs), int(seed))
        self.env = env
        self.num_envs = env.batch_size
        self.copy = copy
        self._split = split
        # sample_tasks() draws new tasks at every call, from a stream seeded by `seed`.
        self._task_seeds = np.random.default_rng(int(seed))
        self._reset_done = False
        obs_dim = env.observation_dim
        self.single_observation_space = _box(env.observation_low, env.observation_high, (obs_dim,))
        self.observation_space = _box(np.tile(env.observation_low, (self.num_envs, 1)),
                                      np.tile(env.observation_high, (self.num_envs, 1)), (self.num_envs, obs_dim))
        if env.discrete_actions:
            self.single_action_space = _spaces.Discrete(env.num_actions) if _spaces else Discrete(env.num_actions)
            nvec = [env.num_actions] * self.num_envs
            self.action_space = _spaces.MultiDiscrete(nvec) if _spaces else MultiDiscrete(nvec)
        else:
            shape = (env.action_dim,)
            self.single_action_space = _box(env.action_low, env.action_high, shape)
            self.action_space = _box(np.tile(env.action_low, (self.num_envs, 1)),
                                     np.tile(env.action_high, (self.num_envs, 1)), (self.num_envs,) + shape)
        if tasks is not None:
            self.set_tasks(tasks)

    @property
    def task_distribution(self) -> _core.TaskDistribution:
        """The environment's tasks and their splits."""
        return self.env.task_distribution

    def sample_tasks(self, n: Optional[int] = None, split: Optional[str] = None,
                     seed: Optional[int] = None) -> npt.NDArray[np.float64]:
        """n tasks (default num_envs) of a split, [n, parameters]: new ones at every call
        (from the adapter's seed), or those of `seed`; float64. ``split`` defaults to the
        adapter's."""
        n = self.num_envs if n is None else n
        seed = int(self._task_seeds.integers(2**63)) if seed is None else seed
        return self.env.task_distribution.sample(n, split or self._split, seed)

    def set_tasks(self, tasks: npt.ArrayLike) -> None:
        """num_envs rows of task parameters, or T rows with num_envs a multiple of T
        ([num_envs or T, parameters], as float64). Raises ValueError for another shape."""
        self.env.set_tasks(np.asarray(tasks, dtype=np.float64))

    def _out(self, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.array(array, copy=True) if self.copy else array

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[Dict[str, Any]] = None) -> Tuple[npt.NDArray[np.float32], Dict[str, Any]]:
        """Start a new episode in every row: (observations [num_envs, observation_dim]
        float32, {}). ``seed`` restarts the rows' random streams; ``options["tasks"]`` sets
        the tasks first (see set_tasks). The tasks are kept otherwise."""
        if seed is not None:
            self.env.seed(int(seed))
        if options and "tasks" in options:
            self.set_tasks(options["tasks"])
        observations = self.env.reset()
        self._reset_done = True
        return self._out(observations), {}

    def step(self, actions: npt.ArrayLike) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.float32],
                                                    npt.NDArray[np.bool_], npt.NDArray[np.bool_], Dict[str, Any]]:
        """Advance every row: (observations [num_envs, observation_dim] float32, rewards
        [num_envs] float32, terminated [num_envs] bool, truncated [num_envs] bool, info).
        ``actions``: [num_envs, action_dim], or [num_envs] indices for discrete actions.
        Rows that end restart at once; info["final_observation"] holds their last
        observation (None for the others), info["_final_observation"] which rows ended,
        info["elapsed_steps"] [num_envs] int32. Raises RuntimeError before reset(),
        ValueError for another number of actions."""
        if not self._reset_done:
            raise RuntimeError("VectorEnv.step before reset()")
        actions = np.asarray(actions)
        if self.env.discrete_actions:
            actions = actions.astype(np.float32).reshape(self.num_envs, 1)
        observations, rewards, terminated, truncated = self.env.step(actions)
        info = {"elapsed_steps": np.array(self.env.elapsed_steps, copy=True)}
        done = np.logical_or(terminated, truncated)
        if done.any():
            final = np.array(self.env.final_observations, copy=True)
            # One entry per row (None where the episode goes on), as Gymnasium 0.29 gives it.
            final_observations = np.empty(self.num_envs, dtype=object)
            for row in np.flatnonzero(done):
                final_observations[row] = final[row]
            info["final_observation"] = final_observations
            info["_final_observation"] = done.copy()
        return self._out(observations), self._out(rewards), self._out(terminated), self._out(truncated), info

    def close(self) -> None:
        """Nothing to release (Gymnasium's interface); the environment is freed with the adapter."""
        pass

    def __repr__(self) -> str:
        return f"VectorEnv({self.env.name}, num_envs={self.num_envs})"
