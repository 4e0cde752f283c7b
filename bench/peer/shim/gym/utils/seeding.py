"""gym.utils.seeding.np_random: a RandomState and the seed it was made from."""
import os

import numpy as np


def np_random(seed=None):
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    return np.random.RandomState(seed), seed
