"""``python3 -m metarl ARGS``: the metarl command line, the same program as ``metarl ARGS``.

The command line is a C++ executable; this finds the one that belongs to this package
and replaces the interpreter with it (exit status, signals and output are its own).
"""

import os
import sys
from pathlib import Path

from . import _build_info


def cli_candidates():
    """Where the command line of this package can be, in order:

    - a wheel (pip install .) and ``cmake --install`` put it in the prefix's bin/, with the
      package four levels below the prefix (lib/python3.X/site-packages/metarl);
    - the build tree (PYTHONPATH=build/python, pip install -e .) has it in apps/.
    """
    package = Path(__file__).resolve().parent
    candidates = [Path(_build_info.build_tree_cli)]
    if len(package.parents) > 3:
        candidates.insert(0, package.parents[3] / _build_info.install_bindir / "metarl")
    return candidates


def main():
    for cli in cli_candidates():
        if cli.is_file() and os.access(cli, os.X_OK):
            os.execv(cli, ["metarl", *sys.argv[1:]])
    looked = ", ".join(str(path) for path in cli_candidates())
    print(f"metarl: this package's command line is not installed (looked for: {looked}); reinstall "
          "with pip install --no-build-isolation . from metarl's source", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
