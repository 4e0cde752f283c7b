"""``python3 -m metarl ARGS``: the metarl command line, the same program as ``metarl ARGS``.

The command line is a C++ executable; this finds the one that belongs to this package
and replaces the interpreter with it (exit status, signals and output are its own).
"""

import os
import sys
from pathlib import Path

from . import _build_info


def cli_candidates():
    """Where the command line of this copy of the package is:

    - the build tree (PYTHONPATH=build/python) and an editable install (pip install -e .,
      whose _build_info.py is a link to the build tree's): the build tree's apps/metarl;
    - a wheel (pip install .): the prefix's bin/, the package being in
      <prefix>/lib/python3.X/site-packages/metarl;
    - `cmake --install`: the relative path from the package to the install's bin/.
    """
    package = Path(__file__).resolve().parent
    if package == Path(_build_info.build_tree_package).resolve() or (package / "_build_info.py").is_symlink():
        return [Path(_build_info.build_tree_cli)]
    candidates = []
    if len(package.parents) > 3:
        candidates.append(package.parents[3] / "bin" / "metarl")
    if _build_info.installed_package_to_bindir:
        candidates.append((package / _build_info.installed_package_to_bindir / "metarl").resolve())
    return candidates


def main():
    candidates = cli_candidates()
    for cli in candidates:
        if cli.is_file() and os.access(cli, os.X_OK):
            os.execv(cli, ["metarl", *sys.argv[1:]])
    looked = ", ".join(str(path) for path in candidates)
    print(f"metarl: this package's command line is not installed (looked for: {looked}); reinstall "
          "with pip install --no-build-isolation . from metarl's source", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
