"""Fuzz ingest (and mining and bundles on what loads) with thousands of seeded cases.

    python bench/fuzz_ingest.py --cases 3000 --seed 1 [--jobs 2] [--save DIR] [--no-post]
    python bench/fuzz_ingest.py --family encodings --case-seed 1000042   # one case, verbose

The contract checked on each case, the families and the case generator live in
``tests/fuzzcases.py`` (the CI test ``tests/core/test_fuzz_ingest.py`` runs a short fixed set of
the same cases). Prints one row per family: cases, loaded, refused cleanly, tracebacks (ingest;
mine/bundles on what loaded), changed earlier datasets, leftovers, writes outside the workspace,
valid files refused; then the failures grouped by (family, kind, exception, raising frame) with
example (family, seed) pairs. Failing inputs are saved under ``--save`` (default
``/tmp/bundlelab-fuzz-failures``), one folder per case with the file and ``case.json``.
Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.fuzzcases import (FAMILIES, Harness, Outcome, Problem, case_seeds,  # noqa: E402
                             group_failures, kinds, make_case)

RESET_EVERY = 60  # a fresh workspace (holding only keep) every N cases keeps the DuckDB file small
SLOW_S = 10.0


def run_chunk(pairs: list[tuple[str, int]], root: str, post: bool,
              kind: str | None = None) -> list[Outcome]:
    h = Harness(Path(root), mine=post, bundles=post)
    out = []
    for k, (fam, seed) in enumerate(pairs, start=1):
        case = make_case(fam, seed, kind)
        try:
            out.append(h.run(case))
        except Exception as exc:  # noqa: BLE001 - the harness itself broke: report, go on
            o = Outcome(case.family, case.seed, case.name, case.note, case.expect,
                        status="harness", kind=case.kind)
            o.problems.append(Problem("harness", f"{type(exc).__name__}: {exc}"))
            out.append(o)
            h = Harness(Path(root) / f"again-{k}", mine=post, bundles=post)
        if k % RESET_EVERY == 0:
            h.reset()
    return out


def table(outcomes: list[Outcome]) -> str:
    cols = ["family", "cases", "loaded", "refused", "tracebacks", "mine/bundle tb",
            "changed earlier", "leftovers", "escaped", "valid refused", "mined", "bundled",
            "slow", "seconds"]
    rows = []
    for fam in list(FAMILIES) + ["TOTAL"]:
        os_ = [o for o in outcomes if fam in ("TOTAL", o.family)]
        if not os_:
            continue

        def n(kind):
            return sum(any(p.kind == kind for p in o.problems) for o in os_)
        rows.append([fam, len(os_), sum(o.status == "loaded" for o in os_),
                     sum(o.status == "refused" for o in os_), n("traceback"),
                     sum(any(p.kind in ("mine-traceback", "bundles-traceback") for p in o.problems)
                         for o in os_),
                     n("changed-earlier-dataset"), n("leftover"), n("escaped-write"),
                     n("valid-refused"), sum(o.mined == "ok" for o in os_),
                     sum(o.bundled == "ok" for o in os_), sum(o.seconds > SLOW_S for o in os_),
                     round(sum(o.seconds for o in os_), 1)])
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(cols)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*cols), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def save_failures(outcomes: list[Outcome], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for o in outcomes:
        if o.ok:
            continue
        case = make_case(o.family, o.seed, o.kind)
        d = folder / (f"{o.family}-{o.seed}" + (f"-{o.kind}" if o.kind else "")).replace("/", "_")
        d.mkdir(exist_ok=True)
        (d / "input.bin").write_bytes(case.data)
        meta = {k: v for k, v in asdict(o).items() if k != "tb"}
        meta["file_name"] = case.name
        meta["dataset_arg"] = case.dataset
        meta["reproduce"] = o.reproduce()
        (d / "case.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str))
        if o.tb:
            (d / "traceback.txt").write_text(o.tb)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=300, help="number of cases (round-robin over "
                    "the families)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (each its own workspace)")
    ap.add_argument("--family", action="append", choices=list(FAMILIES),
                    help="only these families (repeatable)")
    ap.add_argument("--case-seed", type=int, help="run the one case (--family, seed) verbosely")
    ap.add_argument("--kind", help="force this kind (sub-variant) of the one --family, e.g. "
                    "--family xlsx --kind empty-sheet; see tests/fuzzcases.py kinds()")
    ap.add_argument("--no-post", action="store_true", help="skip mine and bundles on what loads")
    ap.add_argument("--save", metavar="DIR", default="/tmp/bundlelab-fuzz-failures",
                    help="where failing inputs go (default %(default)s)")
    ap.add_argument("--json", metavar="FILE", help="also write every outcome as JSON lines")
    ap.add_argument("--show", type=int, default=3, help="example cases listed per failure group")
    args = ap.parse_args(argv)

    if (args.case_seed is not None or args.kind) and (not args.family or len(args.family) != 1):
        ap.error("--case-seed and --kind need exactly one --family")
    if args.kind and args.kind not in kinds(args.family[0]):
        ap.error(f"--kind: {args.family[0]} has kinds {', '.join(kinds(args.family[0]))}")
    if args.case_seed is not None:
        pairs = [(args.family[0], args.case_seed)]
    else:
        pairs = case_seeds(args.seed, args.cases)
        if args.family:
            fams = list(args.family)
            pairs = [(fams[i % len(fams)], args.seed * 1_000_000 + i) for i in range(args.cases)]

    work = Path(tempfile.mkdtemp(prefix="bundlelab-fuzz-"))
    t0 = time.perf_counter()
    try:
        jobs = max(1, min(args.jobs, len(pairs)))
        if jobs == 1:
            outcomes = run_chunk(pairs, str(work / "w0"), not args.no_post, args.kind)
        else:
            chunks = [pairs[i::jobs] for i in range(jobs)]
            with ProcessPoolExecutor(jobs) as pool:
                futs = [pool.submit(run_chunk, c, str(work / f"w{i}"), not args.no_post, args.kind)
                        for i, c in enumerate(chunks)]
                outcomes = [o for f in futs for o in f.result()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    wall = time.perf_counter() - t0

    if args.case_seed is not None:
        o = outcomes[0]
        case = make_case(o.family, o.seed, o.kind)
        print(f"case {o.label()}  file {case.name!r}  dataset arg {case.dataset!r}  "
              f"expect {o.expect}  note {o.note}")
        print(f"status {o.status}  stage {o.stage or '-'}  mined {o.mined or '-'}  bundled "
              f"{o.bundled or '-'}  rows_kept {o.rows_kept}  {o.seconds:.2f} s")
        if o.exc_type:
            print(f"exception {o.exc_type} at {o.frame} (core: {o.core_frame}): {o.message}")
        for p in o.problems:
            print(f"PROBLEM {p}")
        if o.tb:
            print(o.tb)
        return 0 if o.ok else 1

    print(f"{len(outcomes)} cases, seed {args.seed}, {wall:.1f} s wall "
          f"({'mine + bundles on what loaded' if not args.no_post else 'ingest only'})\n")
    print(table(outcomes))
    skipped = [o for o in outcomes if o.status == "skipped"]
    if skipped:
        print(f"\n{len(skipped)} cases skipped (this file system refused the file name)")
    groups = group_failures(outcomes)
    failing = [o for o in outcomes if not o.ok]
    if groups:
        print(f"\nFAILURES: {len(failing)} cases in {len(groups)} groups "
              "(family | kind | exception | raising frame; message)")
        for key, os_ in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
            fam, kind, exc, where, msg = key
            print(f"\n[{len(os_)}] {fam} | {kind} | {exc or '-'} | {where or '-'}\n"
                  f"    {msg or '(no message)'}")
            for o in os_[: args.show]:
                prob = next(p for p in o.problems if (p.kind, p.exc_type) == (kind, exc))
                print(f"    {o.label()} ({o.note[:50]}; file {o.name[:40]!r}): "
                      f"{prob.detail[:160]}")
        save_failures(outcomes, Path(args.save))
        print(f"\nfailing inputs saved under {args.save}/<family>-<seed>/")
        print("reproduce one: python bench/fuzz_ingest.py --family FAMILY --case-seed SEED "
              "[--kind KIND]")
    else:
        print("\nno failures")
    slow = sorted((o for o in outcomes if o.seconds > SLOW_S), key=lambda o: -o.seconds)
    for o in slow[:10]:
        print(f"slow: {o.family}:{o.seed} {o.seconds:.1f} s ({o.note})")
    if args.json:
        with open(args.json, "w") as fh:
            for o in outcomes:
                fh.write(json.dumps(asdict(o), ensure_ascii=False, default=str) + "\n")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
