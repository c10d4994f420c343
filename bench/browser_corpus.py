"""Upload to first bundles on every real export under ``../shared/datasets``, in a real headless
Chromium (Debian's chromium + chromedriver), the way a newcomer does it: one ``streamlit run
app.py`` with a fresh temp workspace; for each file, open the Upload page, select the file (no
mapping change), wait for the data check, click "Load with these settings", wait for "Loaded ...",
open the Bundles page and wait for the first bundle table (the quick list; the models train in
the background from the load), and with --refine for the refined list. Measures the seconds from
the file selection to the data check shown, to the load finished, to the first bundle table
shown and to the refined list; reports the number of bundles, five bundle
names as displayed and whether the names read as names (letters) rather than ids. One run per
file. Prints Markdown; saves a screenshot of each bundle page to /tmp/browser_corpus/<name>.png
(and <name>_failure.png with the page text on a failure).

    python bench/browser_corpus.py [--only NAME ...] [--file PATH ...] [--refine] [--fill N]
                                   [--out-dir /tmp/browser_corpus]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.corpus_first_bundles import CORPUS as _ALL, SHARED  # noqa: E402

# the corpus of the CLI bench, less the header-less basket file (same baskets as groceries_long)
CORPUS = [f for f in _ALL if f != "groceries/groceries_baskets.csv.gz"]


from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from core.ingest.load import default_name  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.e2e.browser import CHROMIUM, DRIVER, make_driver, nav, start_app  # noqa: E402
from tests.e2e.browser import goto as _goto  # noqa: E402
from tests.e2e.browser import idle as _idle  # noqa: E402


def idle(drv, timeout: float = 600, quiet: float = 1.5) -> None:
    try:
        _idle(drv, timeout, quiet)
    except TimeoutError:
        raise Failure("the app was still running") from None


def goto(drv, label: str) -> None:
    try:
        _goto(drv, label)
    except TimeoutError:
        raise Failure(f"{label}: the app was still running") from None

LOAD_BUTTON = '//button[.//p[text()="Load with these settings"]]'
COUNT = re.compile(r"^(\d+) bundles?(?: \(quick list[^)]*\))?$", re.M)


class Failure(Exception):
    pass


def body(drv) -> str:
    try:
        return drv.find_element(By.TAG_NAME, "body").text
    except (StaleElementReferenceException, WebDriverException):
        return ""


def check_page(drv, what: str) -> None:
    """Raise with the page text when the page shows an exception or an error box."""
    if drv.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'):
        raise Failure(f"{what}: exception on the page")
    errors = drv.find_elements(By.CSS_SELECTOR, '[data-testid="stAlertContentError"]')
    if errors:
        raise Failure(f"{what}: error shown: {errors[0].text[:500]}")


def until(drv, cond, what: str, timeout: float) -> None:
    """Poll ``cond(drv)`` (every 0.2 s) until true; fail early on an exception/error box."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond(drv):
                return
            check_page(drv, what)
        except (StaleElementReferenceException,):
            pass
        time.sleep(0.2)
    raise Failure(f"{what}: not reached within {timeout:.0f} s")


def clickable(drv, xpath: str):
    found = drv.find_elements(By.XPATH, xpath)
    return found[0] if found and found[0].is_displayed() and found[0].is_enabled() else None


def grid_rows(drv) -> list[list[str]]:
    """The cells of the first st.dataframe as rendered: glide-data-grid keeps an accessibility
    <table> of the visible cells next to its canvas (header row first)."""
    rows = []
    for tr in drv.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"] table tr'):
        cells = [c.get_attribute("textContent") or ""
                 for c in tr.find_elements(By.CSS_SELECTOR, "th, td")]
        if cells:
            rows.append(cells)
    return rows


def names_from_grid(drv) -> list[str]:
    rows = grid_rows(drv)
    if len(rows) < 2:
        return []
    header = [h.strip().lower() for h in rows[0]]
    col = next((i for i, h in enumerate(header) if h.startswith("name")), None)
    if col is None:
        return []
    return [r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()]


def names_from_download(drv, name: str) -> list[str]:
    target = drv.downloads / f"{name}-bundles.csv"
    target.unlink(missing_ok=True)
    btn = clickable(drv, '//button[.//p[text()="Download this list (CSV)"]]')
    if btn is None:
        return []
    btn.click()
    deadline = time.time() + 30
    while time.time() < deadline and not target.exists():
        time.sleep(0.3)
    if not target.exists():
        return []
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    return [r.get("name", "") for r in rows]


