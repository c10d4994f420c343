"""The one audited place where SQL text meets a value.

Rule for the whole code base: no SQL text is ever built from a user value (a file or folder
path, a file, column, dataset or item name, a setting typed by a person). Values travel as bound
parameters (``con.execute(sql, [value, ...])``); DuckDB binds them everywhere we need, including
table-function arguments (``read_csv(?, columns := ?)``) and ``SET x = ?``.

What cannot be bound is an identifier (a table or column name) or a literal inside SQL that the
code itself composes (a date format, a regular expression, a joiner). Those go through
``ident`` and ``literal`` below, and only with values the code owns (constants, generated column
names ``c0..cN``). ``tests/core/test_sql_safety.py`` greps ``core/``, ``ui/``, ``pages/`` and
``bench/`` for SQL built with f-strings, ``%`` or ``.format`` inside ``execute(...)`` calls and
for quoting done anywhere but here.
"""

from __future__ import annotations

import re

_PLAIN_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"SQL {what} must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"SQL {what} must not contain a NUL character")
    return value


def literal(value: str) -> str:
    """A SQL string literal for a value the code owns: quotes doubled, NUL refused."""
    return "'" + _check(value, "literal").replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier (table or column name): double quotes doubled, NUL refused."""
    return '"' + _check(name, "identifier").replace('"', '""') + '"'


def plain_ident(name: str) -> str:
    """An identifier that must already be a plain ``[A-Za-z_][A-Za-z0-9_]*`` name (temp tables the
    code names itself); anything else is a bug, so it raises ``ValueError``."""
    if not _PLAIN_IDENT.match(_check(name, "identifier")):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name
