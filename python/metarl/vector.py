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

import numpy as np

from . import _core

try:  # Gymnasium is optional: its spaces when present
    from gymnasium import spaces as _spaces
except ImportError:  # pragma: no cover - exercised where Gymnasium is absent
    _spaces = None


class Box:
    """A stand-in for gymnasium.spaces.Box."""

    def __init__(self, low, high, shape, dtype=np.float32, seed=None):
        self.low = np.broadcast_to(np.asarray(low, dtype=dtype), shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=dtype), shape).copy()
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._rng = np.random.default_rng(seed)

    def sample(self):
        low = np.where(np.isfinite(self.low), self.low, -1.0)
        high = np.where(np.isfinite(self.high), self.high, 1.0)
        return self._rng.uniform(low, high).astype(self.dtype)

    def contains(self, x):
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= self.low) and np.all(x <= self.high))

    def __repr__(self):
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"


class Discrete:
    """A stand-in for gymnasium.spaces.Discrete."""

    def __init__(self, n, seed=None):
        self.n = int(n)
        self.shape = ()
        self.dtype = np.dtype(np.int64)
        self._rng = np.random.default_rng(seed)

    def sample(self):
        return int(self._rng.integers(self.n))

    def contains(self, x):
        return 0 <= int(x) < self.n

    def __repr__(self):
        return f"Discrete({self.n})"


class MultiDiscrete:
    """A stand-in for gymnasium.spaces.MultiDiscrete (the batched Discrete)."""

    def __init__(self, nvec, seed=None):
        self.nvec = np.asarray(nvec, dtype=np.int64)
        self.shape = self.nvec.shape
        self.dtype = np.dtype(np.int64)
        self._rng = np.random.default_rng(seed)

    def sample(self):
        return self._rng.integers(self.nvec)


def _box(low, high, shape):
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

    def __init__(self, env, num_envs=None, seed=0, *, tasks=None, split="train", copy=True):
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
    def task_distribution(self):
        return self.env.task_distribution

    def sample_tasks(self, n=None, split=None, seed=None):
        """n tasks (default num_envs) of a split, [n, parameters]: new ones at every call
        (from the adapter's seed), or those of `seed`."""
        n = self.num_envs if n is None else n
        seed = int(self._task_seeds.integers(2**63)) if seed is None else seed
        return self.env.task_distribution.sample(n, split or self._split, seed)

    def set_tasks(self, tasks):
        """num_envs rows of task parameters, or T rows with num_envs a multiple of T."""
        self.env.set_tasks(np.asarray(tasks, dtype=np.float64))

    def _out(self, array):
        return np.array(array, copy=True) if self.copy else array

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.env.seed(int(seed))
        if options and "tasks" in options:
            self.set_tasks(options["tasks"])
        observations = self.env.reset()
        self._reset_done = True
        return self._out(observations), {}

    def step(self, actions):
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

    def close(self):
        pass

    def __repr__(self):
        return f"VectorEnv({self.env.name}, num_envs={self.num_envs})"
