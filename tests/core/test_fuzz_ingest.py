"""Fuzzed uploads: every case ends in success or a ``BundleLabError`` with a message, leaves the
datasets loaded before it unchanged, leaves no temp files and writes nothing outside the
workspace; what loads is mined and bundled under the same contract.

A fixed seed, every kind (sub-variant) of every family once plus a few more: about 130
cases, one test per family (the generator and the checks are in ``tests/fuzzcases.py``);
``bench/fuzz_ingest.py`` runs thousands of random ones. A failure names each case as
``family:seed:kind`` with the command that reproduces it, e.g.

    python bench/fuzz_ingest.py --family xlsx --case-seed 20240611 --kind empty-sheet
"""

from __future__ import annotations

import pytest

from tests.fuzzcases import FAMILIES, KEEP, Harness, Problem, kinds, make_case

SEED = 20240611
EXTRA = {"hostile_filenames": 4}  # more seeds of the name list: the names are the point there
# Cases bench/fuzz_ingest.py found broken (family -> case seeds), kept here as regressions. They
# depend on the generator: after changing a family's generator, re-run the bench and update.
FOUND = {
    "random_bytes": [1000037],     # valid UTF-8, DuckDB says "Invalid unicode": NotUtf8 escapes
    "numbers": [2000028],          # unit prices 1e308/inf: OverflowError in bundle_price
    "hostile_content": [2001489],  # a header cell with a quoted newline: header cut short
}


def family_plan(family: str) -> list[tuple[int, str | None]]:
    """(seed, kind) pairs: every kind of the family once, ``EXTRA`` random ones and ``FOUND``."""
    plan: list[tuple[int, str | None]] = [(SEED, k) for k in kinds(family)]
    plan += [(SEED * 100 + k, None) for k in range(EXTRA.get(family, 0))]
    plan += [(seed, None) for seed in FOUND.get(family, [])]
    return plan


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_fuzz_family(family, tmp_path):
    harness = Harness(tmp_path / "fuzz")
    outcomes = [harness.run(make_case(family, seed, kind)) for seed, kind in family_plan(family)]
    failed = [o for o in outcomes if not o.ok]
    if failed:
        pytest.fail(f"{len(failed)} of {len(outcomes)} {family} cases broke the ingest contract:"
                    "\n\n" + "\n\n".join(o.describe() for o in failed), pytrace=False)


def test_cases_are_reproducible_and_varied():
    plans = {f: family_plan(f) for f in FAMILIES}
    for family, plan in plans.items():
        seed, kind = plan[0]
        a, b = make_case(family, seed, kind), make_case(family, seed, kind)
        assert (a.name, a.data, a.dataset) == (b.name, b.data, b.dataset), family
        assert all(len(make_case(family, s, k).name.encode()) <= 255 for s, k in plan), family
    n = sum(len(p) for p in plans.values())
    assert 60 <= n <= 130, n
    loadable = sum(make_case(f, s, k).expect == "load" for f, p in plans.items() for s, k in p)
    assert loadable >= 2 * len(FAMILIES)  # enough valid files that mining and bundles run


def _broken_ingest(monkeypatch, what):
    """Replace ingest by one that breaks promise ``what`` (to show the checks are not vacuous)."""
    import core.ingest.load

    real = core.ingest.load.ingest

    def fake(ws, path, **kw):
        if what == "traceback":
            raise KeyError("boom")
        if what == "empty-message":
            from core.errors import InputError
            raise InputError("")
        if what == "changed":
            with ws.connect() as con:
                con.execute("DELETE FROM lines WHERE dataset = ? AND line_no = 1", [KEEP])
            raise core.ingest.load.InputError("refused")
        if what == "leftover":
            (ws.tmp_dir / "ingest-left.csv").write_text("x")
            raise core.ingest.load.InputError("refused")
        if what == "escaped":
            open("PWNED-test.txt", "w").close()  # the working directory
        return real(ws, path, **kw)

    monkeypatch.setattr(core.ingest.load, "ingest", fake)


@pytest.mark.parametrize("what,kind", [("traceback", "traceback"),
                                       ("empty-message", "empty-message"),
                                       ("changed", "changed-earlier-dataset"),
                                       ("leftover", "leftover"), ("escaped", "escaped-write")])
def test_harness_catches_broken_promises(what, kind, tmp_path, monkeypatch):
    harness = Harness(tmp_path / "fuzz", mine=False, bundles=False)
    _broken_ingest(monkeypatch, what)
    out = harness.run(make_case("valid", 1))
    assert kind in [p.kind for p in out.problems], out.describe()
    assert all(isinstance(p, Problem) for p in out.problems)
    monkeypatch.undo()
    again = harness.run(make_case("valid", 2))  # the harness recovered: a clean case passes
    assert again.ok and again.status == "loaded", again.describe()
