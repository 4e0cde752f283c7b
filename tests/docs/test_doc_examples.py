"""Every example of README.md and the user guides in docs/ runs (issue U: a guide's
example that raised KeyError went unnoticed): each ```sh block as a bash script and each
```python block as a program, in order, in one scratch directory per document, so a
later block finds the runs an earlier one trained. `metarl` (and `build/apps/metarl`)
is tests/docs/scaled_metarl.py: the same commands with small sizes.

What is not run says why, in the document, right above its block:
`<!-- docs-test: skip: REASON -->` (installing packages, a GPU, other hosts). Commands
belong in ```sh blocks: an untagged block is output or a listing, and one that holds a
metarl command fails this test, so a command cannot hide from it.

docs/results.md runs too: its blocks are the records of long experiments, each written
so that every run it evaluates is trained by it or by an earlier block. An sh block loses
its common indentation (textwrap.dedent), not each line's, so a heredoc keeps its Python
indented."""

import os
import pathlib
import re
import subprocess
import sys
import textwrap
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scaled_metarl import APPENDED, SCALED  # noqa: E402  (beside this file)

SOURCE = pathlib.Path(os.environ["METARL_SOURCE_DIR"])
BUILD = pathlib.Path(os.environ["METARL_BUILD_DIR"])
HERE = pathlib.Path(__file__).resolve().parent

GUIDES = ["README.md", "docs/python.md", "docs/plugins.md", "docs/distributed.md", "docs/benchmarks.md",
          "docs/results.md"]
ALL_DOCS = GUIDES + ["docs/architecture.md"]

FENCE = re.compile(r"^\s*```(\S*)\s*$")
SKIP = re.compile(r"<!--\s*docs-test:\s*skip:\s*(\S.*?)\s*-->")
COMMAND = re.compile(r"^\s*(\$\s*)?(build/apps/|~/metarl/bin/)?metarl\s")


# What a guide's Python block may take as given (numpy as np, metarl imported), and
# metarl's entry points with the small sizes scaled_metarl.py gives the command line.
def _python_sizes(command, flags):
    return {flag[2:].replace("-", "_"): int(SCALED[command][flag]) for flag in flags}


PYTHON_PRELUDE = f"""
import numpy as np
import metarl
def _scaled(function, sizes):
    def call(*args, **keys):
        if not keys.get("resume"):
            keys.update(sizes)
        return function(*args, **keys)
    return call
metarl.train = _scaled(metarl.train, {_python_sizes("train", APPENDED["train"])!r})
metarl.evaluate = _scaled(metarl.evaluate, {_python_sizes("eval", APPENDED["eval"])!r})
metarl.Trainer = _scaled(metarl.Trainer, {_python_sizes("train", ["--meta-batch", "--rollouts", "--horizon"])!r})
"""


def blocks(doc):
    """(first line number, language, text, skip reason or None) of each fenced block."""
    lines = (SOURCE / doc).read_text().split("\n")
    found, start, language = [], None, None
    for number, line in enumerate(lines, 1):
        match = FENCE.match(line)
        if not match:
            continue
        if start is None:
            start, language = number, match.group(1)
            continue
        before = "\n".join(lines[max(0, start - 3):start - 1])
        skip = SKIP.search(before)
        text = "\n".join(lines[start:number - 1])
        found.append((start, language, textwrap.dedent(text) if language == "sh" else text,
                      skip.group(1) if skip else None))
        start = None
    return found


def scratch_directory(tmp_path):
    """A directory that looks like a checkout after scripts/build.sh, with `metarl` on PATH."""
    for shared in ("configs", "examples", "scripts"):
        (tmp_path / shared).symlink_to(SOURCE / shared)
    (tmp_path / "build").symlink_to(BUILD)
    bin_dir = tmp_path / ".docs-test-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "metarl"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'scaled_metarl.py'} \"$@\"\n")
    wrapper.chmod(0o755)
    # `python3` in a block is this test's interpreter (Debian's, with numpy and the metarl
    # module), not whichever python3 comes first on the caller's PATH.
    python = bin_dir / "python3"
    python.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    python.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env["PYTHONPATH"] = f"{BUILD / 'python'}:{SOURCE / 'examples' / 'python'}"
    env["HOME"] = str(tmp_path)        # ~/metarl (docs/plugins.md's install prefix) lands here
    env["ITERATIONS"] = "2"            # scripts/quickstart.sh's training length
    env["RUN_DIR"] = str(tmp_path / "runs" / "quickstart")  # and its run, here rather than in the checkout
    return env


def run_block(doc, start, language, text, cwd, env):
    where = f"{doc}:{start}"
    if language == "sh":
        # The documented paths of the binary become the scaled wrapper.
        script = re.sub(r"(build/apps/|~/metarl/bin/)metarl\b", "metarl", text)
        command = ["bash", "-euo", "pipefail", "-c", script]
    else:
        command = [sys.executable, "-c", PYTHON_PRELUDE + text]
    began = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    print(f"{where}: {language} block, {time.monotonic() - began:.1f} s")  # pytest -s shows where the time goes
    assert result.returncode == 0, (f"{where}: the {language} block exited {result.returncode}\n--- block\n{text}\n"
                                    f"--- stderr\n{result.stderr[-3000:]}\n--- stdout\n{result.stdout[-1500:]}")


@pytest.mark.parametrize("doc", GUIDES)
def test_every_example_of_the_guide_runs(doc, tmp_path):
    env = scratch_directory(tmp_path)
    ran = 0
    for start, language, text, skip in blocks(doc):
        if language not in ("sh", "python") or skip:
            continue
        run_block(doc, start, language, text, tmp_path, env)
        ran += 1
    assert ran > 0 or doc == "docs/benchmarks.md", f"{doc}: no example ran"


@pytest.mark.parametrize("doc", ALL_DOCS)
def test_commands_stand_in_sh_blocks_and_skips_give_a_reason(doc):
    for start, language, text, skip in blocks(doc):
        if language in ("", "console"):
            hidden = [line for line in text.split("\n") if COMMAND.match(line)]
            assert not hidden, f"{doc}:{start}: a command in an untagged block (tag it ```sh so it runs): {hidden[0]}"
    source = (SOURCE / doc).read_text()
    for marker in re.findall(r"<!--\s*docs-test:[^>]*-->", source):
        assert SKIP.match(marker), f"{doc}: '{marker}' does not read <!-- docs-test: skip: REASON -->"
