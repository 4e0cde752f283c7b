"""python/metarl/_core.pyi against the compiled metarl._core, and help() text for the
public API.

The stub is read with `ast`, never imported. The compiled side is what pybind11 reports:
dir() for names, and the signature line(s) it puts at the start of each function's
__doc__, e.g. "make_env(name: str, batch_size: int, seed: int = 0) -> metarl._core.Env"
(an overloaded function lists one per overload, numbered). A stub that lags the bindings
(a renamed py::arg, a new method, a changed default) fails here instead of misleading
editors.
"""

import ast
import inspect
import re
from pathlib import Path

import pytest

import metarl
import metarl.vector
from metarl import _core

STUB_PATH = Path(__file__).resolve().parents[1] / "metarl" / "_core.pyi"


# --- the stub, as declared ------------------------------------------------------------


class StubFunction:
    """One `def` of the stub: its parameters (name, default expression or None) in order."""

    def __init__(self, node: ast.FunctionDef):
        args = node.args
        # pybind11 functions take positional-or-keyword parameters only.
        assert not (args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg), (
            f"{node.name}: the stub declares *args, **kwargs, keyword-only or positional-only parameters, "
            "which pybind11 bindings do not have")
        defaults = [None] * (len(args.args) - len(args.defaults)) + list(args.defaults)
        self.parameters = [(arg.arg, default) for arg, default in zip(args.args, defaults)]
        self.is_property = any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list)
        self.is_overload = any(isinstance(d, ast.Name) and d.id == "overload" for d in node.decorator_list)


