"""``bench/corpus_eval.py``'s Markdown report on a fake results dict (no ingest, no training):
mean ± spread over seeds, the best method per dataset, unknown metric keys as new columns, the
recommender's ``chosen`` entry, non-method entries skipped, failures shown in the table."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def load_bench():
    spec = importlib.util.spec_from_file_location("corpus_eval", ROOT / "bench" / "corpus_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(seed, hybrid_hit, neural_ndcg, chosen="neural"):
    return {"seed": seed, "seconds": 10.0 + seed, "errors": {}, "result": {
        "cut": "2016-08-25", "seconds": 9.0,
        "bundles": {
            "rules": {"hit_rate": 0.2, "attach_rate": 0.1, "bundles": 50,
                      "uplift": 1.5, "long_tail": {"hit_rate": 0.01}},  # new key + nested dict
            "hybrid": {"hit_rate": hybrid_hit, "attach_rate": 0.12, "bundles": 50,
                       "uplift": 2.0, "segments": [1, 2]}},
        "recommender": {
            "popularity": {"recall@10": 0.1, "ndcg@10": 0.05, "hit@10": 0.2},
            "ease": {"recall@10": 0.2, "ndcg@10": 0.05, "hit@10": 0.3, "repeat_hits": 7},
            "neural": {"recall@10": 0.3, "ndcg@10": neural_ndcg, "hit@10": 0.5,
                       "text": "finetuned"},
            "chosen": {"method": chosen, "why": "best on validation", "val_ndcg@10": 0.3}},
        "embeddings": {
            "cooccurrence": {"recall@10": 0.4, "mrr": 0.3, "cold_recall@10": None},
            "finetuned": {"recall@10": 0.5, "mrr": 0.35, "cold_recall@10": None},
            "encoder": {"name": "multilingual", "why": "99% Chinese characters"},
            "n": {"queries": 1000, "cold_queries": 0}}}}


def fake_results():
    def failed(seed):
        return {"seed": seed, "seconds": 3.0, "result": {"cut": None, "bundles": {
            "rules": {"hit_rate": 0.3}, "hybrid": {"hit_rate": 0.3}}}, "errors": {
                "recommender": "no customer with a training order | also has a test order"}}
    return {"machine": {"cores": 2, "load_start": 1.0, "load_end": 1.5}, "seeds": [0, 1],
            "blocks": ["embeddings", "bundles", "recommender"], "top": 50, "cut": None,
            "datasets": [
                {"name": "shop", "file": "shop/orders.csv.gz", "ingest_seconds": 1.0,
                 "seconds": 25.0, "runs": [run(0, 0.30, 0.20), run(1, 0.34, 0.40, "ease")]},
                {"name": "baskets", "file": "b/b.csv.gz", "ingest_seconds": 0.5, "reused": True,
                 "seconds": 4.0, "runs": [failed(0), failed(1)]},
                {"name": "broken", "file": "x/x.csv.gz", "error": "ingest failed: exit 2",
                 "runs": []}]}


def test_report_tables():
    text = load_bench().report(fake_results())
    lines = text.splitlines()
    assert "### bundles (main metric: hit_rate)" in lines
    header = next(line for line in lines if line.startswith("| dataset | method | hit_rate"))
    assert "uplift" in header and "long_tail" not in header and "segments" not in header
    assert "| shop | hybrid | 0.3200 ± 0.0400 | 0.1200 ± 0.0000 | 50 ± 0 | 2.0000 ± 0.0000 |" \
        in lines
    assert "- shop: best hit_rate = **hybrid** (0.3200)" in lines
    # recommender: "chosen" is a row named after the chosen methods, with their test metrics
    chosen = next(line for line in lines if "chosen (neural, ease)" in line)
    # ndcg@10 first; per seed the chosen method's metrics (neural 0.2, then ease 0.05)
    assert chosen.startswith("| shop | chosen (neural, ease) | 0.1250 ± 0.1500 | "
                             "0.2500 ± 0.1000 |")
    assert chosen.endswith("| 7 |")  # repeat_hits: only ease has it, one seed, a whole number
    assert "- shop: best ndcg@10 = **neural** (0.3000)" in lines
    assert not any("| text" in line or "val_ndcg" in line for line in lines)
    # embeddings: "n" is counts, not a method row; None-only metrics show "-"
    assert not any(line.startswith("| shop | n |") for line in lines)
    assert "  - shop counts: n.queries 1,000 ± 0, n.cold_queries 0 ± 0" in lines
    assert "| shop | finetuned | 0.5000 ± 0.0000 | 0.3500 ± 0.0000 | - |" in lines
    # the text model chosen for the catalog: said once per dataset, not a method row
    assert "- shop: multilingual (99% Chinese characters)" in lines
    assert not any(line.startswith("| shop | encoder |") for line in lines)
    # failures: the reason in the table, pipes escaped; the other datasets still reported
    assert [line.startswith("| baskets | FAILED | seed 0, 1: no customer with a training order /")
            for line in lines if line.startswith("| baskets | FAILED")] == [True]  # one per reason
    assert "- baskets: best hit_rate = **rules, hybrid** (0.3000) (a tie)" in lines
    assert "| baskets | rules | 0.3000 ± 0.0000 | - | - | - |" in lines
    broken = "| broken | FAILED | ingest failed: exit 2 |"
    assert sum(line.startswith(broken) for line in lines) == 3  # in each block's table
    assert "- baskets (b/b.csv.gz, cut None): ingest 0.0 s" not in lines
    assert any(line.startswith("- shop (shop/orders.csv.gz, cut 2016-08-25): ingest 1.0 s; "
                               "evaluate seed 0 10.0, seed 1 11.0") for line in lines)
    assert "(reused)" in text and "2 cores" in text


def test_unknown_block_and_junk_entries():
    bench = load_bench()
    rows, notes = bench.method_rows("new_block", {"a": {"x": 1, "y": "text"}, "b": [1, 2],
                                                  "c": 3, "d": {"z": {"deep": 1}}})
    assert rows == {"a": {"x": 1}} and notes == {}
    rows, _ = bench.method_rows("recommender", {"ease": {"ndcg@10": 0.1},
                                                "chosen": {"method": "gone"}})
    assert rows == {"ease": {"ndcg@10": 0.1}}  # chosen names no scored method: skipped
    assert bench.dataset_name("groceries/groceries_long.csv.gz") == "groceries_long"
    assert bench.dataset_name("superstore_us/orders.csv.gz") == "superstore_us"
