"""gym's registry: register an id with an entry point and keyword arguments; make wraps
the environment in TimeLimit when the id names a maximum episode length."""
import importlib

_registry = {}


def load(name):
    module_name, attribute = name.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def register(id, entry_point, kwargs=None, max_episode_steps=None, **unused):
    if id in _registry:
        raise ValueError("Cannot re-register id: {}".format(id))
    _registry[id] = (entry_point, dict(kwargs or {}), max_episode_steps)


def make(id, **kwargs):
    from gym.wrappers import TimeLimit

    entry_point, defaults, max_episode_steps = _registry[id]
    arguments = dict(defaults)
    arguments.update(kwargs)
    env = entry_point(**arguments) if callable(entry_point) else load(entry_point)(**arguments)
    if max_episode_steps is not None:
        env = TimeLimit(env, max_episode_steps=max_episode_steps)
    return env
