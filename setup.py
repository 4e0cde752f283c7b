"""`pip install .` and `pip install -e .` (issue T): the package built by the project's CMake.

pyproject.toml declares setuptools as the backend; this file adds the CMake step. A
wheel of metarl is an install prefix, as `cmake --install` lays one out:

    lib/python3.X/site-packages/metarl/   the package: *.py, the stubs, _core (the compiled core)
    lib/libmetarl_{envs,agents,meta}.so.0.1  the libraries _core and the command line link
    bin/metarl                            the command line, a C++ executable (on the venv's PATH)

(the libraries and the executable as the wheel's data files, so pip puts them in the
prefix's lib/ and bin/, where their relative RUNPATHs expect each other). torch and numpy
are not built or fetched: they come from the interpreter's site packages (Debian's
python3-torch and python3-numpy; a venv made with --system-site-packages sees them), and
the build refuses a torch other than the LibTorch it compiles against.

`pip install -e .` builds the same way, links the build tree's compiled core into
python/metarl, and puts on PATH a `metarl` that runs the build tree's command line, so a
rebuild (cmake --build, or pip install -e . again) is what the package runs.

Environment variables:
    METARL_CMAKE_BUILD_DIR  a CMake build directory to use (default: build/pip under the
                            source). One that is already configured is built and installed
                            from as it is, so a tree built by scripts/build.sh is not built twice.
    METARL_CMAKE_ARGS       more arguments for the first configure (e.g. -DCMAKE_PREFIX_PATH=...).
    CMAKE_BUILD_PARALLEL_LEVEL  compile jobs (default: the number of CPUs).
"""

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

# setuptools (66, Debian 12's) has no install_data of its own: distutils' (setuptools' copy
# of it, which importing setuptools puts in place of the standard library's).
from distutils.command.install_data import install_data  # noqa: E402

SOURCE = Path(__file__).resolve().parent
PACKAGE_SOURCE = SOURCE / "python" / "metarl"


def project_version():
    """project(metarl VERSION x.y.z) of CMakeLists.txt, the one version of everything."""
    match = re.search(r"project\(metarl\s+VERSION\s+([0-9.]+)", (SOURCE / "CMakeLists.txt").read_text())
    if not match:
        raise SystemExit("setup.py: CMakeLists.txt has no project(metarl VERSION x.y.z)")
    return match.group(1)


def load_module(name, path):
    """A module from a file, without importing the package around it (which needs _core),
    and without writing a __pycache__ beside it."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module


def run(command, **kwargs):
    print("setup.py:", " ".join(shlex.quote(str(part)) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, **kwargs)


def import_torch():
    try:
        import torch
    except ImportError as error:
        raise SystemExit(
            f"setup.py: metarl's Python package needs torch and numpy importable by {sys.executable} "
            f"({error}). On Debian: apt-get install python3-torch python3-numpy, and make the venv with "
            "python3 -m venv --system-site-packages; then pip install --no-build-isolation .") from None
    return torch


class CMakeBuild:
    """The CMake build directory this install uses: configured once, built, installed from."""

    def __init__(self):
        chosen = os.environ.get("METARL_CMAKE_BUILD_DIR")
        self.dir = Path(chosen).resolve() if chosen else SOURCE / "build" / "pip"
        self.package_dir = self.dir / "python" / "metarl"  # the build tree's importable package

    def configure(self, torch):
        if (self.dir / "CMakeCache.txt").is_file():
            return  # configured already (by an earlier install, or by scripts/build.sh): as it is
        args = ["-S", SOURCE, "-B", self.dir, "-DCMAKE_BUILD_TYPE=Release", "-DMETARL_BUILD_TESTS=OFF",
                f"-DPython3_EXECUTABLE={sys.executable}"]
        if shutil.which("ninja"):
            args += ["-G", "Ninja"]
        # A pip-installed torch carries its LibTorch and says where (Debian's python3-torch
        # does not: its LibTorch is libtorch-dev's, which find_package(Torch) finds itself).
        torch_cmake = Path(torch.utils.cmake_prefix_path)
        if torch_cmake.is_dir():
            args.append(f"-DCMAKE_PREFIX_PATH={torch_cmake}")
        args += shlex.split(os.environ.get("METARL_CMAKE_ARGS", ""))
        run(["cmake", *args])

    def build(self):
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        # The command line first: building it brings the configuration up to date.
        run(["cmake", "--build", self.dir, "--parallel", jobs, "--target", "metarl"])
        if not (self.package_dir / "_build_info.py").is_file():
            raise SystemExit(
                f"setup.py: the CMake build in {self.dir} has no Python module: its configure said why "
                "('metarl: no Python module ...'; it needs python3-dev, pybind11-dev, python3-torch and "
                f"python3-numpy, importable by the configured interpreter).")
        run(["cmake", "--build", self.dir, "--parallel", jobs, "--target", "metarl_python"])

    def check_interpreter(self, torch):
        """The refusals `import metarl` would give, before anything is packaged: a core
        built for another Python or against another torch (a build directory configured
        earlier keeps what it was configured with)."""
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        cores = [core.name for core in self.package_dir.glob("_core*.so")]
        remedy = (f"remove {self.dir} (it is configured again from scratch) or choose another directory "
                  "with METARL_CMAKE_BUILD_DIR")
        if cores != [f"_core{suffix}"]:
            raise SystemExit(f"setup.py: the CMake build in {self.dir} made {cores} for another Python; "
                             f"{sys.executable} imports _core{suffix}: {remedy}")
        info = load_module("metarl_build_info", self.package_dir / "_build_info.py")
        torch_check = load_module("metarl_torch_check", PACKAGE_SOURCE / "_torch_check.py")
        try:
            torch_check.check(torch, info, self.dir)
        except ImportError as error:
            raise SystemExit(f"setup.py: {error} ({remedy})") from None
        return info

    def install(self):
        """`cmake --install` into a fresh staging prefix; the prefix's path."""
        stage = self.dir / "pip-stage"
        shutil.rmtree(stage, ignore_errors=True)
        run(["cmake", "--install", self.dir, "--prefix", stage])
        return stage


