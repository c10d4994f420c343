"""Lazy public names for a stage package: ``from core.recommend import load_trained`` works, yet
``import core.recommend`` imports no submodule (and so no torch) until a name is used."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable


def lazy_exports(package: str, namespace: dict, exports: dict[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a package whose public names live in submodules:
    ``exports`` maps a name to ``"module:attribute"`` (a module path relative to ``package`` may
    start with a dot). A name is imported on first use and then kept in ``namespace``."""

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = target.partition(":")
        value = getattr(import_module(module, package if module.startswith(".") else None), attr)
        namespace[name] = value  # resolved once
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
