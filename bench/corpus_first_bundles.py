"""Upload to first bundles on every real export under ``../shared/datasets``: for each file, in a
fresh temp workspace, ``python -m core ingest FILE`` (no ``--map``) and then the quick bundle list
``python -m core bundles --no-text --top 20``, each a subprocess. Reports the cleaning counts
(rows read / kept / dropped by reason), orders, items, customers, bundles, the wall seconds of each
step and their sum ("upload to first bundles"; median of ``--runs``), the seconds each step reports
itself (without Python's start-up and imports), the peak RSS of each step's process (max over the
runs), and example bundle names. Prints Markdown.

    python bench/corpus_first_bundles.py [--runs 3] [--top 20] [--only NAME ...] [--text]
        [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BUNDLELAB_SHARED", ROOT.parent / "shared")) / "datasets"
CORPUS = [
    "online_retail/online_retail.csv.gz",
    "groceries/groceries_baskets.csv.gz",
    "groceries/groceries_long.csv.gz",
    "groceries_member_date/Groceries_dataset.csv.gz",
    "pharmacy_cn/sales.csv.gz",
    "restaurant_cn/meal_order_detail.csv.gz",
    "superstore_us/orders.csv.gz",
]


def step(args: list[str]) -> tuple[float, float, dict]:
    """Run ``python -m core ARGS``: (wall seconds, peak RSS MB of that process, JSON summary).
    ``os.wait4`` gives the rusage of this child alone (RUSAGE_CHILDREN would be the max so far)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "core", *args], cwd=ROOT, env=env,
                                stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"python -m core {' '.join(args)} exited {proc.returncode}:\n"
                           f"{stdout[-1500:]}\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss / 1024, json.loads(stdout.strip().splitlines()[-1])


def one_run(data: Path, top: int, text: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bl_corpus_") as tmp:
        ws, out = Path(tmp) / "ws", Path(tmp) / "bundles.csv"
        t_ing, rss_ing, ing = step(["ingest", str(data), "--workspace", str(ws), "--json"])
        args = ["bundles", "--workspace", str(ws), "--json", "--top", str(top), "--out", str(out)]
        t_b, rss_b, bun = step(args + ([] if text else ["--no-text"]))
        table = (pd.read_csv(out, dtype=str, keep_default_na=False) if bun["bundles"]
                 else pd.DataFrame(columns=["name", "items", "item_names"]))
    return {"ingest": ing, "bundles": bun, "t_ingest": t_ing, "t_bundles": t_b,
            "rss_ingest": rss_ing, "rss_bundles": rss_b,
            "examples": table[["name", "items", "item_names"]].to_dict("records")}


def summarise(name: str, runs: list[dict]) -> dict:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    first = runs[0]
    return {"file": name, "ingest": first["ingest"], "bundles": first["bundles"],
            "t_ingest": med("t_ingest"), "t_bundles": med("t_bundles"),
            "t_total": statistics.median(r["t_ingest"] + r["t_bundles"] for r in runs),
            "s_ingest": statistics.median(r["ingest"]["seconds"] for r in runs),
            "s_bundles": statistics.median(r["bundles"]["seconds"] for r in runs),
            "rss_ingest": max(r["rss_ingest"] for r in runs),
            "rss_bundles": max(r["rss_bundles"] for r in runs),
            "same_bundles": len({json.dumps(r["examples"]) for r in runs}) == 1,
            "examples": first["examples"]}


def dropped(d: dict) -> str:
    return "; ".join(f"{k} {v:,}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "-"


def report(results: list[dict], runs: int, text: bool) -> str:
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    mode = "bundles with the text model" if text else "bundles --no-text"
    lines = [(f"Upload to first bundles ({mode}), CLI subprocesses, median of {runs} run(s), "
              f"{cores} cores, load average {load:.1f} at the end."), "",
             ("| file | rows read | kept | dropped by reason | orders | items | customers | "
              "bundles | ingest s | first bundles s | upload to first bundles s |"),
             "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        i, b = r["ingest"], r["bundles"]
        lines.append(
            f"| {r['file']} | {i['rows_read']:,} | {i['rows_kept']:,} | {dropped(i['dropped'])} | "
            f"{i['orders']:,} | {i['items']:,} | {i['customers']:,} | {b['bundles']} | "
            f"{r['t_ingest']:.1f} | {r['t_bundles']:.1f} | {r['t_total']:.1f} |")
    lines += ["", ("Seconds as each step reports them (no interpreter start-up or imports), peak "
                   "RSS of each step's process (max over runs):"), "",
              ("| file | ingest s (in-process) | bundles s (in-process) | ingest peak RSS MB | "
               "bundles peak RSS MB | candidates | short list | same list every run |"),
              "|---|--:|--:|--:|--:|--:|---|---|"]
    for r in results:
        b = r["bundles"]
        short = [re.sub(r"^(only \d+ of \d+ bundles).*?(at least \d+ orders).*$", r"\1 (\2)", n)
                 for n in b.get("notes", []) if n.startswith("only ")]
        lines.append(f"| {r['file']} | {r['s_ingest']:.2f} | {r['s_bundles']:.2f} | "
                     f"{r['rss_ingest']:.0f} | {r['rss_bundles']:.0f} | {b['candidates']:,} | "
                     f"{short[0] if short else '-'} | {'yes' if r['same_bundles'] else 'NO'} |")
    lines += ["", "Example bundles (name: item names [item ids]):", ""]
    for r in results:
        lines.append(f"- **{r['file']}**")
        if not r["examples"]:
            lines.append("  - (no bundles)")
        for e in r["examples"][:5]:
            ids = "" if e["items"] == e["item_names"] else f" [{e['items']}]"
            lines.append(f"  - {e['name']}: {e['item_names']}{ids}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--only", nargs="+", default=None, help="file names (or parts) to run")
    ap.add_argument("--text", action="store_true", help="bundles with the text model (slow)")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = ap.parse_args()
    if not SHARED.exists():
        print(f"missing {SHARED}")
        return 1
    files = [f for f in CORPUS if not args.only or any(o in f for o in args.only)]
    results, failed = [], []
    for rel in files:
        data = SHARED / rel
        if not data.exists():
            failed.append(f"{rel}: missing")
            continue
        try:
            runs = [one_run(data, args.top, args.text) for _ in range(args.runs)]
        except RuntimeError as exc:
            failed.append(f"{rel}: {exc}")
            continue
        results.append(summarise(rel, runs))
        print(f"done {rel}: {results[-1]['t_total']:.1f} s", file=sys.stderr, flush=True)
    print(report(results, args.runs, args.text))
    for f in failed:
        print(f"\nFAILED {f}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
