"""gym.vector.SyncVectorEnv: environments stepped one after the other in this process."""
import numpy as np

from gym.vector.utils import concatenate, create_empty_array


class SyncVectorEnv:
    def __init__(self, env_fns, observation_space=None, action_space=None, copy=True):
        self.envs = [env_fn() for env_fn in env_fns]
        self.num_envs = len(self.envs)
        self.copy = copy
        self.single_observation_space = observation_space or self.envs[0].observation_space
        self.single_action_space = action_space or self.envs[0].action_space
        self.observations = create_empty_array(self.single_observation_space, n=self.num_envs, fn=np.zeros)
        self._rewards = np.zeros((self.num_envs,), dtype=np.float64)
        self._dones = np.zeros((self.num_envs,), dtype=np.bool_)
        self._actions = None
        self.closed = False

    def seed(self, seeds=None):
        if seeds is None:
            seeds = [None for _ in range(self.num_envs)]
        if isinstance(seeds, int):
            seeds = [seeds + i for i in range(self.num_envs)]
        for env, seed in zip(self.envs, seeds):
            env.seed(seed)

    def reset(self):
        return self.reset_wait()

    def reset_wait(self):
        self._dones[:] = False
        observations = [env.reset() for env in self.envs]
        concatenate(observations, self.observations, self.single_observation_space)
        return np.copy(self.observations) if self.copy else self.observations

    def step(self, actions):
        self.step_async(actions)
        return self.step_wait()

    def step_async(self, actions):
        self._actions = actions

    def step_wait(self):
        raise NotImplementedError

    def close(self):
        if not self.closed:
            for env in self.envs:
                env.close()
            self.closed = True
