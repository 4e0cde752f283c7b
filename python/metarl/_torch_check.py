"""Refuses, before the compiled core is loaded, a torch it was not built against.

metarl's core (``_core``) is compiled against LibTorch's C++ headers and links
``libtorch``; the ``torch`` imported into this interpreter brings the libtorch that is
actually loaded. If the two differ in release or in std::string ABI
(``_GLIBCXX_USE_CXX11_ABI``), loading the core fails with an undefined symbol or, worse,
crashes later. This module has no dependency on the core, so that ``setup.py`` runs the
same check on a build before it packages it.
"""

import re


def release(version):
    """(major, minor, patch) of a version text: "1.13.0a0+gitunknown" → (1, 13, 0)."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def mismatch(built_version, built_cxx11_abi, torch_version, torch_cxx11_abi):
    """Why a core built against LibTorch ``built_version`` (ABI flag ``built_cxx11_abi``,
    0 or 1) cannot run in a torch ``torch_version`` (``torch_cxx11_abi``), or None."""
    problems = []
    if release(built_version) != release(torch_version):
        problems.append(f"it was compiled against LibTorch {built_version}, and this interpreter's torch is "
                        f"{torch_version} (the release must be the same)")
    if int(built_cxx11_abi) != int(bool(torch_cxx11_abi)):
        problems.append(f"it was compiled with _GLIBCXX_USE_CXX11_ABI={int(built_cxx11_abi)}, and this torch "
                        f"was built with _GLIBCXX_USE_CXX11_ABI={int(bool(torch_cxx11_abi))}")
    return "; ".join(problems) or None


def check(torch, build_info, where):
    """Raises ImportError naming both torches when ``torch`` (the imported module) cannot
    load the core that ``build_info`` (metarl._build_info) describes; ``where`` is the
    package's directory, for the message."""
    problem = mismatch(build_info.torch_version, build_info.torch_cxx11_abi, torch.__version__,
                       torch.compiled_with_cxx11_abi())
    if problem:
        raise ImportError(
            f"metarl {build_info.metarl_version} at {where} cannot run with the torch at {torch.__file__}: "
            f"{problem}. Rebuild metarl against this torch (pip install --no-build-isolation . in its "
            f"source, with this interpreter), or use the interpreter it was built for.")