def looks_like_name(s: str) -> bool:
    """Holds letters (any script), not only digits, punctuation and separators."""
    return any(ch.isalpha() for ch in s)


FILL_INPUT = '//input[contains(@aria-label, "fill the list with pairs")]'


def fill_list(drv, n: int, res: dict, shots: Path, name: str) -> None:
    """Open the limits expander, ask for the short list to be filled with pairs bought together
    in at least ``n`` orders, wait for the list that says so; record its size and the time."""
    from selenium.webdriver.common.keys import Keys

    summary = drv.find_element(By.XPATH, '//summary[contains(., "Items and categories")]')
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.click()
    until(drv, lambda d: clickable(d, FILL_INPUT) is not None, "fill input", 60)
    box = clickable(drv, FILL_INPUT)
    t0 = time.perf_counter()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(n), Keys.ENTER)
    until(drv, lambda d: "weaker evidence" in body(d) and COUNT.search(body(d)),
          "filled list", 900)
    idle(drv)
    check_page(drv, "filled list")
    res["t_fill"] = time.perf_counter() - t0
    res["bundles_filled"] = int(COUNT.search(body(drv)).group(1))
    res["fill_note"] = next((ln for ln in body(drv).splitlines() if "to fill the list" in ln), "")
    drv.save_screenshot(str(shots / f"{name}_filled.png"))


def one_file(drv, url: str, rel: str, shots: Path, refine: bool, fill: int = 0) -> dict:
    path = Path(rel) if Path(rel).is_absolute() else SHARED / rel
    name = default_name(path.name)
    res = {"file": rel, "dataset": name}
    try:
        goto(drv, "Upload")
        # the uploader of a previous file is emptied when the page is left; wait for it
        until(drv, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[type="file"]'),
              "upload page", 60)
        t0 = time.perf_counter()
        drv.find_elements(By.CSS_SELECTOR, 'input[type="file"]')[0].send_keys(str(path))
        # the data check's summary line ("N rows read; loading would keep ...") and the button
        # (the uploader abbreviates long file names, so the name is not waited for)
        until(drv, lambda d: clickable(d, LOAD_BUTTON) is not None
              and " rows read" in body(d), "data check (Load button)", 600)
        res["t_check"] = time.perf_counter() - t0
        idle(drv)
        check_page(drv, "data check")
        clickable(drv, LOAD_BUTTON).click()
        until(drv, lambda d: f"Loaded {name}:" in body(d), f"'Loaded {name}:'", 900)
        res["t_loaded"] = time.perf_counter() - t0
        res["loaded"] = next((ln for ln in body(drv).splitlines()
                              if ln.startswith(f"Loaded {name}:")), "")
        check_page(drv, "after load")
        # straight on, as a user does (no wait for the page to settle: the sidebar's training
        # progress redraws itself every few seconds)
        WebDriverWait(drv, 60).until(EC.element_to_be_clickable((By.CSS_SELECTOR,
                                                                 nav("Bundles")))).click()
        t1 = time.perf_counter()

        def shown(d) -> bool:
            b = body(d)
            m = COUNT.search(b)
            if not m:
                return False
            return int(m.group(1)) == 0 or bool(
                d.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]'))

        until(drv, shown, "bundle table", 1200)
        res["t_table"] = time.perf_counter() - t0
        res["t_build"] = time.perf_counter() - t1
        res["quick"] = "(quick list" in body(drv)
        if refine:  # the models train in the background: wait for the refined list
            until(drv, lambda d: shown(d) and "(quick list" not in body(d), "refined list", 3600)
            res["t_refined"] = time.perf_counter() - t0
            res["refine_note"] = next((ln for ln in body(drv).splitlines()
                                       if ln.startswith("Refined with the models")), "")
        idle(drv)
        check_page(drv, "bundle page")
        b = body(drv)
        res["bundles"] = int(COUNT.search(b).group(1))
        names, source = names_from_grid(drv), "table"
        if not names and res["bundles"]:
            names, source = names_from_download(drv, name), "CSV download"
        res["names"], res["names_source"] = names[:5], source
        res["names_ok"] = bool(names) and all(looks_like_name(n) for n in names[:5])
        grid = drv.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
        if grid:  # the table sits below the fold: bring it (and the metrics above) into view
            drv.execute_script("arguments[0].scrollIntoView({block: 'center'});", grid[0])
            time.sleep(0.5)
        drv.save_screenshot(str(shots / f"{name}.png"))
        if fill and res["bundles"] < 50:  # a short list: fill it as a user would
            fill_list(drv, fill, res, shots, name)
    except Exception as exc:  # report and go on with the next file
        res["error"] = f"{type(exc).__name__}: {exc}"
        res["page_text"] = body(drv)[-3000:]
        try:
            drv.save_screenshot(str(shots / f"{name}_failure.png"))
        except WebDriverException:
            pass
    return res


def cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="dataset folder names (e.g. pharmacy_cn)")
    ap.add_argument("--refine", action="store_true",
                    help="also wait for the list refined by the background models")
    ap.add_argument("--file", nargs="*", default=[], help="other files (absolute paths)")
    ap.add_argument("--fill", type=int, default=0, metavar="N",
                    help="where the first list is short, fill it with pairs bought together "
                    "in at least N orders (the Bundles page's input) and time the filled list")
    ap.add_argument("--out-dir", default="/tmp/browser_corpus")
    args = ap.parse_args()
    if not (CHROMIUM and DRIVER):
        sys.exit("needs Debian's chromium and chromium-driver")
    shots = Path(args.out_dir)
    shots.mkdir(parents=True, exist_ok=True)
    files = [f for f in CORPUS if not args.only or f.split("/")[0] in args.only]
    files = (files if not args.file or args.only else []) + [str(Path(f).resolve())
                                                             for f in args.file]
    results = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bl_browser_") as tmp_s:
        tmp = Path(tmp_s)
        proc, url, server_log = start_app(tmp, {"HF_HUB_OFFLINE": "1",
                                                "TOKENIZERS_PARALLELISM": "false"},
                                          ["--server.maxUploadSize", "1000"])
        drv = make_driver(tmp)
        try:
            # straight to the Upload page: the home page would load the bundled sample first
            drv.get(f"{url}/Upload")
            until(drv, lambda d: "Upload order lines" in body(d), "Upload page", 120)
            idle(drv)
            for rel in files:
                print(f"... {rel}", file=sys.stderr, flush=True)
                r = one_file(drv, url, rel, shots, args.refine, args.fill)
                results.append(r)
                print(f"    {r}", file=sys.stderr, flush=True)
        finally:
            drv.quit()
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            server_log.close()
            log = (tmp / "streamlit.log").read_text(errors="replace")
            if "Traceback" in log:
                print("streamlit log (tail):\n" + log[-3000:], file=sys.stderr)

    def sec(r, k):
        return f"{r[k]:.1f}" if k in r else "—"

    print(f"\nBrowser path, one run per file (headless Chromium, {os.cpu_count()} CPUs; models "
          "training in the background from the load; seconds from the file selection; total "
          f"{time.perf_counter() - start:.0f} s)\n")
    print("| file | data check shown s | loaded s | first bundle table s | (Bundles page alone s) "
          "| refined list s | bundles | names look like names | 5 bundle names as displayed |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        names = " ; ".join(r.get("names", [])) or "—"
        ok = ("yes" if r.get("names_ok") else "no") if "names" in r else "—"
        print(f"| {r['file']} | {sec(r, 't_check')} | {sec(r, 't_loaded')} | "
              f"{sec(r, 't_table')} | {sec(r, 't_build')} | {sec(r, 't_refined')} | "
              f"{r.get('bundles', '—')} | {ok} | "
              f"{cell(names)} |")
    print()
    for r in results:
        if "loaded" in r:
            print(f"- {r['file']}: {r['loaded']} (first list marked quick: {r.get('quick')}; "
                  f"names read from the {r.get('names_source')}) {r.get('refine_note', '')}")
    for r in results:
        if "bundles_filled" in r:
            print(f"- {r['file']}: filled from {r['bundles']} to {r['bundles_filled']} bundles "
                  f"in {r['t_fill']:.1f} s; the page said: {r['fill_note']}")
    for r in results:
        if "error" in r:
            print(f"\n**{r['file']} failed**: {r['error']}\n\nPage text at the failure "
                  f"(tail):\n\n```\n{r['page_text']}\n```")
    print(f"\nScreenshots: {shots}/<dataset>.png")


if __name__ == "__main__":
    main()
