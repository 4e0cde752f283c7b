#!/usr/bin/env python3
"""`metarl` as the documentation's examples call it, scaled down for the docs test
(test_doc_examples.py): the same subcommand and flags, with the sizes that make a run
long (iterations, tasks, rollouts, horizon, repetitions) replaced by small ones, then
the real command line (METARL_CLI) in this process's place.

A size the example gives is replaced where it stands (--iterations 300, --set
iterations=200, --iterations=300); one it leaves to its config or the defaults is
appended, so that a config file's 150 iterations become 2 as well."""

import os
import sys

# subcommand -> {flag: small value}; the config key is the flag without dashes, - as _.
SCALED = {
    "train": {"--iterations": "2", "--meta-batch": "2", "--rollouts": "2", "--horizon": "10",
              "--eval-every": "1", "--keep-checkpoints": "1", "--eval-tasks": "2", "--eval-rollouts": "2",
              "--adapt-every": "2"},
    "eval": {"--tasks": "4", "--rollouts": "2", "--oracle-tasks": "2", "--oracle-iterations": "2",
             "--oracle-rollouts": "2", "--adapt-every": "2"},
    "bench": {"--repetitions": "1", "--warmup": "0", "--env-repetitions": "1", "--steps": "5", "--batch": "64",
              "--meta-batch": "2"},
}
# Appended when absent; the others only replace a value the example gives. --adapt-every
# (online segments) replaced by 2: up to 5 segments fit the scaled horizon of 10.
APPENDED = {
    "train": ["--iterations", "--meta-batch", "--rollouts", "--horizon"],
    "eval": ["--tasks", "--rollouts"],
    "bench": ["--repetitions", "--warmup", "--env-repetitions", "--steps", "--batch", "--meta-batch"],
}
# Appended to an eval that trains oracles (--oracle-tasks), when absent: their own
# defaults (200 Adam steps of 20 rollouts each) would outlast the rest of the example.
ORACLE_APPENDED = ["--oracle-iterations", "--oracle-rollouts"]
# A resumed run keeps its sizes: only how far it goes may be given. Its --iterations N
# becomes 2 + ceil(N / 10): past the 2 every scaled run starts with, and growing with N,
# so that resuming one run to 210, 220, ... 270 (docs/results.md's checkpoints taken every
# 10th iteration) or to 400 after 270 still moves it forward each time.
RESUME_SCALED = {"--iterations": lambda n: str(2 + -(-int(n) // 10))}


def small(size, given):
    """The scaled value of a size the example gives: fixed, or a function of the given one."""
    return size(given) if callable(size) else size


def subcommand_index(args):
    i = 0
    while i < len(args):
        if args[i] == "--plugin":
            i += 2
            continue
        if not args[i].startswith("-"):
            return i
        i += 1
    return None


def scale(args):
    at = subcommand_index(args)
    if at is None or args[at] not in SCALED:
        return args
    command = args[at]
    sizes = RESUME_SCALED if command == "train" and "--resume" in args else SCALED[command]
    out = list(args)
    seen = set()
    i = at + 1
    while i < len(out):
        word = out[i]
        name, equals, _ = word.partition("=")
        if name in sizes:
            seen.add(name)
            if equals:
                out[i] = name + "=" + small(sizes[name], word[len(name) + 1:])
            elif i + 1 < len(out):
                out[i + 1] = small(sizes[name], out[i + 1])
                i += 1
        elif word == "--set" and i + 1 < len(out):
            key, eq, _ = out[i + 1].partition("=")
            flag = "--" + key.replace("_", "-")
            if eq and flag in sizes:
                out[i + 1] = key + "=" + small(sizes[flag], out[i + 1][len(key) + 1:])
                seen.add(flag)
            i += 1
        i += 1
    if command == "train" and "--resume" in args:
        return out
    appended = APPENDED[command] + (ORACLE_APPENDED if command == "eval" and "--oracle-tasks" in seen else [])
    for flag in appended:
        if flag not in seen:
            out += [flag, sizes[flag]]
    return out


if __name__ == "__main__":
    arguments = scale(sys.argv[1:])
    os.execv(os.environ["METARL_CLI"], [os.environ["METARL_CLI"]] + arguments)
