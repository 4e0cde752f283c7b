"""The Gymnasium-style vector adapter's contract (Gymnasium 0.29's conventions)."""

import numpy as np
import pytest

import metarl


def test_spaces_describe_one_row_and_the_batch():
    env = metarl.VectorEnv("point-nav", num_envs=16, seed=1)
    assert env.num_envs == 16
    assert env.single_observation_space.shape == (2,)
    assert env.observation_space.shape == (16, 2)
    assert env.single_action_space.shape == (2,)
    assert env.action_space.shape == (16, 2)
    assert np.allclose(env.single_action_space.low, -0.1) and np.allclose(env.single_action_space.high, 0.1)
    cartpole = metarl.VectorEnv("cartpole", num_envs=4)
    assert cartpole.single_action_space.n == 2
    assert cartpole.action_space.shape == (4,)


def test_reset_and_step_return_gymnasium_tuples():
    env = metarl.VectorEnv("pendulum", num_envs=8, seed=3)
    observations, info = env.reset(seed=7)
    assert observations.shape == (8, 3) and observations.dtype == np.float32 and info == {}
    again, _ = env.reset(seed=7)
    assert np.array_equal(observations, again), "reset(seed=) is reproducible"
    actions = np.stack([env.single_action_space.sample() for _ in range(8)])
    observations, rewards, terminated, truncated, info = env.step(actions)
    assert rewards.shape == (8,) and rewards.dtype == np.float32
    assert terminated.dtype == np.bool_ and truncated.dtype == np.bool_
    assert "elapsed_steps" in info and (info["elapsed_steps"] == 1).all()
    # Copies by default: the next step does not change what the last one returned.
    kept = observations.copy()
    env.step(actions)
    assert np.array_equal(observations, kept)


def test_rows_that_end_restart_in_the_same_step_with_their_final_observation():
    # Goals far from where the point goes: no episode reaches its goal (which ends it).
    env = metarl.VectorEnv("point-nav", num_envs=4, seed=0, tasks=[[0.5, 0.5]])
    env.reset()
    limit = env.env.max_episode_steps
    for step in range(1, limit + 1):
        observations, rewards, terminated, truncated, info = env.step(np.full((4, 2), -0.01, np.float32))
    assert truncated.all() and not terminated.any(), "the time limit truncates"
    assert info["_final_observation"].all()
    final = np.stack(list(info["final_observation"]))
    assert np.allclose(final, -0.01 * limit, atol=1e-5)  # where the episode ended
    assert np.allclose(observations, 0.0)    # the next episode's start (point-nav: the origin)
    assert (info["elapsed_steps"] == 0).all()


def test_tasks_come_from_metarls_splits():
    env = metarl.VectorEnv("point-nav", num_envs=4, split="heldout", seed=2)
    tasks = env.sample_tasks()
    assert tasks.shape == (4, 2)
    assert not np.array_equal(tasks, env.sample_tasks()), "new tasks at every call"
    assert np.array_equal(env.sample_tasks(seed=5), env.sample_tasks(seed=5))
    env.reset(options={"tasks": tasks})
    assert np.array_equal(env.env.tasks, tasks)
    with pytest.raises(ValueError):
        env.set_tasks(np.zeros((3, 2)))  # 4 rows are not a multiple of 3 tasks
    # A split that does not exist is refused where it is given, not at sample_tasks().
    with pytest.raises(ValueError, match="split 'validation' is not one of metarl's splits; expected train, test, heldout"):
        metarl.VectorEnv("point-nav", num_envs=4, split="validation")
