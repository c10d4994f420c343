"""Reliability: the dataset re-loaded while bundles are built, a full disk, a damaged workspace
database, damaged saved models. Each is the user's to fix: a ``BundleLabError`` with a specific
message, one ``error: ...`` line and exit 2 from the CLI, and nothing half-written."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from core.cli.main import main
from core.errors import (BundleLabError, DatasetChanged, DiskFull, ModelDamaged, WorkspaceDamaged,
                         friendly)
from core.ingest.load import ingest
from core.bundles.params import BundleParams
from core.workspace import Workspace
from tests.core.test_bundles_cli import shop_csv

NO_TEXT = BundleParams(text=False)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str, *fragments: str) -> str:
    """Exit 2, exactly one line on stderr starting ``error: ``, no traceback."""
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def list_count(ws: Workspace) -> int:
    with ws.connect(read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                  .fetchall()}
        if "bundle_lists" not in tables:
            return 0
        return con.execute("SELECT count(*) FROM bundle_lists").fetchone()[0]


def bigger_shop_csv(path: Path) -> Path:
    """The shop with twice the orders and 40 more items (sold), as a re-load would bring."""
    df = pd.read_csv(shop_csv(path.with_name("base.csv"), n_orders=480, seed=7))
    extra = pd.DataFrame({"InvoiceNo": [5000 + i // 2 for i in range(80)],
                          "StockCode": [f"Z{i % 40}" for i in range(80)],
                          "Description": [f"NEW THING {i % 40}" for i in range(80)],
                          "Quantity": 1, "InvoiceDate": "2024-03-01 10:00", "UnitPrice": 1.0,
                          "CustomerID": "c1"})
    pd.concat([df, extra]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory) -> Path:
    """A tiny in-process sentence-transformer knowing the words of both test shops."""
    from tests.core.embedding_helpers import make_tiny_encoder, tiny_words
    from tests.core.test_bundles_cli import PAIRS

    words = tiny_words() + tuple(n for p in PAIRS for n in p) + (
        "TEA SAUCER NEW", "STORAGE JAR", "GLASS BOTTLE", "NEW THING")
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny"), extra_words=words)


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    return ws


# ---------------------------------------------------------------------------- 1. re-load midway
def smaller_shop_csv(path: Path) -> Path:
    """The shop re-loaded with only some of its items (a narrower export)."""
    df = pd.read_csv(shop_csv(path.with_name("base-small.csv")))
    df[df["StockCode"].isin(["P00", "P01", "X1"])].to_csv(path, index=False)
    return path


def reingest_once(ws: Workspace, source: Path, at: float = 0.0, when: str = ""):
    """A progress callback that re-loads the dataset the first time it is called at or past
    ``at`` with ``when`` in its message (callbacks run between steps: the same moment another
    process's ingest could land)."""
    state = {"done": False}

    def progress(fraction: float, message: str) -> None:
        if not state["done"] and fraction >= at and when in message:
            state["done"] = True
            ingest(ws, source, dataset="shop")

    return progress, state


def test_reload_while_building_bundles_is_a_clean_error(shop, tmp_path):
    from core.bundles.lists import bundle_lists
    from core.bundles.service import build_for_dataset

    build_for_dataset(shop, "shop", NO_TEXT)  # a list already there stays the only one
    assert shop.info("shop")["version"] == 1
    progress, state = reingest_once(shop, bigger_shop_csv(tmp_path / "big.csv"), at=0.75)
    with pytest.raises(DatasetChanged, match=r"dataset shop was re-loaded while bundles were "
                       r"being built \(version 1 -> 2\).*run bundles again"):
        build_for_dataset(shop, "shop", NO_TEXT, progress=progress)
    assert state["done"] and shop.info("shop")["version"] == 2
    assert len(bundle_lists(shop, "shop")) == 1
    assert len(shop.runs("shop", "bundles")) == 1
    # and on the new data it simply works
    result = build_for_dataset(shop, "shop", NO_TEXT)
    assert result.list_id and len(bundle_lists(shop, "shop")) == 2


@pytest.mark.parametrize("reload", ["bigger, before fine-tuning", "smaller, before base vectors"])
def test_reload_during_text_vectors_is_a_clean_error_not_an_index_error(
        shop, tmp_path, monkeypatch, tiny_encoder, reload):
    """The reported crash: the text model reads the items again after the orders were read;
    with the dataset re-loaded in between, vectors and baskets disagree (IndexError in
    bundle_candidates on the old code when the new item list is shorter)."""
    from core.bundles.service import build_for_dataset

    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny_encoder))
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "5")
    if reload.startswith("bigger"):
        progress, state = reingest_once(shop, bigger_shop_csv(tmp_path / "big.csv"))
    else:
        progress, state = reingest_once(shop, smaller_shop_csv(tmp_path / "small.csv"),
                                        when="base-model vectors")
    with pytest.raises(DatasetChanged, match=r"re-loaded while bundles were being built "
                       r"\(version 1 -> 2\); nothing was saved: run bundles again"):
        build_for_dataset(shop, "shop", BundleParams(min_orders=5, allow_variants=False),
                     progress=progress)
    assert state["done"] and list_count(shop) == 0
    assert shop.runs("shop", "bundles").empty


