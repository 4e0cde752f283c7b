"""gym.vector.utils for Box spaces: an empty batch array, and items stacked into it."""
import numpy as np


def create_empty_array(space, n=1, fn=np.zeros):
    return fn((n,) + tuple(space.shape), dtype=space.dtype)


def concatenate(items, out, space):
    return np.stack(items, axis=0, out=out)
