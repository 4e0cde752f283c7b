"""Runs pytorch-maml-rl's train.py unmodified, on the torch this machine has.

Usage: PYTHONPATH=bench/peer/shim:PEER python3 bench/peer/run_peer.py PEER/train.py ARGS...

pytorch-maml-rl (21d4ba1) fits its linear baseline with torch.lstsq(B, A), which torch
kept only as a function that raises from 1.13 on (Debian's torch): torch.linalg.lstsq(A, B) is the same least-squares
solve with the arguments the other way round. The sampler's worker processes are forked,
so they inherit the function. Nothing else is changed.
"""
import runpy
import sys

import torch



def lstsq(B, A):
    return torch.linalg.lstsq(A, B).solution, None


try:
    torch.lstsq(torch.ones(1, 1), torch.ones(1, 1))
except (AttributeError, RuntimeError):  # removed: it raises "… is now removed"
    torch.lstsq = lstsq

script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
