"""No SQL text is built from a value inside an ``execute`` call, and quoting lives in one place.

The rule (core/sql.py): values are bound parameters; identifiers and code-owned literals go
through ``core.sql``. These checks read the source (AST), so a new f-string inside
``con.execute(...)`` fails CI, and so does a second hand-written quoting helper."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("core", "ui", "pages", "bench")
SQL_CALLS = {"execute", "executemany", "sql", "query", "read_csv", "from_query"}


def _sources():
    for folder in FOLDERS:
        yield from sorted((ROOT / folder).rglob("*.py"))
    yield ROOT / "app.py"


def _built(node: ast.AST) -> str | None:
    """Why ``node`` is SQL text built in place (None when it is a constant or a name)."""
    if isinstance(node, ast.JoinedStr):
        return "f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "% formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _built(node.left) or _built(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format":
        return ".format()"
    return None


def _offences():
    out = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_CALLS and node.args):
                continue
            why = _built(node.args[0])
            if why:
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}: {why} in "
                           f".{node.func.attr}(...)")
    return out


def test_no_sql_built_inside_execute_calls():
    assert _offences() == []


def test_quoting_only_in_core_sql():
    """Doubling quotes by hand (``.replace("'", "''")``) happens only in core/sql.py."""
    found = []
    for path in _sources():
        if path == ROOT / "core" / "sql.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "replace" and len(node.args) == 2
                    and all(isinstance(a, ast.Constant) for a in node.args)
                    and node.args[0].value in ("'", '"')
                    and node.args[1].value == node.args[0].value * 2):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_the_checker_catches_what_it_should(tmp_path):
    bad = ("con.execute(f\"SELECT * FROM read_csv('{path}')\")\n"
           "con.execute(\"SELECT %s\" % x)\n"
           "con.execute(\"SELECT {}\".format(x))\n"
           "con.execute(\"SELECT \" + f\"{x}\")\n")
    tree = ast.parse(bad)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and
             isinstance(n.func, ast.Attribute) and n.func.attr == "execute"]
    assert [_built(c.args[0]) for c in calls] == ["f-string", "% formatting", ".format()",
                                                   "f-string"]
    assert _built(ast.parse("con.execute(SQL, [x])").body[0].value.args[0]) is None


def test_literal_and_ident():
    from core.sql import ident, literal, plain_ident

    assert literal("it's") == "'it''s'"
    assert ident('a"b') == '"a""b"'
    assert plain_ident("raw") == "raw"
    for bad in ("a b", "x;DROP", "", "1x"):
        with pytest.raises(ValueError):
            plain_ident(bad)
    with pytest.raises(ValueError):
        literal("a\x00b")
