"""The shape of the code (docs/ARCHITECTURE.md §2, §8), checked from the source with ``ast``:

(a) the import graph of ``core`` has no cycle. Every import counts: module level and inside
    functions (a function-level import hides a cycle from the interpreter, not from the design),
    and a ``"core.x.y:name"`` string (a lazy registry entry) counts as an import of ``core.x.y``;
(b) the stages are layered: a module imports only from its own stage and the stages below it,
    shared < ingest < rules < text < recommend < bundles < evaluate < pipeline < cli;
(c) no module under ``core/``, ``ui/``, ``pages/`` (nor ``app.py``) passes 350 lines;
(d) nothing in ``core/`` imports Streamlit or the front end (``ui``, ``pages``, ``app``).

Each failure lists every offender (file, line, the import), not just the first.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
MAX_LINES = 350

STAGES = ["shared", "ingest", "rules", "text", "recommend", "bundles", "evaluate", "pipeline",
          "cli"]
# core/<sub>/... belongs to stage <sub>; top-level modules are shared unless named here
TOP_LEVEL_STAGE = {"core.pipeline": "pipeline", "core.jobs": "pipeline", "core.job_steps": "pipeline",
                   "core.__main__": "cli",
                   # the Spark engine's parts sit with the stage they implement
                   **{f"core.engines.spark.{m}": "ingest"
                      for m in ("cleaning", "frames", "paths", "remote", "ingest")},
                   **{f"core.engines.spark.{m}": "rules" for m in ("levels", "mining")},
                   "core.engines.spark.split": "evaluate"}
LAZY_REF = re.compile(r"^(core(?:\.\w+)+):\w+$")  # "core.evaluate.embeddings:embeddings_block"


@dataclass(frozen=True)
class Edge:
    source: str   # importing module, e.g. core.cli.main
    target: str   # imported module, e.g. core.cli.common
    line: int
    text: str     # the import as written

    def where(self) -> str:
        return f"{module_path(self.source)}:{self.line}: {self.text}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_path(name: str) -> str:
    base = ROOT.joinpath(*name.split("."))
    return str((base / "__init__.py" if base.is_dir() else base.with_suffix(".py"))
               .relative_to(ROOT))


def core_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The core module that ``name`` denotes: itself, or its longest prefix that is a module
    (``core.cli.main.main`` -> ``core.cli.main``); None outside core."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def _absolute(module: str | None, level: int, source: str, is_package: bool) -> str:
    if not level:
        return module or ""
    base = source.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[Edge]:
    """Every import of a core module in ``path`` (anywhere in the file), at module granularity."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    edges: list[Edge] = []

    def add(target: str | None, node: ast.AST) -> None:
        if target is not None and target != name:
            text = " ".join((ast.get_source_segment(source, node) or "").split())
            edges.append(Edge(name, target, node.lineno, text))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_resolve(alias.name, known), node)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, name, path.name == "__init__.py")
            for alias in node.names:
                # "from core.cli import main" imports the module core.cli.main when there is one
                add(_resolve(f"{base}.{alias.name}", known) or _resolve(base, known), node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = LAZY_REF.match(node.value)
            if m:
                add(_resolve(m.group(1), known), node)
    return edges


def import_graph() -> tuple[dict[str, Path], list[Edge]]:
    known = core_modules()
    edges = [e for name, path in known.items() for e in imports_of(name, path, known)]
    return known, edges


def stage_of(name: str) -> str:
    if name in TOP_LEVEL_STAGE:
        return TOP_LEVEL_STAGE[name]
    parts = name.split(".")
    if len(parts) >= 2 and parts[1] in STAGES and (CORE / parts[1]).is_dir():
        return parts[1]
    return "shared"


def find_cycles(nodes: list[str], edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a list."""
    graph: dict[str, set[str]] = {n: set() for n in nodes}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # recursion depth is bounded by the number of core modules
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _one_cycle(comp: list[str], edges: list[Edge]) -> list[Edge]:
    """A shortest closed path through the component's first module, as the edges that form it."""
    inside = set(comp)
    by_source: dict[str, list[Edge]] = {}
    for e in edges:
        if e.source in inside and e.target in inside:
            by_source.setdefault(e.source, []).append(e)
    start = comp[0]
    paths: dict[str, list[Edge]] = {start: []}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for e in sorted(by_source.get(v, []), key=lambda e: (e.target, e.line)):
                if e.target == start:
                    return paths[v] + [e]
                if e.target not in paths:
                    paths[e.target] = paths[v] + [e]
                    nxt.append(e.target)
        frontier = nxt
    return []


def test_core_import_graph_has_no_cycle():
    known, edges = import_graph()
    cycles = find_cycles(list(known), edges)
    report = []
    for comp in cycles:
        path = _one_cycle(comp, edges)
        report.append(f"cycle among {len(comp)} modules ({', '.join(comp)}), e.g.:\n    "
                      + "\n    ".join(e.where() for e in path))
    assert not cycles, "import cycles in core/:\n" + "\n".join(report)


def test_stages_import_only_downwards():
    known, edges = import_graph()
    rank = {s: i for i, s in enumerate(STAGES)}
    bad = [f"{e.where()}  [{stage_of(e.source)} -> {stage_of(e.target)}]" for e in edges
           if rank[stage_of(e.target)] > rank[stage_of(e.source)]]
    assert not bad, ("imports against the stage order " + " < ".join(STAGES) + ":\n"
                     + "\n".join(bad))


def test_no_module_over_350_lines():
    files = [*sorted(CORE.rglob("*.py")), *sorted((ROOT / "ui").rglob("*.py")),
             *sorted((ROOT / "pages").rglob("*.py")), ROOT / "app.py"]
    long = [(len(p.read_text(encoding="utf-8").splitlines()), p.relative_to(ROOT)) for p in files
            if p.exists()]
    bad = [f"{path}: {n} lines" for n, path in sorted(long, reverse=True) if n > MAX_LINES]
    assert not bad, f"modules over {MAX_LINES} lines:\n" + "\n".join(bad)


def test_core_does_not_import_the_front_end():
    front = ("streamlit", "ui", "pages", "app")
    bad = []
    for name, path in core_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                    else [])
            bad += [f"{path.relative_to(ROOT)}:{node.lineno}: {m}" for m in mods
                    if m.split(".")[0] in front]
    assert not bad, "core/ imports Streamlit or the front end:\n" + "\n".join(bad)


def test_checker_sees_function_level_and_lazy_imports(tmp_path):
    """The graph builder itself: imports inside functions, relative imports and "module:name"
    strings are edges; a two-module cycle is found."""
    src = ("import os\nfrom core import a\n\ndef f():\n    from .b import thing\n"
           "    return 'core.a:g'\n")
    tree_file = tmp_path / "m.py"
    tree_file.write_text(src)
    known = {"core.a": tree_file, "core.b": tree_file, "core.m": tree_file}
    targets = sorted({e.target for e in imports_of("core.m", tree_file, known)})
    assert targets == ["core.a", "core.b"]
    edges = [Edge("core.a", "core.b", 1, ""), Edge("core.b", "core.a", 2, "")]
    assert find_cycles(["core.a", "core.b", "core.m"], edges) == [["core.a", "core.b"]]
