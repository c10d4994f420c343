"""Screenshots for the README: the app on the bundled sample data in headless Chromium.

    python docs/make_screenshots.py        # writes docs/screenshots/{home,bundles,coverage}.png

Uses the same helpers as the browser test (tests/e2e/test_browser.py); the text model gets a
small fine-tuning budget so this finishes in a few minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_browser import click_button, free_port, goto, idle, wait_text  # noqa: E402


def main() -> int:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bundlelab-shots-"))
    port = free_port()
    env = {**os.environ, "BUNDLELAB_WORKSPACE": str(tmp / "ws"),
           "BUNDLELAB_FINETUNE_SECONDS": "30", "BUNDLELAB_FINETUNE_PAIRS": "512"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port",
                             str(port), "--server.headless", "true"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--window-size=1500,1400"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        time.sleep(5)
        drv.get(f"http://127.0.0.1:{port}")
        wait_text(drv, "Cleaning report", 120)
        idle(drv)
        drv.save_screenshot(str(out / "home.png"))
        goto(drv, "Bundles")
        click_button(drv, "Build bundles")
        wait_text(drv, "Bundle detail", 900)
        idle(drv)
        drv.execute_script("window.scrollTo(0, 420)")
        time.sleep(1)
        drv.save_screenshot(str(out / "bundles.png"))
        goto(drv, "Coverage")
        wait_text(drv, "Coverage against the number of bundles", 300)
        idle(drv)
        drv.save_screenshot(str(out / "coverage.png"))
    finally:
        drv.quit()
        proc.terminate()
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
