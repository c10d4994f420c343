"""The recommender registry: methods resolved lazily by name (a baseline never imports torch),
the CLI's choices from it, and hyperparameters read live (what ``save`` writes)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from core.errors import BundleLabError
from core.recommend.base import Recommender
from core.recommend.history import build_history
from core.recommend.registry import METHODS, REGISTRY, load_recommender, make_recommender

ROOT = Path(__file__).resolve().parents[2]


ROWS = [("o1", "A", "c1", "2024-01-01"), ("o1", "B", "c1", "2024-01-01"),
        ("o2", "A", "c1", "2024-01-08"), ("o3", "B", "c2", "2024-01-02"),
        ("o3", "C", "c2", "2024-01-02"), ("o4", "C", "c2", "2024-01-09")]
COLUMNS = ["order_id", "item_id", "customer_id", "timestamp"]


def small_lines() -> pd.DataFrame:
    df = pd.DataFrame(ROWS, columns=COLUMNS)
    return df.assign(timestamp=pd.to_datetime(df["timestamp"]))


def test_baselines_fit_save_and_load_without_torch(tmp_path):
    """Fitting, saving and loading a popularity, gp_topfreq or tifu_knn model imports no torch (the
    registry resolves ``neural`` only when it is asked for)."""
    script = textwrap.dedent(f"""
        import sys
        import pandas as pd
        import core.recommend
        from core.recommend.history import build_history
        from core.recommend.registry import load_recommender, make_recommender

        lines = pd.DataFrame({ROWS!r}, columns={COLUMNS!r})
        lines["timestamp"] = pd.to_datetime(lines["timestamp"])
        h = build_history(lines)
        for name in ("popularity", "gp_topfreq", "tifu_knn"):
            model = make_recommender(name).fit(h)
            model.save(r"{tmp_path}" + "/" + name)
            loaded = load_recommender(r"{tmp_path}" + "/" + name)
            ids, _ = loaded.recommend(["c1"], 2)
            assert loaded.name == name and len(ids[0]) == 2
        assert "torch" not in sys.modules, "torch was imported"
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")


def test_a_saved_popularity_model_in_a_workspace_loads_without_torch(tmp_path):
    """The workspace path (train, reuse, load, recommend with reasons) for a baseline: no torch."""
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from tests.core.test_recommender_workspace import shop_csv
        from core.ingest.load import ingest
        from core.workspace import Workspace
        from core.recommend import (RecommenderParams, load_trained, recommend_for,
                                    train_recommender)

        d = Path(r"{tmp_path}")
        ws = Workspace(d / "ws")
        ingest(ws, shop_csv(d / "shop.csv"), dataset="shop")
        params = RecommenderParams(method="popularity", text="none")
        assert not train_recommender(ws, "shop", params=params)["reused"]
        assert train_recommender(ws, "shop", params=params)["reused"]
        tr = load_trained(ws, "shop")
        assert len(recommend_for(ws, "shop", "c1", 3, trained=tr)) == 3
        assert "torch" not in sys.modules, "torch was imported"
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")


def test_base_does_not_import_the_registry():
    """The registry imports the base class, never the other way round (no import cycle)."""
    tree = ast.parse((ROOT / "core" / "recommend" / "base.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("core.recommend.") and
                m.split(".")[-1] not in ("history",)}, imported


def test_every_entry_resolves_to_its_method():
    assert METHODS == tuple(REGISTRY)
    for name in METHODS:
        model = make_recommender(name)
        assert isinstance(model, Recommender) and model.name == name
    with pytest.raises(BundleLabError, match="unknown recommender 'nope'"):
        make_recommender("nope")
    with pytest.raises(BundleLabError, match="bad setting for the ease recommender"):
        make_recommender("ease", shrink=3)


def test_cli_method_choices_come_from_the_registry():
    import argparse

    from core.cli.recommend import add_recommend

    parser = argparse.ArgumentParser()
    add_recommend(parser.add_subparsers())
    sub = parser._subparsers._group_actions[0].choices["recommend"]
    method = next(a for a in sub._actions if a.dest == "method")
    # "auto" (the default since issue 14: the best on a validation window) + every method
    assert list(method.choices) == ["auto", *METHODS] and method.default == "auto"


def test_get_params_reads_the_live_values(tmp_path):
    """A setting changed after construction is what get_params reports and save writes."""
    model = make_recommender("gp_topfreq")
    assert model.get_params() == {"tie_break": "recency"}
    model.tie_break = "popularity"
    assert model.get_params() == {"tie_break": "popularity"}
    model.fit(build_history(small_lines()))
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["params"] == {"tie_break": "popularity"}
    assert load_recommender(tmp_path / "m").tie_break == "popularity"

    knn = make_recommender("item_knn", neighbours=5)
    knn.weighting = "binary"
    assert knn.get_params() == {"neighbours": 5, "weighting": "binary"}
    assert make_recommender("popularity").get_params() == {}


def test_package_surface_is_lazy_and_complete():
    import core.recommend as rec

    for name in rec.__all__:
        assert getattr(rec, name) is not None, name
    with pytest.raises(AttributeError):
        rec.no_such_name  # noqa: B018