def test_inputs_that_do_not_line_up_are_refused(shop):
    from dataclasses import replace

    from core.bundles.inputs import prepare_inputs
    from core.bundles.build import build_bundles

    inp = prepare_inputs(shop, "shop", shop.lines("shop"), shop.items("shop"), text=False)
    n = inp.baskets.n_items
    with pytest.raises(DatasetChanged, match=f"text vectors {n + 3:,} \\(expected {n:,} items"):
        build_bundles(replace(inp, vectors=np.eye(n + 3, 4)))
    with pytest.raises(DatasetChanged, match="order revenues"):
        build_bundles(replace(inp, order_revenue=np.zeros(2)))


def test_prepare_inputs_checks_the_version_it_was_given(shop, tmp_path):
    from core.bundles.inputs import prepare_inputs

    lines, items = shop.lines("shop"), shop.items("shop")
    ingest(shop, bigger_shop_csv(tmp_path / "big.csv"), dataset="shop")
    with pytest.raises(DatasetChanged, match=r"version 1 -> 2"):
        prepare_inputs(shop, "shop", lines, items, text=False, version=1)


def test_reload_while_training_the_recommender(tmp_path, ws):
    from tests.core.test_recommender_workspace import FAST, shop_csv as rec_shop_csv
    from core.recommend import model_path, train_recommender

    ingest(ws, rec_shop_csv(tmp_path / "shop.csv"), dataset="shop")
    other = rec_shop_csv(tmp_path / "other.csv", seed=9)
    progress, state = reingest_once(ws, other, at=0.5)
    with pytest.raises(DatasetChanged, match=r"while the recommender was being trained "
                       r"\(version 1 -> 2\).*train it again"):
        train_recommender(ws, "shop", params=FAST, progress=progress)
    assert state["done"] and not model_path(ws, "shop").exists()
    assert ws.runs("shop", "recommender").empty


# ---------------------------------------------------------------------------- 2. disk full
class _FullDisk:
    """A connection proxy whose INSERT into ``table`` fails like DuckDB on a full disk."""

    def __init__(self, con, table: str):
        self._con, self._table = con, table

    def execute(self, sql, *args, **kwargs):
        if sql.lstrip().upper().startswith(f"INSERT INTO {self._table.upper()}"):
            raise duckdb.IOException('IO Error: Could not write file "bundlelab.duckdb": '
                                     "No space left on device")
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_disk_full_while_saving_bundles_cli(shop, capsys, monkeypatch):
    from core.bundles.service import build_for_dataset

    build_for_dataset(shop, "shop", NO_TEXT)
    real = Workspace.connect

    @contextlib.contextmanager
    def connect(self, **kwargs):
        with real(self, **kwargs) as con:
            yield _FullDisk(con, "bundle_lists")

    monkeypatch.setattr(Workspace, "connect", connect)
    code, _, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--no-text")
    line = assert_one_error_line(code, err, f"the disk holding the workspace {shop.root} is full",
                                 " free): free space and try again")
    monkeypatch.setattr(Workspace, "connect", real)
    assert list_count(shop) == 1 and len(shop.runs("shop", "bundles")) == 1, line


