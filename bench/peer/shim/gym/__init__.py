"""A stand-in for the parts of OpenAI gym's API (0.15-0.17) that pytorch-maml-rl calls.

Written for metarl's side-by-side benchmark (bench/peer/README.md) on machines without
gym (Debian ships no gym, and PyPI is not reachable): environments, wrappers, spaces,
registration and the synchronous vector environment, with gym's semantics for each call
pytorch-maml-rl makes. Not gym's code, and not a general replacement for it.
"""
from gym import spaces
from gym.core import ActionWrapper, Env, ObservationWrapper, RewardWrapper, Wrapper
from gym.envs.registration import make, register

__all__ = ["Env", "Wrapper", "ActionWrapper", "ObservationWrapper", "RewardWrapper", "make", "register", "spaces"]
