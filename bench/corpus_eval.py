"""Held-out evaluation on every corpus file under ``../shared/datasets`` (docs/ARCHITECTURE.md §6:
"every block runs on every dated corpus file ... a table per block with a row per dataset and
method, seeds and the spread between them"). For each file of ``corpus_first_bundles.CORPUS``:
``python -m core ingest FILE`` (a subprocess; ``--map`` only where the dataset's README says so,
``MAPS``) into a workspace of its own, then
``core.evaluate.run.evaluate`` (what ``python -m core evaluate`` runs) once per seed, in this
process. Prints Markdown: one table per block, a row per dataset and method, each metric as the
mean over seeds ± the spread (max - min), the best method on the block's main metric, the machine
and the wall seconds.

Seeds reach the models through evaluate's options: ``finetune_params`` = the default
``FinetuneParams`` with ``seed`` (pair orientation and the trainer's seed; part of the encoder's
cache key, so each seed trains and caches its own encoder, used by the embeddings and bundles
blocks and, through the embeddings block, by the neural recommender) and
``{"recommender": {"neural": {"seed": s}}}`` (the neural model is trained afresh on every
evaluation, never read from a cache). Rules, co-occurrence, the base model and the recommender
baselines do not depend on the seed.

    python bench/corpus_eval.py [--seeds 0 1 2] [--only NAME ...] [--blocks bundles ...]
        [--top 50] [--cut DATE] [--workspace-root DIR] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from corpus_first_bundles import CORPUS, SHARED, step  # noqa: E402

BLOCK_ORDER = ["bundles", "recommender", "embeddings"]  # the order the tables are printed in
MAIN = {"bundles": "hit_rate", "recommender": "ndcg@10", "embeddings": "recall@10"}
CHOSEN = "\0chosen"  # the row of the recommender block's "chosen" entry, before it is named
STOPPED = re.compile(r"evaluate stopped in the (\w+) block: ")


def dataset_name(rel: str) -> str:
    """The folder, or the file's stem where a folder holds several corpus files (groceries)."""
    folder, file = rel.split("/", 1)
    if sum(r.startswith(folder + "/") for r in CORPUS) == 1:
        return folder
    return file.split(".")[0]


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def method_rows(block: str, out: dict) -> tuple[dict[str, dict], dict[str, dict]]:
    """Split a block's result into method rows ``{name: {metric: number}}`` (entries whose value
    is a dict holding numbers, and the block's main metric when it has one; nested dicts, lists
    and text are skipped) and the other numeric entries (``n``: counts) as notes. A ``chosen``
    entry naming a method becomes the row ``chosen (<method>)`` with that method's metrics."""
    rows, notes = {}, {}
    main = MAIN.get(block)
    for name, value in out.items():
        if not isinstance(value, dict):
            continue
        nums = {k: v for k, v in value.items() if is_number(v) or v is None}
        if not any(is_number(v) for v in nums.values()):
            continue
        (rows if main is None or main in nums else notes)[name] = nums
    chosen = out.get("chosen")
    if isinstance(chosen, dict) and isinstance(chosen.get("method"), str):
        notes.pop("chosen", None)
        rows.pop("chosen", None)
        if chosen["method"] in rows:
            rows[CHOSEN] = {**rows[chosen["method"]], "_method": chosen["method"]}
    return rows, notes


def fmt(v: float, integer: bool = False) -> str:
    if integer or abs(v) >= 100:
        return f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.1f}"
    return f"{v:.4f}"


def cell(values: list) -> str:
    """Mean ± spread (max - min) of the numbers in ``values``; counts stay whole numbers."""
    nums = [v for v in values if is_number(v)]
    if not nums:
        return "-"
    integer = all(isinstance(v, int) for v in nums)
    mean = sum(nums) / len(nums)
    if len(nums) == 1:
        return fmt(mean, integer)
    return f"{fmt(mean, integer)} ± {fmt(max(nums) - min(nums), integer)}"


