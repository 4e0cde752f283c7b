"""metarl: meta-reinforcement learning (Meta-SGD, MAML) with a C++ core.

The same library as the ``metarl`` command line, driven from Python::

    import metarl
    metarl.train(env="point-nav", iterations=60, out="runs/nav")       # keys of `metarl train`
    report = metarl.evaluate("runs/nav", split="heldout", steps=3)      # keys of `metarl eval`
    print(report.table)
    trainer = metarl.Trainer(env="point-nav")                            # iteration by iteration
    trainer.run_iteration(); trainer.alpha                              # torch tensors

Environments: ``metarl.make_env(name, batch_size, seed)`` (NumPy views of the C++
buffers), ``metarl.VectorEnv`` (a Gymnasium-style vector adapter), ``metarl.register_env``
(an environment written in Python). A bad key or value raises ValueError with the
command line's message. docs/python.md has the whole API.
"""

import json
import logging
import os
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

# The compiled core hands torch tensors to Python: torch's own module must be set up
# first (without it, converting a tensor dereferences torch's uninitialised type).
import torch

from . import _build_info, _torch_check

# A torch of another release or std::string ABI than the core's LibTorch: a clear
# ImportError instead of an undefined symbol or a crash (_torch_check.py).
_torch_check.check(torch, _build_info, os.path.dirname(__file__))

from . import _core  # noqa: E402
from ._core import (
    Env,
    TaskDistribution,
    TaskParameter,
    __version__,
    check_env,
    describe_env,
    env_names,
    load_plugin,
    make_env,
    training_defaults,
)
from .vector import VectorEnv

__all__ = [
    "Env", "EvalReport", "Experiment", "TaskDistribution", "TaskParameter", "Trainer", "VectorEnv",
    "check_env", "describe_env", "effective_config", "env_names", "evaluate", "load_plugin", "make_env",
    "register_env", "train", "training_defaults",
]

logger = logging.getLogger("metarl")

# Type aliases, in typing's spelling rather than `X | Y`: annotations here are evaluated
# at import and Python 3.9 is supported. A path: str or os.PathLike. A config: a YAML
# file's path, YAML text or a dict of config keys (a dict: _sources tests for one), or
# None for keywords only.
_Path = Union[str, os.PathLike[str]]
_ConfigSource = Union[_Path, Dict[str, Any], None]


