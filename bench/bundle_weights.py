"""How the bundle defaults were chosen: on a validation period inside the training data.

Train = orders before ``--val-cut`` (default 2011-07-01), validation = orders from it up to the
evaluation cut (``--cut``, default 2011-09-01); the test period after the cut is never read. For
each rule-strength measure and hybrid weight setting, the list of N bundles built on the train
part is scored on the validation part (hit rate first, then attach rate).

    python bench/bundle_weights.py [--dataset online_retail] [--workspace DIR] [--top 50]

The dataset must be in the workspace (``python -m core ingest online_retail.csv.gz``). The text
model is fine-tuned on the train part (or reused).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from core.baskets import order_sets, temporal_split
    from core.bundles.inputs import prepare_inputs
    from core.bundles.build import build_bundles
    from core.bundles.params import BundleParams
    from core.evaluate.bundles import bundle_metrics
    from core.workspace import Workspace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="online_retail")
    ap.add_argument("--workspace", default=None)
    ap.add_argument("--val-cut", default="2011-07-01")
    ap.add_argument("--cut", default="2011-09-01")
    ap.add_argument("--top", type=int, default=50)
    args = ap.parse_args()
    ws = Workspace(args.workspace)
    lines = ws.lines(args.dataset)
    before_cut = temporal_split(lines, args.cut).train
    split = temporal_split(before_cut, args.val_cut)
    t0 = time.perf_counter()
    inp = prepare_inputs(ws, args.dataset, split.train, ws.items(args.dataset),
                         cut=args.val_cut, recommender=False)
    print(f"inputs (fine-tune on orders before {args.val_cut}): {time.perf_counter() - t0:.0f} s")
    counts = dict(zip(inp.baskets.item_ids, inp.baskets.item_counts()))
    cold = {i for i, c in counts.items() if c == 0}
    val = order_sets(split.test)
    rows = []
    grid = itertools.product(["confidence", "lift", "all_confidence", "orders"],
                             [0.0, 0.25, 0.5, 1.0])
    for strength, w_text in grid:
        p = BundleParams(top=args.top, strength=strength, w_text=w_text, w_rec=0.0)
        res = build_bundles(inp, p)
        m = bundle_metrics(list(val), res.bundles["items"].tolist(), cold)
        rows.append((strength, w_text, m["hit_rate"], m["attach_rate"], m["coverage_orders"],
                     m["cold_hit_rate"]))
    rows.sort(key=lambda r: (-r[2], -r[3]))
    print(f"validation: orders {args.val_cut} .. {args.cut} ({len(val):,} orders), N = {args.top}")
    print(f"{'strength':<16}{'w_text':>7}{'hit_rate':>10}{'attach':>8}{'reach':>8}{'cold_hit':>9}")
    for r in rows:
        print(f"{r[0]:<16}{r[1]:>7.2f}{r[2]:>10.3f}{r[3]:>8.3f}{r[4]:>8.3f}{r[5]:>9.3f}")
    print(f"best: strength={rows[0][0]} w_text={rows[0][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
