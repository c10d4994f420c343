"""The real-browser harness shared by the e2e test and bench/browser_corpus.py: start
`streamlit run app.py` on a free local port with a temp workspace, and drive Debian's headless
Chromium (flags that work without a sandbox, a GPU or the network)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(tmp: Path, env: dict[str, str] | None = None, args: list[str] | None = None,
              wait: float = 90) -> tuple[subprocess.Popen, str, object]:
    """``streamlit run app.py`` with its workspace in ``tmp / "ws"``; returns (process, url, log
    file). Raises ``RuntimeError`` with the server log when it does not listen within ``wait``."""
    port = free_port()
    full_env = {**os.environ, "BUNDLELAB_WORKSPACE": str(tmp / "ws"), **(env or {})}
    full_env.pop("BUNDLELAB_MODEL", None)  # the bundled model, whatever the caller's shell says
    log = open(tmp / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.headless", "true", "--browser.gatherUsageStats", "false",
                             *(args or [])],
                            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}", log
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    log.close()
    raise RuntimeError("streamlit did not start: " + (tmp / "streamlit.log").read_text())


def make_driver(tmp: Path):
    """Headless Chromium downloading into ``tmp / "downloads"`` (``drv.downloads``)."""
    downloads = tmp / "downloads"
    downloads.mkdir(exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1600,1200",
                f"--user-data-dir={tmp / 'chrome'}"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_page_load_timeout(120)
    drv.set_script_timeout(120)
    drv.downloads = downloads
    return drv


def idle(drv, timeout: float = 300, quiet: float = 1.5) -> None:
    """Wait until the script run finished: Streamlit's running indicator (stStatusWidget) absent
    for ``quiet`` seconds in a row (it appears with a short delay after a run starts)."""
    deadline = time.time() + timeout
    calm_since = time.time()
    while time.time() < deadline:
        if drv.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'):
            calm_since = time.time()
        elif time.time() - calm_since >= quiet:
            return
        time.sleep(0.2)
    raise TimeoutError("the app was still running")


def nav(label: str) -> str:
    """CSS selector of the sidebar link to the page titled ``label``."""
    return (f'a[data-testid="stSidebarNavLink"]'
            f'[href$="/{label.replace(" & ", "_").replace(" ", "_")}"]')


def goto(drv, label: str, timeout: float = 60) -> None:
    link = WebDriverWait(drv, timeout).until(EC.element_to_be_clickable((By.CSS_SELECTOR,
                                                                         nav(label))))
    link.click()
    idle(drv)
