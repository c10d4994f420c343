"""Benchmark: BundleLab's frequent itemsets (``core.rules.itemsets``) against mlxtend's fpgrowth and
apriori on full UCI Online Retail baskets (ingested and cleaned by ``core.ingest.load``) at
min_support 0.01, 0.005 and 0.002 with max_len 2, 3 and 4, and on arules Groceries at 0.001.

Every measurement runs in a fresh subprocess (so its peak RSS is its own) and reports the mining
seconds (one-hot DataFrame construction for mlxtend not included), the process's peak RSS and the
itemset count per length plus an order-independent digest of (itemset, count), which must equal
fpgrowth's. Seconds are the median of ``--repeats`` runs; an mlxtend run that takes longer than
``--single-above`` seconds is not repeated (the table says n=1). apriori runs under a memory cap
and a timeout and is skipped at settings harder than one where it already failed.

    python bench/mining.py [--quick] [--repeats 3] [--single-above 60] [--apriori-timeout 90]

Goal (issue 3): >= 20x faster than mlxtend fpgrowth at 0.002 / max_len 3, identical itemsets,
peak RSS < 1 GB. The machine may be shared: timings are noisy, hence medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT))

CHILD = r"""
import hashlib, json, resource, sys, time
import numpy as np, scipy.sparse as sp


def peak_mb():
    # VmHWM: this process image's own peak RSS (ru_maxrss would include the parent's at fork)
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024

sys.path.insert(0, {root!r})
from core.baskets import Baskets
engine, data, min_support, max_len = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
mem_cap = int(sys.argv[5])
if mem_cap:
    resource.setrlimit(resource.RLIMIT_AS, (mem_cap, mem_cap))
z = np.load(data + ".npz", allow_pickle=False)
b = Baskets(sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"])),
            np.arange(int(z["shape"][0])).astype(str).astype(object),
            np.asarray(z["items"]).astype(object))
n = b.n_orders
if engine == "ours":
    from core.rules.itemsets import frequent_itemsets
    t = time.perf_counter()
    res = frequent_itemsets(b, min_support=min_support, max_len=max_len, max_itemsets=10**8)
    sec = time.perf_counter() - t
    peak = peak_mb()
    lengths = res.lengths()
    df = res.to_frame()
    rows = zip(df["itemsets"], df["orders"])
else:
    from core.rules.reference import mlxtend_frequent, onehot
    X = onehot(b)
    t = time.perf_counter()
    res = mlxtend_frequent(X, min_support=min_support, max_len=max_len, algorithm=engine)
    sec = time.perf_counter() - t
    peak = peak_mb()
    lens = res["itemsets"].map(len)
    lengths = {{int(k): int(v) for k, v in lens.value_counts().sort_index().items()}}
    rows = zip(res["itemsets"], (res["support"] * n).round().astype(int))
