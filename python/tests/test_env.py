"""Environments from Python: the C++ numbers, zero-copy views, tasks, errors."""

import numpy as np
import pytest
import torch

import metarl


def test_every_builtin_environment_is_there():
    assert {"point-nav", "cartpole", "pendulum", "box2d-nav", "halfcheetah-vel", "halfcheetah-dir", "halfcheetah-legs",
            "ant-dir", "ant-fwd-back"} <= set(metarl.env_names())
    assert "training defaults" in metarl.describe_env("pendulum")
    assert "gae_lambda: 0.95" in metarl.training_defaults("pendulum")


@pytest.mark.parametrize("name", ["point-nav", "pendulum", "halfcheetah-dir", "ant-dir", "ant-fwd-back"])
def test_stepping_replays_the_rollouts_the_cpp_sampler_recorded(name):
    """The C++ sampler's rollouts (observations, rewards) are reproduced bit for bit by
    stepping the same environment from Python with the recorded actions."""
    exp = metarl.Experiment(env=name, meta_batch=3, rollouts=2, horizon=20, hidden_sizes=[8], seed=5)
    tasks = exp.sample_tasks("train")
    rollouts = exp.sample(exp.theta, tasks)
    rows = 3 * 2
    env = metarl.make_env(name, rows, metarl._core.derive_seed(5, 3))  # training's environment stream
    env.set_tasks(tasks)
    observations = env.reset().copy()
    recorded_obs = rollouts["observations"].reshape(rows, 20, -1).numpy()
    recorded_actions = rollouts["actions"].reshape(rows, 20, -1).numpy()
    recorded_rewards = rollouts["rewards"].reshape(rows, 20).numpy()
    for t in range(20):
        assert np.array_equal(observations, recorded_obs[:, t]), f"step {t}"
        observations, rewards, terminated, truncated = env.step(recorded_actions[:, t])
        observations = observations.copy()
        assert np.array_equal(rewards, recorded_rewards[:, t]), f"step {t}"


@pytest.mark.filterwarnings("ignore:The given NumPy array is not writable")
def test_arrays_are_read_only_views_of_the_environments_buffers():
    env = metarl.make_env("point-nav", 8, 1)
    first = env.reset()
    observations, rewards, terminated, truncated = env.step(np.full((8, 2), 0.05, np.float32))
    # The same memory, overwritten in place by the step: no copy was made.
    assert np.shares_memory(first, observations)
    assert first.__array_interface__["data"][0] == observations.__array_interface__["data"][0]
    assert np.allclose(first, 0.05)
    assert not observations.flags.writeable and not rewards.flags.writeable
    assert observations.dtype == np.float32 and observations.shape == (8, 2)
    assert terminated.dtype == np.bool_ and truncated.shape == (8,)
    # torch.from_numpy keeps viewing them.
    tensor = torch.from_numpy(np.array(observations, copy=False))
    env.step(np.full((8, 2), 0.05, np.float32))
    assert torch.allclose(tensor, torch.full((8, 2), 0.1))
    assert not env.final_observations.flags.writeable and not env.elapsed_steps.flags.writeable
    # A view keeps the environment alive after the last name of it is gone.
    del env
    assert np.allclose(observations, 0.1)


def test_tasks_split_and_set_per_row_or_per_block():
    env = metarl.make_env("point-nav", 6, 0)
    dist = env.task_distribution
    assert dist.names == ["goal_x", "goal_y"]
    assert dist.parameters[0].unit == "position units"
    heldout = dist.sample(50, "heldout", 3)
    p = dist.parameters[0]
    outside = (np.abs(heldout[:, 0]) > p.train_high) | (np.abs(heldout[:, 1]) > dist.parameters[1].train_high)
    assert outside.all(), "every held-out task has a parameter outside its training range"
    assert np.array_equal(dist.sample(4, "test", 9), dist.sample(4, "test", 9))
    env.set_tasks(np.array([[0.1, 0.2], [0.3, 0.4]]))  # 2 tasks over 6 rows: 3 rows each
    assert np.array_equal(env.tasks, np.repeat([[0.1, 0.2], [0.3, 0.4]], 3, axis=0))


def test_errors_keep_the_command_lines_messages():
    with pytest.raises(ValueError, match="unknown environment 'pointnav'; known environments"):
        metarl.make_env("pointnav", 4)
    env = metarl.make_env("point-nav", 4)
    env.reset()
    with pytest.raises(ValueError, match="expected 4 x 2 actions"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"shape \[n, 2\]"):
        env.set_tasks(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="split"):
        env.task_distribution.sample(2, "validation")


def test_plugins_load_and_their_environments_step(tmp_path):
    import os
    plugin_dir = os.environ.get("METARL_TEST_PLUGIN_DIR")
    if not plugin_dir:
        pytest.skip("METARL_TEST_PLUGIN_DIR not set (run through CTest)")
    names = metarl.load_plugin(os.path.join(plugin_dir, "point_velocity", "libpoint_velocity.so"))
    assert names == ["point-velocity"]
    env = metarl.make_env("point-velocity", 4, 0)
    env.reset()
    env.step(np.zeros((4, env.action_dim), np.float32))
    assert "iterations: 100" in metarl.training_defaults("point-velocity")
