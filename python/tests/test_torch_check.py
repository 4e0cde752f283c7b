"""The refusal of a torch the core was not built against (metarl/_torch_check.py): the
release compared without pre-release and local tags, the std::string ABI as a 0/1 flag."""

import types

import pytest

from metarl import _torch_check


def test_the_same_release_passes_whatever_its_tags():
    assert _torch_check.mismatch("1.13.0", 1, "1.13.0a0+gitunknown", True) is None
    assert _torch_check.mismatch("2.11.0", 1, "2.11.0+cu130", True) is None


def test_another_release_names_both():
    problem = _torch_check.mismatch("2.11.0", 1, "2.10.0+cu128", True)
    assert "LibTorch 2.11.0" in problem and "torch is 2.10.0+cu128" in problem
    assert _torch_check.mismatch("1.13.0", 1, "1.13.1", True) is not None  # patch releases too


def test_another_string_abi_names_both_flags():
    problem = _torch_check.mismatch("2.11.0", 0, "2.11.0", True)
    assert "_GLIBCXX_USE_CXX11_ABI=0" in problem and "_GLIBCXX_USE_CXX11_ABI=1" in problem


def test_check_raises_import_error_naming_the_package_and_torch():
    torch = types.SimpleNamespace(__version__="2.0.0", __file__="/x/torch/__init__.py",
                                  compiled_with_cxx11_abi=lambda: True)
    info = types.SimpleNamespace(torch_version="1.13.0", torch_cxx11_abi=1, metarl_version="0.1.0")
    with pytest.raises(ImportError, match=r"metarl 0.1.0 at /pkg cannot run with the torch at /x/torch/__init__.py"):
        _torch_check.check(torch, info, "/pkg")


def test_the_imported_package_matches_its_torch():
    import torch

    from metarl import _build_info
    assert _torch_check.mismatch(_build_info.torch_version, _build_info.torch_cxx11_abi, torch.__version__,
                                 torch.compiled_with_cxx11_abi()) is None