def clean(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def block_table(block: str, datasets: list[dict]) -> list[str]:
    """The Markdown table of one block over all datasets (+ a best-method line per dataset)."""
    per_ds, columns = [], []
    main = MAIN.get(block)
    for ds in datasets:
        rows: dict[str, dict[str, list]] = {}
        chosen_methods, notes, errors = [], {}, {}  # errors: message -> seeds
        for run in ds.get("runs", []):
            if block in run.get("errors", {}):
                errors.setdefault(run["errors"][block], []).append(str(run.get("seed")))
            out = (run.get("result") or {}).get(block)
            if not isinstance(out, dict):
                continue
            found, extra = method_rows(block, out)
            for name, metrics in found.items():
                if name == CHOSEN:
                    chosen_methods.append(metrics.pop("_method"))
                for k, v in metrics.items():
                    rows.setdefault(name, {}).setdefault(k, []).append(v)
                    if k not in columns:
                        columns.append(k)
            for name, metrics in extra.items():
                for k, v in metrics.items():
                    notes.setdefault(f"{name}.{k}", []).append(v)
        if CHOSEN in rows:
            rows[f"chosen ({', '.join(dict.fromkeys(chosen_methods))})"] = rows.pop(CHOSEN)
        errors = [f"seed {', '.join(seeds)}: {msg}" for msg, seeds in errors.items()]
        errors += [ds["error"]] if ds.get("error") else []
        per_ds.append((ds["name"], rows, notes, errors))
    if main in columns:
        columns.remove(main)
        columns.insert(0, main)
    lines = [f"### {block}" + (f" (main metric: {main})" if main else ""), "",
             "| dataset | method | " + " | ".join(columns) + " |",
             "|---|---|" + "--:|" * len(columns)]
    best_lines = []
    for name, rows, notes, errors in per_ds:
        for method, metrics in rows.items():
            lines.append(f"| {name} | {method} | "
                         + " | ".join(cell(metrics.get(c, [])) for c in columns) + " |")
        for err in errors:
            lines.append(f"| {name} | FAILED | {clean(err)} |" + " |" * max(0, len(columns) - 1))
        scored = {m: sum(v) / len(v) for m, met in rows.items() if not m.startswith("chosen (")
                  for v in [[x for x in met.get(main, []) if is_number(x)]] if v}
        if scored:
            top = max(scored.values())
            best = [m for m, v in scored.items() if v == top]
            best_lines.append(f"- {name}: best {main} = **{', '.join(best)}** ({fmt(top)})"
                              + (" (a tie)" if len(best) > 1 else ""))
        if notes:
            best_lines.append(f"  - {name} counts: " + ", ".join(
                f"{k} {cell(v)}" for k, v in notes.items()))
    return lines + [""] + best_lines


def report(results: dict) -> str:
    m = results.get("machine", {})
    seeds = results.get("seeds", [])
    cut = results.get("cut") or "per dataset: the last ~20% of orders"
    lines = [f"Held-out evaluation on the corpus (core.evaluate.run.evaluate, top "
             f"{results.get('top')}, cut {cut}), seeds {' '.join(map(str, seeds))}; cells: mean "
             "over seeds ± spread (max - min).",
             f"Machine: {m.get('cores')} cores, load average {m.get('load_start')} at the start, "
             f"{m.get('load_end')} at the end.", ""]
    for block in [b for b in BLOCK_ORDER if b in results.get("blocks", BLOCK_ORDER)]:
        lines += block_table(block, results.get("datasets", [])) + [""]
    encoders = [(ds["name"], r["result"]["embeddings"]["encoder"]) for ds in results.get(
        "datasets", []) for r in ds.get("runs", [])[:1] if isinstance(
        ((r.get("result") or {}).get("embeddings") or {}).get("encoder"), dict)]
    if encoders:
        lines += ["### Text model per dataset", ""]
        lines += [f"- {name}: {enc.get('name')} ({enc.get('why')})" for name, enc in encoders]
        lines += [""]
    lines += ["### Wall seconds per dataset", ""]
    for ds in results.get("datasets", []):
        runs = ", ".join(f"seed {r.get('seed')} {r.get('seconds', 0):.1f}"
                         for r in ds.get("runs", []))
        cut = next((r["result"].get("cut") for r in ds.get("runs", []) if r.get("result")), None)
        lines.append(f"- {ds['name']} ({ds.get('file')}, cut {cut}): ingest "
                     f"{ds.get('ingest_seconds', 0):.1f} s"
                     f"{' (reused)' if ds.get('reused') else ''}; evaluate {runs or '-'}; total "
                     f"{ds.get('seconds', 0):.1f} s")
    for note in results.get("notes", []):
        lines += ["", note]
    return "\n".join(lines)


# columns a dataset's README says to map, which detection does not pick on its own
MAPS = {"restaurant_cn": ["--map", "customer_id=emp_id", "--map", "unit_price=amounts"]}


def ingest(rel: str, name: str, root: Path) -> tuple[dict, float, bool]:
    """The dataset ``name`` in workspace ``root/name``: ingested from ``SHARED/rel`` unless it
    is already there. Returns (ingest summary, seconds, reused)."""
    from core.workspace import Workspace

    ws = Workspace(root / name)
    if name in ws.datasets()["name"].tolist():
        return ws.info(name), 0.0, True
    wall, _, summary = step(["ingest", str(SHARED / rel), "--workspace", str(ws.root),
                             "--dataset", name, "--json", *MAPS.get(name, [])])
    return summary, wall, False


def options(seed: int, compare_encoders: bool = False) -> dict:
    from core.text.finetune import default_params

    return {"finetune_params": replace(default_params(), seed=seed),
            "recommender": {"neural": {"seed": seed}},
            "embeddings": {"compare_encoders": compare_encoders}}


def run_seed(ws_dir: Path, name: str, seed: int, blocks: list[str], top: int,
             cut: str | None, compare_encoders: bool = False) -> dict:
    """evaluate() for one seed. A block that stops with a BundleLabError is recorded and the
    others are run again without it (evaluate returns nothing when a block fails)."""
    from core.errors import BundleLabError
    from core.evaluate.run import evaluate
    from core.workspace import Workspace

    t0 = time.perf_counter()
    todo, errors, result = list(blocks), {}, None
    while todo:
        try:
            result = evaluate(Workspace(ws_dir), name, cut=cut, top=top, blocks=todo,
                              options=options(seed, compare_encoders))
            break
        except BundleLabError as exc:
            msg = str(exc)
            hit = STOPPED.match(msg)
            if hit is None or hit.group(1) not in todo:
                errors.update({b: msg for b in todo})
                break
            errors[hit.group(1)] = re.sub(r" \(the other blocks run without it:.*\)$", "",
                                          msg[hit.end():])
            todo.remove(hit.group(1))
        except Exception as exc:  # a bug: say so in the table and go on with the others
            errors.update({b: f"{type(exc).__name__}: {exc}" for b in todo})
            break
    return {"seed": seed, "seconds": round(time.perf_counter() - t0, 2), "result": result,
            "errors": errors}


def main(argv: list[str] | None = None) -> int:
    from core.evaluate.run import BLOCKS

    names = [n for n, _ in BLOCKS]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", nargs="+", default=None, help="dataset names (or parts) to run")
    ap.add_argument("--blocks", nargs="+", default=names, choices=names)
    ap.add_argument("--top", type=int, default=50, help="bundles per list (N)")
    ap.add_argument("--cut", default=None, help="one cut for every dataset (default: per "
                    "dataset, the day that leaves the last ~20%% of orders)")
    ap.add_argument("--workspace-root", type=Path, default=None,
                    help="keep the workspaces here (one per dataset) and reuse them")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    ap.add_argument("--compare-encoders", action="store_true",
                    help="embeddings block: also score the bundled text encoder not chosen for "
                    "the catalog (MiniLM or multilingual), base and fine-tuned")
    args = ap.parse_args(argv)
    if not SHARED.exists():
        print(f"missing {SHARED}")
        return 1
    blocks = [n for n in names if n in args.blocks]
    files = [(rel, dataset_name(rel)) for rel in CORPUS]
    files = [(rel, n) for rel, n in files if not args.only or any(o in rel or o in n
                                                                   for o in args.only)]
    results = {"machine": {"cores": len(os.sched_getaffinity(0)),
                           "load_start": round(os.getloadavg()[0], 2)},
               "seeds": args.seeds, "blocks": blocks, "top": args.top, "cut": args.cut,
               "datasets": [], "notes": []}
    if "recommender" in blocks and "embeddings" not in blocks and len(args.seeds) > 1:
        results["notes"].append(
            "Note: without the embeddings block the recommender block fine-tunes (or reuses) the "
            "text encoder with the default settings (core.recommend.store.text_vectors_for takes "
            "no FinetuneParams), so only the neural model's own seed varies between seeds.")
    tmp = None if args.workspace_root else tempfile.TemporaryDirectory(prefix="bl_corpus_eval_")
    root = args.workspace_root or Path(tmp.name)
    failed = 0
    try:
        for rel, name in files:
            t0 = time.perf_counter()
            ds = {"name": name, "file": rel, "runs": []}
            results["datasets"].append(ds)
            try:
                ds["ingest"], ds["ingest_seconds"], ds["reused"] = ingest(rel, name, root)
            except Exception as exc:  # missing file, ingest exit != 0
                ds["error"] = f"ingest failed: {exc}"
            else:
                for seed in args.seeds:
                    ds["runs"].append(run_seed(root / name, name, seed, blocks, args.top,
                                               args.cut, args.compare_encoders))
                    print(f"{name} seed {seed}: {ds['runs'][-1]['seconds']:.1f} s",
                          file=sys.stderr, flush=True)
            ds["seconds"] = round(time.perf_counter() - t0, 2)
            failed += bool(ds.get("error") or any(r["errors"] for r in ds["runs"]))
    finally:
        if tmp is not None:
            tmp.cleanup()
    results["machine"]["load_end"] = round(os.getloadavg()[0], 2)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