digest = 0
for items, count in rows:
    key = ("|".join(sorted(map(str, items))) + "#" + str(int(count))).encode()
    digest = (digest + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")) % 2**64
print(json.dumps({{"seconds": sec, "lengths": lengths, "digest": digest, "peak_mb": peak}}))
"""


def prepare(tmp: Path) -> dict[str, str]:
    """Baskets of full UCI Online Retail (our ingest) and Groceries as .npz files."""
    import pandas as pd

    from core.baskets import build_baskets
    from core.ingest.load import ingest
    from core.rules.mining import load_baskets
    from core.workspace import Workspace

    out = {}
    uci = SHARED / "online_retail" / "online_retail.csv.gz"
    if uci.exists():
        ws = Workspace(tmp / "ws")
        t = time.perf_counter()
        s = ingest(ws, uci, dataset="online_retail")
        b = load_baskets(ws, "online_retail")
        print(f"UCI Online Retail: {s['rows_kept']:,} of {s['rows_read']:,} lines kept, "
              f"{b.n_orders:,} orders, {b.n_items:,} items ({time.perf_counter() - t:.1f}s to "
              "ingest)", flush=True)
        out["online_retail"] = _save(tmp / "online_retail", b)
    groc = SHARED / "groceries" / "groceries_long.csv.gz"
    if groc.exists():
        g = pd.read_csv(groc)
        b = build_baskets(pd.DataFrame({"order_id": g["basket_id"].astype(str),
                                        "item_id": g["item"]}))
        print(f"Groceries: {b.n_orders:,} baskets, {b.n_items} items", flush=True)
        out["groceries"] = _save(tmp / "groceries", b)
    if not out:
        sys.exit(f"no data sets under {SHARED}")
    return out


def _save(path: Path, b) -> str:
    import numpy as np

    m = b.matrix.tocsr()
    np.savez(str(path) + ".npz", data=m.data, indices=m.indices, indptr=m.indptr,
             shape=np.asarray(m.shape), items=np.asarray(b.item_ids).astype(str))
    return str(path)


def run_child(engine: str, data: str, ms: float, ml: int, timeout: float, mem_cap: int) -> dict:
    script = CHILD.format(root=str(ROOT))
    try:
        out = subprocess.run([sys.executable, "-c", script, engine, data, str(ms), str(ml),
                              str(mem_cap)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"failed": f"timeout >{timeout:.0f}s"}
    if out.returncode != 0:
        oom = "MemoryError" in out.stderr or "Cannot allocate" in out.stderr or out.returncode < 0
        return {"failed": f"OOM >{mem_cap / 2**30:.0f} GB" if oom and mem_cap
                else f"exit {out.returncode}: {out.stderr.strip().splitlines()[-1][:80]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(engine, data, ms, ml, *, repeats, single_above, timeout, mem_cap) -> dict:
    runs = []
    for _ in range(repeats):
        r = run_child(engine, data, ms, ml, timeout, mem_cap)
        if "failed" in r:
            return r
        runs.append(r)
        if engine != "ours" and r["seconds"] > single_above:
            break
    first = runs[0]
    return {"seconds": statistics.median(r["seconds"] for r in runs), "n": len(runs),
            "peak_mb": max(r["peak_mb"] for r in runs), "lengths": first["lengths"],
            "digest": first["digest"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="two easy UCI settings + Groceries, "
                    "one run each, no apriori")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--single-above", type=float, default=60.0,
                    help="do not repeat an mlxtend run slower than this (seconds)")
    ap.add_argument("--timeout", type=float, default=900.0, help="per mlxtend run (seconds)")
    ap.add_argument("--apriori-timeout", type=float, default=90.0)
    ap.add_argument("--apriori-mem-gb", type=float, default=4.0)
    ap.add_argument("--no-apriori", action="store_true")
    args = ap.parse_args()
    repeats = 1 if args.quick else args.repeats

    with tempfile.TemporaryDirectory(prefix="bench-mining-") as tmp:
        data = prepare(Path(tmp))
        configs = []
        if "online_retail" in data:
            grid = [(0.01, 2), (0.01, 3)] if args.quick else \
                [(s, k) for s in (0.01, 0.005, 0.002) for k in (2, 3, 4)]
            configs += [("online_retail", s, k) for s, k in grid]
        if "groceries" in data:
            configs += [("groceries", 0.001, 4), ("groceries", 0.001, 0)]
        engines = ["ours", "fpgrowth"] + ([] if args.quick or args.no_apriori else ["apriori"])
        failed_apriori: list[tuple[str, float, int]] = []
        rows = []
        for name, ms, ml in configs:
            res = {}
            for eng in engines:
                if eng == "apriori" and any(n == name and s >= ms and (k <= ml or ml == 0) and k
                                            for n, s, k in failed_apriori):
                    res[eng] = {"failed": "skipped"}
                    continue
                is_ap = eng == "apriori"
                res[eng] = measure(eng, data[name], ms, ml, repeats=repeats,
                                   single_above=args.single_above,
                                   timeout=args.apriori_timeout if is_ap else args.timeout,
                                   mem_cap=int(args.apriori_mem_gb * 2**30) if is_ap else 0)
                if is_ap and "failed" in res[eng]:
                    failed_apriori.append((name, ms, ml))
                r = res[eng]
                print(f"  {name} {ms:g} max_len {ml or 'none'} {eng}: "
                      + (r["failed"] if "failed" in r else
                         f"{r['seconds']:.2f}s (n={r['n']}), peak {r['peak_mb']:.0f} MB, "
                         f"{sum(r['lengths'].values()):,} itemsets"), flush=True)
            rows.append((name, ms, ml, res))
        report(rows, engines)


def report(rows, engines) -> None:
    print()
    head = (f"{'data':<14}{'support':>8}{'max_len':>8}  {'itemsets by length':<44}"
            + "".join(f"{e + ' s (n)':>16}{e + ' MB':>12}" for e in engines)
            + f"{'fpgrowth/ours':>15}{'same':>6}")
    print(head)
    print("-" * len(head))
    for name, ms, ml, res in rows:
        ours = res["ours"]
        lengths = ", ".join(f"{k}:{v}" for k, v in ours.get("lengths", {}).items())
        line = f"{name:<14}{ms:>8g}{(ml or 'none'):>8}  {lengths[:44]:<44}"
        for e in engines:
            r = res[e]
            if "failed" in r:
                line += f"{r['failed'][:26]:>28}"  # skipped: failed at an easier setting
            else:
                line += f"{r['seconds']:>11.2f} ({r['n']}){r['peak_mb']:>12.0f}"
        fp = res.get("fpgrowth", {})
        ratio = fp["seconds"] / ours["seconds"] if "seconds" in fp and "seconds" in ours else None
        same = all(res[e]["digest"] == ours["digest"] and res[e]["lengths"] == ours["lengths"]
                   for e in engines if "digest" in res[e])
        line += f"{(f'{ratio:.0f}x' if ratio else '-'):>15}{('yes' if same else 'NO'):>6}"
        print(line)
    print("\nseconds: median of n runs (mining only); MB: peak RSS of the measuring process up to "
          "the end of mining (Python, libraries and data included); 'same': identical itemsets and counts (digest) "
          "as ours for every engine that finished; apriori 'skipped': it failed at an easier "
          "setting (higher support or shorter max_len).")


if __name__ == "__main__":
    main()
