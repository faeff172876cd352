"""The house's shape: no import cycles in the code we ship, and modules small enough to read.

The imports are read with `ast` (nothing is imported), so a cycle hidden in a function-level import
counts too: a lazy import only postpones the tangle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("w2vcore", "labui")
MAX_LINES = 420  # "about 400": room for a docstring, never a second idea
COMPILED_KERNELS = {"w2vcore/kernel.py", "w2vcore/engines/kernel.py"}  # numba kernels: one function is one loop nest


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the shipped packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _target(name: str, known: dict) -> str | None:
    """The shipped module `name` refers to: itself, else its closest enclosing module."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path, known: dict) -> set[str]:
    """The shipped modules `module` imports anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        out |= {t for t in (_target(n, known) for n in names) if t and t != module}
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_sees_relative_and_lazy_imports():
    edges = graph()
    assert "w2vcore.config" in edges["w2vcore.runs"]
    assert any(edges.values()), "no imports read at all"


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_streamlit_stays_out_of_the_backend():
    edges_text = {m: p.read_text() for m, p in modules().items() if m.startswith("w2vcore")}
    offenders = [m for m, text in edges_text.items() if "import streamlit" in text or "from streamlit" in text]
    assert not offenders


@pytest.mark.parametrize("module,path", sorted(modules().items()), ids=sorted(modules()))
def test_modules_are_small_enough_to_read(module, path):
    rel = path.relative_to(REPO).as_posix()
    if rel in COMPILED_KERNELS or rel.endswith("_kernel.py") or "/kernel" in rel:
        pytest.skip("compiled kernels are exempt")
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{rel} has {lines} lines; split it by idea (at most {MAX_LINES})"


def test_pure_ui_helpers_never_call_streamlit():
    """labui's computations and figure builders stay testable without a Streamlit session."""
    for name in ("analysis", "maps", "charts", "mapcharts", "settings", "text"):
        source = (REPO / "labui" / f"{name}.py").read_text()
        assert "import streamlit" not in source and "from streamlit" not in source, f"labui/{name}.py uses streamlit"
