"""CTest python.pip (issue T): `pip install .` the way a Python user installs metarl.

In a fresh venv that sees the system's torch and numpy (--system-site-packages), with
nothing fetched (--no-index): `pip install --no-build-isolation .` from the CMake build
the suite already made (METARL_CMAKE_BUILD_DIR, so it is not built twice). pip installs
from a copy of the source's files (git's tracked and untracked, not ignored), so that
neither setuptools' build files nor pip install -e's links touch the source tree that
other tests read. Then, from a directory outside the source: `import metarl` from the
venv, a two-iteration train and an evaluation from Python and from the venv's `metarl`
on PATH, `metarl --version`,
`python -m metarl`, the refusal of a torch the core was not built against, and
`pip uninstall`, which must leave nothing of metarl in the venv. Then the same for
`pip install -e .`.

    python3 pip_install_test.py SOURCE_DIR BUILD_DIR SCRATCH_DIR
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE, BUILD, SCRATCH = (Path(arg).resolve() for arg in sys.argv[1:4])
COPY = SCRATCH / "source"  # what pip installs from
VENV = SCRATCH / "venv"
PYTHON = VENV / "bin" / "python"
PIP = [str(PYTHON), "-m", "pip"]
# Where the venv's packages go (lib/python3.X/site-packages).
SITE = VENV / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
ENV = {**os.environ, "METARL_CMAKE_BUILD_DIR": str(BUILD), "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}"}
ENV.pop("PYTHONPATH", None)  # the venv's package, not the build tree's


def run(*command, expect=0, cwd=SCRATCH):
    print("$", " ".join(str(part) for part in command), flush=True)
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=ENV, capture_output=True, text=True,
                            timeout=600)  # CTest's TIMEOUT (1200 s) leaves room for the rest
    output = result.stdout + result.stderr
    print(output[-4000:], flush=True)
    if result.returncode != expect:
        sys.exit(f"FAILED: exit status {result.returncode}, expected {expect}: {' '.join(map(str, command))}")
    return output


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")
    print("ok:", message, flush=True)


def metarl_files():
    """What of metarl is in the venv: the package, its record, the command line, the libraries."""
    found = [*SITE.glob("metarl*"), *SITE.glob("__editable__*metarl*"), *(VENV / "bin").glob("metarl*"),
             *(VENV / "lib").glob("libmetarl_*")]
    return sorted(str(path) for path in found)


def exercise(package_dir):
    """The installed package works from outside the source, as Python and as a command line."""
    version = run("metarl", "--version")
    check(version.strip().startswith("metarl "), f"`metarl --version` from the venv's PATH: {version.strip()}")
    check(shutil.which("metarl", path=ENV["PATH"]) == str(VENV / "bin" / "metarl"), "`metarl` is the venv's")
    check(run(PYTHON, "-m", "metarl", "--version") == version, "`python -m metarl --version` says the same")
    shutil.rmtree(SCRATCH / "runs", ignore_errors=True)
    output = run(PYTHON, "-c", f"""
import metarl, os
assert os.path.dirname(metarl.__file__) == {str(package_dir)!r}, metarl.__file__
metarl.train(env="point-nav", iterations=2, meta_batch=4, rollouts=4, out="runs/py")
report = metarl.evaluate("runs/py", split="heldout", tasks=4, rollouts=4, steps=1)
print("python eval mean", report["methods"]["meta-sgd"]["mean"])
""")
    check("python eval mean" in output, "import metarl, a two-iteration train and an evaluation from Python")
    run("metarl", "train", "--env", "point-nav", "--iterations", "2", "--meta-batch", "4", "--rollouts", "4",
        "--quiet", "--out", "runs/cli")
    output = run("metarl", "eval", "runs/cli", "--split", "heldout", "--tasks", "4", "--rollouts", "4", "--steps",
                 "1", "--no-save")
    check("meta-sgd" in output and (SCRATCH / "runs" / "cli" / "checkpoint.pt").is_file(),
          "a two-iteration train and an evaluation from the venv's `metarl`")


def refuses_another_torch(package_dir):
    """A core built against another LibTorch release: ImportError naming both, not a crash."""
    info = package_dir / "_build_info.py"
    saved = info.read_text()
    lines = ['torch_version = "0.1.0"' if line.startswith("torch_version =") else line for line in saved.splitlines()]
    try:
        info.write_text("\n".join(lines) + "\n")
        output = run(PYTHON, "-c", "import metarl", expect=1)
        check("ImportError" in output and "LibTorch 0.1.0" in output and "cannot run with the torch" in output,
              "a core built against another torch release is refused at import, naming both")
    finally:
        info.write_text(saved)


def uninstall():
    run(*PIP, "uninstall", "-y", "metarl")
    left = metarl_files()
    check(not left, f"pip uninstall leaves nothing of metarl in the venv (left: {left})")


def copy_source():
    """The source's files as git lists them (tracked and untracked, not ignored)."""
    listed = subprocess.run(["git", "-C", str(SOURCE), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = SOURCE / name
        if source.is_file():  # a deleted file git still lists is skipped
            (COPY / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, COPY / name)


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    copy_source()
    run(sys.executable, "-m", "venv", "--system-site-packages", VENV)

    # A wheel: package in site-packages, command line in bin/, libraries in lib/.
    run(*PIP, "install", "--no-index", "--no-build-isolation", COPY)
    package = SITE / "metarl"
    check((package / "__init__.py").is_file() and list(package.glob("_core*.so")) and
          (package / "_core.pyi").is_file() and (package / "py.typed").is_file(),
          "the package with its compiled core, stubs and py.typed is in the venv's site-packages")
    check((VENV / "bin" / "metarl").is_file() and len(list((VENV / "lib").glob("libmetarl_*.so.*"))) == 3,
          "the command line in the venv's bin/ and metarl's three libraries in its lib/")
    exercise(package)
    refuses_another_torch(package)
    uninstall()

    # Editable: the copy's package, linked to the build tree's core and command line.
    run(*PIP, "install", "--no-index", "--no-build-isolation", "-e", COPY)
    package = COPY / "python" / "metarl"
    check((package / "_build_info.py").is_symlink() and any(link.is_symlink() for link in package.glob("_core*.so")),
          "pip install -e links the build tree's core and _build_info.py into the source's package")
    exercise(package)
    uninstall()
    print("python.pip: passed")


if __name__ == "__main__":
    main()
