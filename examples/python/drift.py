"""An environment written in Python: a point on a line pushed by its action towards an
unobserved goal (the task's one parameter); reward −|x − goal|; the start drawn from the
row's own random stream. docs/python.md walks through it; the tests and
bench/python_stepping.py use it.

    import metarl, drift
    drift.register()                       # as "drift"
    metarl.train(env="drift", iterations=100, out="runs/drift")
"""

import numpy as np

import metarl


class Drift:
    def __init__(self, batch_size, seed):
        self.x = np.zeros(batch_size)  # [B] position, m

    def reset_row(self, row, task, uniforms):
        self.x[row] = -0.1 + 0.2 * uniforms[0]
        return np.array([self.x[row]], np.float32)

    def step_rows(self, actions, begin, end, tasks, observations, rewards, terminated):
        rows = slice(begin, end)
        self.x[rows] += np.clip(actions[rows, 0], -0.1, 0.1)
        observations[rows, 0] = self.x[rows]
        rewards[rows] = -np.abs(self.x[rows] - tasks[rows, 0])
        terminated[rows] = False


SPEC = dict(observation_dim=1, action_dim=1, action_low=[-0.1], action_high=[0.1],
            observation_low=[-np.inf], observation_high=[np.inf], max_episode_steps=20,
            description="a point on a line, unobserved goal (Python)")
TASKS = [metarl.TaskParameter("goal", "m", "where the reward peaks", 0.0, -0.5, 0.5, -1.0, 1.0)]


def register(name="drift"):
    """Registers Drift under `name`, with training defaults for its 20-step episodes."""
    metarl.register_env(name, Drift, spec=SPEC, tasks=TASKS, training_defaults=dict(horizon=20, outer_lr=0.003))
    return name
