"""tqdm.trange as a timer: prints each iteration's wall-clock seconds to stderr
("iteration I: S s"), which is what the side-by-side benchmark reads."""
import sys
import time


def trange(*args, **kwargs):
    start = time.perf_counter()
    for i in range(*args):
        yield i
        now = time.perf_counter()
        print("iteration {}: {:.4f} s".format(i, now - start), file=sys.stderr, flush=True)
        start = now