def test_disk_full_oserror_through_the_cli(shop, capsys, monkeypatch, tmp_path):
    import core.export as export

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export, "write_table", full)
    code, _, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--no-text",
                           "--out", tmp_path / "b.csv")
    assert_one_error_line(code, err, "is full (", "free space and try again")
    assert not (tmp_path / "b.csv").exists()


def test_friendly_maps_full_disk_and_damage(tmp_path):
    ws = Workspace(tmp_path / "ws")
    commit = duckdb.TransactionException('TransactionContext Error: Failed to commit: Could not '
                                         'write file "/x/bundlelab.duckdb": No space left on device')
    err = friendly(commit, ws)
    assert isinstance(err, DiskFull)
    assert str(err).startswith(f"the disk holding the workspace {ws.root} is full (")
    assert "free): free space and try again" in str(err)
    assert isinstance(friendly(duckdb.IOException('Could not write file "a"'), ws), DiskFull)
    assert isinstance(friendly(OSError(errno.ENOSPC, "No space left on device"), ws), DiskFull)
    st_err = RuntimeError("Error while serializing: I/O error: No space left on device "
                          "(os error 28)")
    assert isinstance(friendly(st_err, ws), DiskFull)
    out = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "elsewhere" / "b.csv"))
    assert str(tmp_path / "elsewhere" / "b.csv") in str(friendly(out, ws))
    try:  # wrapped: the cause is found
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("saving failed") from inner
    except RuntimeError as outer:
        assert isinstance(friendly(outer, ws), DiskFull)
    damaged = friendly(duckdb.Error("Corrupt database file: computed checksum 1 does not match "
                                    "stored checksum 2 in block at location 4096"), ws)
    assert isinstance(damaged, WorkspaceDamaged) and str(ws.db_path) in str(damaged)
    truncated = duckdb.IOException(f'IO Error: Could not read enough bytes from file '
                                   f'"{ws.db_path}": attempted to read 262144 bytes')
    assert isinstance(friendly(truncated, ws), WorkspaceDamaged)
    from core import config, errors

    assert errors.DB_NAME == config.DB_FILE
    # not ours: bugs stay bugs, and a damaged upload is not a damaged workspace database
    upload = duckdb.IOException('IO Error: Could not read enough bytes from file '
                                f'"{ws.root}/uploads/shop/orders.csv.gz": attempted to read 9')
    assert friendly(upload, ws) is None
    assert friendly(ValueError("boom"), ws) is None
    assert friendly(duckdb.IOException('Could not write file "a": Permission denied'), ws) is None
    assert friendly(duckdb.CatalogException("Table with name x does not exist!"), ws) is None
    same = BundleLabError("x")
    assert friendly(same, ws) is same