def _value_text(value: Any) -> str:
    """A keyword argument as the command line's --set would give it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_value_text(item) for item in value)
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back to the same double
    return str(value)


def _sources(config: _ConfigSource, keys: Mapping[str, Any]) -> Tuple[str, List[Tuple[str, str]]]:
    """(YAML text, [(key, value text)]) from a config file path, YAML text or dict, and keywords.

    The keywords come last, as --set does on the command line."""
    text = ""
    overrides = []
    if isinstance(config, dict):
        overrides.extend((str(k), _value_text(v)) for k, v in config.items())
    elif isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        if "\n" not in path and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                text = f.read()
        elif ":" in path:
            text = path
        else:
            raise ValueError(f"config '{path}': no such file, and not YAML text (expected a path, YAML or a dict)")
    elif config is not None:
        raise TypeError(f"config: expected a path, YAML text or a dict, got {type(config).__name__}")
    overrides.extend((k, _value_text(v)) for k, v in keys.items())
    return text, overrides


def effective_config(config: _ConfigSource = None, **keys: Any) -> str:
    """The effective training config as YAML, as ``metarl train --print-config`` prints it.

    ``config``: a YAML file, YAML text or a dict of config keys; keyword arguments are
    keys too and come last. Raises ValueError for a bad key or value or an unknown
    environment, TypeError for a ``config`` of another type."""
    text, overrides = _sources(config, keys)
    return _core.effective_config(text, overrides)


def train(config: _ConfigSource = None, out: Optional[_Path] = None, *, resume: bool = False, force: bool = False,
          iterations: Optional[int] = None, callback: Optional[Callable[[Dict[str, float]], None]] = None,
          **keys: Any) -> _Path:
    """Meta-train into the run directory ``out``, as ``metarl train`` does.

    ``config``: a YAML file, YAML text or a dict of config keys; keyword arguments are
    keys too (``env="pendulum", meta_batch=10``) and come last. The environment's
    training defaults apply under them. ``resume=True`` continues ``out`` (to
    ``iterations`` when given). ``callback(metrics)`` gets each iteration's
    metrics.csv columns as a dict; each iteration is also logged to the ``metarl``
    logger at INFO. Ctrl-C stops after the current iteration, with a checkpoint, and
    raises KeyboardInterrupt. Returns ``out``.

    Raises ValueError without ``out``, for config keys with ``resume=True``, or for a bad
    key or value (the command line's message).
    """
    if out is None:
        raise ValueError("train: out (the run directory) is required")
    if resume and (config is not None or keys):
        raise ValueError("train: resume=True continues the run with its own config; pass only out and iterations")
    if not resume and iterations is not None:
        keys["iterations"] = iterations
    text, overrides = ("", []) if resume else _sources(config, keys)

    def on_iteration(metrics: Dict[str, float]) -> None:
        logger.info("iteration %d: return before %.3f, after %.3f", metrics["iteration"],
                    metrics["return_before"], metrics["return_after"])
        if callback is not None:
            callback(metrics)

    _core.train(text, overrides, os.fspath(out), resume, force, int(iterations or 0) if resume else 0, on_iteration)
    return out


class EvalReport(dict):
    """``metarl eval``'s report: the JSON object as a dict, plus ``table`` (the text the
    command line prints) and ``tasks`` (one dict per task: parameters and every
    method's return at every step)."""

    table: str
    tasks: List[Dict[str, Any]]

    def __init__(self, report_json: str, table: str, task_lines: str) -> None:
        """From what _core.evaluate returns: the report's JSON, the table's text and one
        JSON object per line per task."""
        super().__init__(json.loads(report_json))
        self.table = table
        self.tasks = [json.loads(line) for line in task_lines.splitlines()]

    def __str__(self) -> str:
        """The table, as ``metarl eval`` prints it."""
        return self.table


def evaluate(runs: Union[_Path, Iterable[_Path], None] = None, config: _ConfigSource = None, *,
             progress: Optional[Callable[[str, int, int, float], None]] = None, **keys: Any) -> EvalReport:
    """Evaluate runs (run directories, checkpoint files or seed groups) as ``metarl eval``
    does, with its keys (split, tasks, rollouts, steps, random, step_sizes, seed, ...).
    Nothing is written; returns an EvalReport. ``progress(method, step, steps,
    mean_return)`` after each step's rollouts. Raises ValueError for a bad key or value
    or a run that cannot be read."""
    if runs is not None:
        keys["checkpoint"] = [os.fspath(runs)] if isinstance(runs, (str, os.PathLike)) else [os.fspath(r) for r in runs]
    text, overrides = _sources(config, keys)
    return EvalReport(*_core.evaluate(text, overrides, progress))


class Trainer(_core.Trainer):
    """A training run in memory, one meta-iteration at a time: ``run_iteration()`` returns
    the metrics dict; ``theta`` and ``alpha`` are the learner's own torch tensors;
    ``save_checkpoint(path)`` writes a checkpoint ``metarl eval`` reads."""

    def __init__(self, config: _ConfigSource = None, **keys: Any) -> None:
        """``config``: a YAML file, YAML text or a dict of config keys; keyword arguments
        are keys too and come last. Raises ValueError for a bad key or value."""
        super().__init__(*_sources(config, keys))


class Experiment(_core.Experiment):
    """The parts a config builds, for loops of one's own::

        exp = metarl.Experiment(env="point-nav", meta_batch=4, rollouts=10)
        tasks = exp.sample_tasks("train")                 # [T, P]
        before = exp.sample(exp.theta, tasks)             # dict of [T, R, H, ...] tensors
        adapted = exp.adapt(exp.theta, before, create_graph=True)
        after = exp.sample(adapted, tasks)
        exp.meta_loss(adapted, after).backward()          # gradients in exp.theta and exp.alpha
    """

    def __init__(self, config: _ConfigSource = None, **keys: Any) -> None:
        """``config``: a YAML file, YAML text or a dict of config keys; keyword arguments
        are keys too and come last. Raises ValueError for a bad key or value."""
        super().__init__(*_sources(config, keys))


def register_env(name: str, factory: Callable[[int, int], Any], *, spec: Mapping[str, Any],
                 tasks: Iterable[TaskParameter], summary: str = "",
                 training_defaults: Optional[Mapping[str, Any]] = None) -> None:
    """Register an environment written in Python under ``name`` (see docs/python.md).

    ``factory(batch_size, seed)`` returns an object with ``reset_row(row, task,
    uniforms)`` -> the row's first observation, and ``step_rows(actions, begin, end,
    tasks, observations, rewards, terminated)``, which writes rows [begin, end) in place.
    ``spec``: observation_dim, action_dim (or discrete_actions, num_actions),
    action_low/high, observation_low/high, max_episode_steps. ``tasks``: TaskParameters.
    ``training_defaults``: a dict of config keys ``metarl.train(env=name)`` starts from.
    Raises ValueError for an unknown spec key, an invalid spec or task range, or a name
    already registered."""
    defaults = ""
    if training_defaults:
        defaults = "".join(f"{k}: {_value_text(v)}\n" for k, v in training_defaults.items())
    _core.register_env(name, factory, dict(spec), list(tasks), summary, defaults)