class BuildWithCMake(build_py):
    """build_py that builds with CMake and takes the package from its install."""

    def run(self):
        # SystemExit, not an Exception: setuptools' editable install turns an Exception
        # in build_py into a warning and reports success.
        try:
            torch = import_torch()
            cmake = CMakeBuild()
            cmake.configure(torch)
            cmake.build()
            info = cmake.check_interpreter(torch)
            self.prefix_files = {}  # wheel data directory (relative to the prefix) -> [files]
            if self.editable_mode:
                self.link_build_tree(cmake, info)
                super().run()
            else:
                self.take_install(cmake.install())
        except (subprocess.CalledProcessError, OSError) as error:
            raise SystemExit(f"setup.py: {error}") from None

    def take_install(self, stage):
        packages = [init.parent for init in stage.rglob("metarl/__init__.py")]
        if len(packages) != 1:
            raise SystemExit(f"setup.py: expected one metarl package under {stage}, found {packages}")
        target = Path(self.build_lib) / "metarl"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(packages[0], target, ignore=shutil.ignore_patterns("__pycache__"))
        for file in sorted(stage.rglob("*")):
            relative = file.relative_to(stage)
            if relative.parts[0] == "bin" and file.name == "metarl":
                self.prefix_files.setdefault(str(relative.parent), []).append(str(file))
            # The libraries under the names the loader asks for (their sonames,
            # libmetarl_X.so.MAJOR.MINOR), not their two other names.
            elif re.fullmatch(r"libmetarl_[a-z]+\.so\.\d+\.\d+", file.name):
                self.prefix_files.setdefault(str(relative.parent), []).append(str(file))
        found = [Path(f).name for files in self.prefix_files.values() for f in files]
        if "metarl" not in found or len(found) < 4:
            raise SystemExit(f"setup.py: {stage} lacks the command line or a library (found {found})")

    def link_build_tree(self, cmake, info):
        # The source package imports the build tree's core and build description.
        for built in [*cmake.package_dir.glob("_core*.so"), cmake.package_dir / "_build_info.py"]:
            link = PACKAGE_SOURCE / built.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(built)
        # `metarl` on PATH runs the build tree's command line (the script is written in
        # the build directory, the user's own, and copied into the venv's bin/).
        wrapper = cmake.dir / "pip-editable-bin" / "metarl"
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        wrapper.write_text(f"#!/bin/sh\n# pip install -e {SOURCE}: the build tree's command line\n"
                           f"exec {shlex.quote(info.build_tree_cli)} \"$@\"\n")
        wrapper.chmod(0o755)
        self.prefix_files = {"bin": [str(wrapper)]}


class InstallPrefixFiles(install_data):
    """The command line and the libraries into the prefix's bin/ and lib/ (the wheel's data)."""

    def run(self):
        build = self.get_finalized_command("build_py")
        self.data_files = sorted(getattr(build, "prefix_files", {}).items())
        super().run()


class BinaryDistribution(Distribution):
    """A wheel for one interpreter and platform: it carries compiled code."""

    def has_ext_modules(self):
        return True

    def has_data_files(self):
        return True  # the command line and the libraries, known once CMake has built them

    # What setuptools' editable_wheel asks instead (`pip install -e .` installs the data
    # files only when this says so).
    has_data = has_data_files


setup(
    version=project_version(),
    distclass=BinaryDistribution,
    # The package is python/metarl; the build adds the compiled core, the command line
    # and metarl's libraries from CMake's install.
    package_dir={"": "python"},
    packages=["metarl"],
    cmdclass={"build_py": BuildWithCMake, "install_data": InstallPrefixFiles},
    # setuptools' own build files beside CMake's trees, not inside build/'s top level.
    options={"build": {"build_base": "build/setuptools"}, "egg_info": {"egg_base": "build/setuptools"}},
)