# ---------------------------------------------------------------------------- 3. damaged database
@pytest.mark.parametrize("damage", ["junk", "truncated", "empty"])
def test_damaged_workspace_database(shop, capsys, damage):
    db = shop.db_path
    data = db.read_bytes()
    if damage == "junk":
        db.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        db.write_bytes(data[: len(data) // 2])
    else:
        db.write_bytes(b"")
    for wal in db.parent.glob("*.wal"):
        wal.unlink()
    # junk: refused when opened; cut short: when a table past the cut is read
    with pytest.raises(Exception) as info:
        shop.lines("shop")
    damaged = friendly(info.value, shop)
    assert isinstance(damaged, WorkspaceDamaged), info.value
    assert "move it away and load your data again" in str(damaged)
    if damage != "truncated":
        assert isinstance(info.value, WorkspaceDamaged)
    code, _, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--no-text")
    assert_one_error_line(code, err, f"the workspace database {db} is damaged (",
                          f"the raw uploads are under {shop.root / 'uploads'}")
    assert db.stat().st_size == (0 if damage == "empty" else len(data) // (2 if damage ==
                                                                           "truncated" else 1))


# ---------------------------------------------------------------------------- 4. damaged models
def _spoil(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes(os.urandom(len(data)) if how == "junk" else data[: len(data) // 2])


@pytest.mark.parametrize("how", ["junk", "truncated"])
def test_damaged_recommender_weights(tmp_path, ws, capsys, how):
    from tests.core.test_recommender_workspace import FAST, shop_csv as rec_shop_csv
    from core.recommend import load_trained, model_path, train_recommender

    ingest(ws, rec_shop_csv(tmp_path / "shop.csv"), dataset="shop")
    train_recommender(ws, "shop", params=FAST)
    weights = model_path(ws, "shop") / "weights.safetensors"
    _spoil(weights, how)
    with pytest.raises(ModelDamaged, match="train it again \\(python -m core recommend "
                       "--dataset shop"):
        load_trained(ws, "shop")
    # a stage that uses it: one line naming the file
    code, _, err = run_cli(capsys, "bundles", "--workspace", ws.root, "--no-text",
                           "--min-orders", 2)
    assert_one_error_line(code, err, f"{weights}", "is damaged", "train it again")
    # training it again (the command the message names) repairs it
    again = train_recommender(ws, "shop", params=FAST)
    assert not again["reused"]
    assert load_trained(ws, "shop").model is not None


def test_damaged_recommender_meta_is_retrained_not_a_crash(tmp_path, ws, capsys):
    from tests.core.test_recommender_workspace import FAST, shop_csv as rec_shop_csv
    from core.recommend import load_trained, model_path, train_recommender

    ingest(ws, rec_shop_csv(tmp_path / "shop.csv"), dataset="shop")
    train_recommender(ws, "shop", params=FAST)
    (model_path(ws, "shop") / "meta.json").write_bytes(b"\x00junk")
    with pytest.raises(ModelDamaged, match="meta.json"):
        load_trained(ws, "shop")
    assert not train_recommender(ws, "shop", params=FAST)["reused"]


@pytest.mark.parametrize("how", ["junk", "truncated"])
def test_damaged_finetuned_encoder(ws, tmp_path, capsys, monkeypatch, tiny_encoder, how):
    from core.text import encoder as emb
    from core.text import item_vectors
    from tests.core.embedding_helpers import write_orders

    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny_encoder))
    ingest(ws, write_orders(tmp_path / "shop.csv"), dataset="shop")
    code, out, err = run_cli(capsys, "embed", "--workspace", ws.root, "--json")
    assert code == 0, err
    model_dir = Path(json.loads(out.strip().splitlines()[-1])["model"])
    weights = model_dir / "model.safetensors"
    _spoil(weights, how)
    emb._MODELS.clear()  # as in a new process
    with pytest.raises(ModelDamaged, match="train it again \\(python -m core embed"):
        item_vectors(ws, "shop")
    code, _, err = run_cli(capsys, "bundles", "--workspace", ws.root, "--min-orders", 2)
    assert_one_error_line(code, err, f"the fine-tuned text encoder in {model_dir} is damaged (",
                          str(weights), "train it again (python -m core embed")
    assert list_count(ws) == 0
    # the command the message names trains it again
    code, out, err = run_cli(capsys, "embed", "--workspace", ws.root, "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["reused"] is False
    emb._MODELS.clear()
    ids, vectors = item_vectors(ws, "shop")
    assert len(ids) == len(vectors) > 0


def test_load_model_damaged_weights(tmp_path, tiny_encoder):
    from core.text import encoder as emb

    copy = tmp_path / "encoder-all-x"
    shutil.copytree(tiny_encoder, copy)
    (copy / emb.META_FILE).write_text(json.dumps({"model_id": "f" * 32}))
    _spoil(copy / "model.safetensors", "truncated")
    with pytest.raises(ModelDamaged, match=r"model.safetensors: .*train it again"):
        emb.load_model(copy)
    (copy / emb.META_FILE).unlink()  # not one of ours: the --model advice
    with pytest.raises(BundleLabError, match="Pass --model DIR with a complete local model"):
        emb.load_model(copy)


# ---------------------------------------------------------------------------- 5. the CLI itself
def test_cli_bug_is_still_a_traceback(shop, capsys, monkeypatch):
    import core.bundles.service as service

    def bug(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(service, "build_for_dataset", bug)
    code, _, err = run_cli(capsys, "bundles", "--workspace", shop.root)
    assert code == 1 and "Traceback" in err and "internal error" in err


def test_cli_user_error_is_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "bundles", "--workspace", tmp_path / "empty")
    assert_one_error_line(code, err, "has no dataset yet")
