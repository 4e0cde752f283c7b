"""Shared pieces of the metarl pytest suite. Run by CTest (python.pytest) with
PYTHONPATH=build/python and METARL_CLI naming the built command line."""

import os
import subprocess
import sys

import pytest

import metarl

CLI = os.environ.get("METARL_CLI", "metarl")
SOURCE_DIR = os.environ.get("METARL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
# examples/python/drift.py, the environment written in Python the tests train.
sys.path.insert(0, os.path.join(SOURCE_DIR, "examples", "python"))

# Tiny but complete training sizes; a constant outer step so that runs can be extended.
TINY = dict(iterations=2, meta_batch=2, rollouts=2, horizon=10, hidden_sizes=[8], threads=1, outer_lr_decay="none")


def cli(*args, check=True):
    """Runs the metarl command line; its CompletedProcess (stdout and stderr as text)."""
    result = subprocess.run([CLI, *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"metarl {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def tiny_flags(**extra):
    """TINY (and `extra`) as command-line flags."""
    keys = dict(TINY, **extra)
    flags = []
    for key, value in keys.items():
        flags.append("--" + key.replace("_", "-"))
        flags.append(",".join(map(str, value)) if isinstance(value, list) else str(value))
    return flags


def metrics_without_time(path):
    """metrics.csv's rows without the two wall-clock columns (wall_clock, seconds)."""
    with open(path) as f:
        return [line.rstrip("\n").rsplit(",", 2)[0] for line in f]


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path / "run"
