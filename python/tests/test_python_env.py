"""An environment written in Python: registered, conformance-checked, trained."""

import numpy as np
import pytest

import metarl
import drift as drift_example  # examples/python/drift.py (conftest puts it on the path)
from drift import Drift


@pytest.fixture(scope="module")
def drift():
    return drift_example.register("py-drift")


def test_a_python_environment_passes_the_conformance_checks(drift):
    results = metarl.check_env(drift)
    failed = [(name, message) for name, passed, message in results if not passed]
    assert not failed, failed
    assert len(results) == len(metarl.check_env("point-nav")), "every check a built-in environment gets"


def test_it_steps_and_trains_like_a_builtin_one(drift, tmp_path):
    env = metarl.make_env(drift, 4, 1)
    env.set_tasks(np.array([[0.3]]))
    first = env.reset().copy()
    assert (np.abs(first) <= 0.1).all()
    observations, rewards, _, _ = env.step(np.full((4, 1), 0.05, np.float32))
    assert np.allclose(observations[:, 0], first[:, 0] + 0.05)
    assert np.allclose(rewards, -np.abs(observations[:, 0] - 0.3))
    assert "horizon: 20" in metarl.effective_config(env=drift)
    metarl.train(out=tmp_path / "run", env=drift, iterations=2, meta_batch=2, rollouts=2, hidden_sizes=[8])
    assert len((tmp_path / "run" / "metrics.csv").read_text().splitlines()) == 3


def test_its_errors_name_the_environment_and_the_method(drift):
    class Broken(Drift):
        def step_rows(self, *args):
            raise ArithmeticError("no step today")

    metarl.register_env("py-broken", Broken, spec=dict(observation_dim=1, action_dim=1, action_low=[-1],
                                                        action_high=[1], max_episode_steps=5,
                                                        observation_low=[-np.inf], observation_high=[np.inf]),
                        tasks=[metarl.TaskParameter("goal", "m", "", 0.0, 0.0, 1.0, 0.0, 1.0)])
    env = metarl.make_env("py-broken", 2)
    env.reset()
    with pytest.raises(RuntimeError, match="step_rows raised ArithmeticError: no step today"):
        env.step(np.zeros((2, 1), np.float32))
    class Keeper(Drift):
        def step_rows(self, actions, begin, end, tasks, observations, rewards, terminated):
            super().step_rows(actions, begin, end, tasks, observations, rewards, terminated)
            self.kept = observations  # a view of the environment's buffer, kept past the call

    metarl.register_env("py-keeper", Keeper, spec=drift_example.SPEC, tasks=drift_example.TASKS)
    keeper = metarl.make_env("py-keeper", 2)
    keeper.reset()
    with pytest.raises(RuntimeError, match="step_rows kept a reference to one of its array arguments"):
        keeper.step(np.zeros((2, 1), np.float32))
    with pytest.raises(ValueError, match="unknown spec key 'obs_dim'"):
        metarl.register_env("py-typo", Drift, spec=dict(obs_dim=1), tasks=[])
    with pytest.raises(ValueError, match="taken|already"):
        metarl.register_env(drift, Drift, spec=dict(observation_dim=1, action_dim=1, action_low=[-1],
                                                    action_high=[1], max_episode_steps=5,
                                                    observation_low=[-1], observation_high=[1]),
                            tasks=[metarl.TaskParameter("goal", "m", "", 0.0, 0.0, 1.0, 0.0, 1.0)])


def test_a_python_environments_failures_point_to_python_not_the_command_line(tmp_path):
    class Worn(Drift):
        """Passes the checks at the start (40 steps), then fails for good."""
        def __init__(self, batch_size, seed):
            super().__init__(batch_size, seed)
            self.calls = 0

        def step_rows(self, *args):
            self.calls += 1
            if self.calls > 45:
                raise ArithmeticError("worn out")
            super().step_rows(*args)

    metarl.register_env("py-worn", Worn, spec=drift_example.SPEC, tasks=drift_example.TASKS)
    with pytest.raises(RuntimeError) as raised:
        metarl.train(out=tmp_path / "run", env="py-worn", iterations=20, meta_batch=2, rollouts=2, hidden_sizes=[8])
    message = str(raised.value)
    assert "step_rows raised ArithmeticError: worn out" in message, message
    assert "metarl.check_env('py-worn')" in message, message
    assert "metarl check-env" not in message and "same command" not in message, message

    class Unbounded(Drift):
        def step_rows(self, actions, begin, end, tasks, observations, rewards, terminated):
            super().step_rows(actions, begin, end, tasks, observations, rewards, terminated)
            rewards[begin:end] = np.nan

    metarl.register_env("py-nan", Unbounded, spec=drift_example.SPEC, tasks=drift_example.TASKS)
    with pytest.raises(RuntimeError, match=r"breaks its contract.*metarl\.check_env\('py-nan'\)"):
        metarl.train(out=tmp_path / "nan", env="py-nan", iterations=2, meta_batch=2, rollouts=2, hidden_sizes=[8])