def stub_members(body):
    """{name: [StubFunction, ...] (one per overload) or "attribute" or ast.ClassDef}."""
    members = {}
    for node in body:
        if isinstance(node, ast.FunctionDef):
            members.setdefault(node.name, []).append(StubFunction(node))
        elif isinstance(node, ast.ClassDef):
            members[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members[node.target.id] = "attribute"
    return members


STUB = stub_members(ast.parse(STUB_PATH.read_text(encoding="utf-8"), filename=str(STUB_PATH)).body)
STUB_CLASSES = {name: stub_members(node.body) for name, node in STUB.items() if isinstance(node, ast.ClassDef)}


# --- the compiled module, as pybind11 reports it --------------------------------------


def public_names(namespace):
    return {name for name in dir(namespace) if not name.startswith("_")}


def scan_brackets(text, start=0, depth=0):
    """(index, character, bracket depth after it) for each character of text[start:]
    outside quotes: a parameter's type or default may hold brackets and commas
    ("Callable[[str, int], None] = None")."""
    quote = None
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            if char == quote and text[i - 1] != "\\":
                quote = None
            continue
        if char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        yield i, char, depth


def split_top_level(text, separator=","):
    """`text` split at `separator` outside brackets and quotes."""
    parts, start = [], 0
    for i, char, depth in scan_brackets(text):
        if char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def parameter_list(signature, name):
    """The text between `name(` and its matching `)` in a pybind11 signature line."""
    start = len(name) + 1
    for i, char, depth in scan_brackets(signature, start, depth=1):
        if char in ")]}" and depth == 0:
            return signature[start:i]
    raise AssertionError(f"unbalanced signature: {signature!r}")


def signature_lines(doc, name):
    """pybind11's signature line(s) of function `name` in its __doc__: the first line, or
    the numbered ones of an overloaded function."""
    lines = (doc or "").splitlines()
    numbered = [re.sub(r"^\d+\. ", "", line) for line in lines if re.match(rf"^\d+\. {re.escape(name)}\(", line)]
    if lines and lines[0] == f"{name}(*args, **kwargs)" and numbered:
        return numbered
    return [lines[0]] if lines and lines[0].startswith(name + "(") else []


def pybind_signatures(function, name):
    """Each overload's parameters as pybind11 reports them: [(name, default text or None)]."""
    signatures = []
    for line in signature_lines(function.__doc__, name):
        parameters = []
        for parameter in split_top_level(parameter_list(line, name)):
            head, _, default = parameter.partition(" = ")
            parameters.append((head.split(":")[0].strip(), default.strip() if default else None))
        signatures.append(parameters)
    return signatures


def same_default(stub_default, pybind_default):
    """Whether the stub's default (an expression node, `...` meaning "not spelled out")
    is the binding's (pybind11's repr of it)."""
    if (stub_default is None) != (pybind_default is None):
        return False
    if stub_default is None or (isinstance(stub_default, ast.Constant) and stub_default.value is Ellipsis):
        return True
    return ast.literal_eval(stub_default) == ast.literal_eval(pybind_default)


def compiled_member(cls, name):
    """A class's own member, as stored (a property stays a property)."""
    return inspect.getattr_static(cls, name)


# --- names --------------------------------------------------------------------------


def test_stub_declares_every_public_name_of_the_module():
    missing = public_names(_core) - set(STUB)
    assert not missing, f"_core.pyi lacks {sorted(missing)}"


def test_every_name_the_stub_declares_exists_in_the_module():
    extra = {name for name in STUB if not hasattr(_core, name)}
    assert not extra, f"_core.pyi declares {sorted(extra)}, which metarl._core does not have"


COMPILED_CLASSES = sorted(name for name in public_names(_core) if inspect.isclass(getattr(_core, name)))


@pytest.mark.parametrize("class_name", COMPILED_CLASSES)
def test_stub_class_has_the_members_of_the_compiled_class(class_name):
    assert class_name in STUB_CLASSES, f"_core.pyi declares {class_name} as something other than a class"
    cls = getattr(_core, class_name)
    declared = STUB_CLASSES[class_name]
    missing = public_names(cls) - set(declared)
    assert not missing, f"_core.pyi's {class_name} lacks {sorted(missing)}"
    extra = {name for name in declared if not hasattr(cls, name)}
    assert not extra, f"_core.pyi's {class_name} declares {sorted(extra)}, which the compiled class does not have"
    # A constructor in the stub exactly where the bindings define one (py::init): Env and
    # TaskDistribution are made by the core, not from Python.
    # Without one, __init__ is Python's slot, whose doc has no pybind11 signature line.
    has_init = bool(signature_lines(cls.__init__.__doc__, "__init__"))
    assert ("__init__" in declared) == has_init, (
        f"{class_name}: the bindings {'define' if has_init else 'define no'} __init__; the stub "
        f"{'declares' if '__init__' in declared else 'does not declare'} one")


# --- parameters and kinds -----------------------------------------------------------


def stub_callables():
    """(qualified name, stub overloads, compiled object, compiled name) of every function
    and method the stub declares."""
    out = []
    for name, member in STUB.items():
        if isinstance(member, list):
            out.append((name, member, getattr(_core, name, None), name))
    for class_name, members in STUB_CLASSES.items():
        cls = getattr(_core, class_name, None)
        for name, member in members.items():
            if isinstance(member, list):
                compiled = compiled_member(cls, name) if cls is not None and hasattr(cls, name) else None
                out.append((f"{class_name}.{name}", member, compiled, name))
    return out


@pytest.mark.parametrize("qualified_name, declared, compiled, name", stub_callables(),
                         ids=[entry[0] for entry in stub_callables()])
def test_stub_parameters_are_the_bindings(qualified_name, declared, compiled, name):
    assert compiled is not None, f"{qualified_name}: not in metarl._core"
    if any(function.is_property for function in declared):
        assert isinstance(compiled, property), f"{qualified_name}: a property in the stub, not in the module"
        assert len(declared) == 1
        assert [p for p, _ in declared[0].parameters] == ["self"], f"{qualified_name}: a getter takes self only"
        return
    assert not isinstance(compiled, property), f"{qualified_name}: a property in the module, a method in the stub"
    compiled_signatures = pybind_signatures(compiled, name)
    assert compiled_signatures, f"{qualified_name}: no pybind11 signature in {compiled.__doc__!r}"
    overloads = [function for function in declared if function.is_overload] or declared
    assert len(overloads) == len(compiled_signatures), (
        f"{qualified_name}: {len(overloads)} signature(s) in the stub, {len(compiled_signatures)} in the bindings")
    for function, parameters in zip(overloads, compiled_signatures):
        stub_names = [p for p, _ in function.parameters]
        bound_names = [p for p, _ in parameters]
        assert stub_names == bound_names, f"{qualified_name}: stub parameters {stub_names}, bindings {bound_names}"
        for (parameter, stub_default), (_, bound_default) in zip(function.parameters, parameters):
            assert same_default(stub_default, bound_default), (
                f"{qualified_name}({parameter}): stub default "
                f"{ast.unparse(stub_default) if stub_default else 'none'}, bindings {bound_default or 'none'}")


def test_signature_parser_reads_pybind11_lines():
    """The parser above on pybind11's own formats: it must not pass by reading nothing."""
    class Overloaded:
        __doc__ = ("f(*args, **kwargs)\nOverloaded function.\n\n1. f(x: int) -> None\n\nOne.\n\n"
                   "2. f(x: str, y: Callable[[str, int], None] = None, z: str = 'a, b') -> None\n\nTwo.\n")
    assert pybind_signatures(Overloaded, "f") == [[("x", None)], [("x", None), ("y", "None"), ("z", "'a, b'")]]
    assert pybind_signatures(_core.make_env, "make_env") == [[("name", None), ("batch_size", None), ("seed", "0")]]
    assert same_default(ast.parse("'train'", mode="eval").body, "'train'")
    assert not same_default(ast.parse("1", mode="eval").body, "0")
    assert not same_default(None, "0")


# --- help() text --------------------------------------------------------------------


def doc_text(obj, name):
    """__doc__ without pybind11's signature lines (which it writes even without a doc)."""
    doc = obj.__doc__ or ""
    if isinstance(obj, property):
        return doc.strip()
    signatures = set(signature_lines(doc, name))
    kept = [line for line in doc.splitlines()
            if line not in signatures and re.sub(r"^\d+\. ", "", line) not in signatures
            and line not in (f"{name}(*args, **kwargs)", "Overloaded function.")]
    return "\n".join(kept).strip()


def documented_objects():
    """(qualified name, object, name) of the public API: metarl.__all__, _core's and
    metarl.vector's public functions and classes, and their classes' public methods and
    properties (inherited ones where a metarl class defines them; not object's or dict's)."""
    entries, classes = {}, {}
    sources = [(metarl, metarl.__all__), (_core, sorted(public_names(_core))),
               (metarl.vector, [name for name in sorted(public_names(metarl.vector))
                                if getattr(getattr(metarl.vector, name), "__module__", None) == "metarl.vector"])]
    for module, names in sources:
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or callable(obj)):
                continue  # __version__, constants
            qualified = f"{module.__name__}.{name}"
            entries[qualified] = (obj, name)
            if inspect.isclass(obj):
                classes[qualified] = obj
    for qualified, cls in classes.items():
        for name in sorted(public_names(cls)):
            owner = next(c for c in cls.__mro__ if name in vars(c))
            if not owner.__module__.startswith("metarl"):
                continue  # object's, dict's, pybind11's own
            member = vars(owner)[name]
            if isinstance(member, property) or callable(member):
                entries[f"{qualified}.{name}"] = (member, name)
    return sorted((qualified, obj, name) for qualified, (obj, name) in entries.items())


DOCUMENTED = documented_objects()


def test_the_public_api_is_found():
    names = {qualified for qualified, _, _ in DOCUMENTED}
    for expected in ("metarl.train", "metarl._core.Env.step", "metarl._core.TaskParameter.unit",
                     "metarl.Trainer.run_iteration", "metarl.vector.VectorEnv.reset"):
        assert expected in names


# Passes for the C++ names only once the bindings are rebuilt with their doc strings
# (python/src/*.cpp), and for the Python ones once the build tree's copy of the package
# is refreshed.
@pytest.mark.parametrize("qualified_name, obj, name", DOCUMENTED, ids=[entry[0] for entry in DOCUMENTED])
def test_public_api_has_a_docstring(qualified_name, obj, name):
    assert doc_text(obj, name), f"{qualified_name} has no docstring (help() shows nothing)"
