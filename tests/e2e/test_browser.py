"""The newcomer's path in a real headless Chromium (Debian's chromium + chromium-driver):
open the app on the sample data, upload a Latin-1 semicolon CSV, correct a column mapping, build
the quick bundle list, train the models in the background and see the list refined, change a
threshold and see the list change, download the export and
check it. A second path uploads order lines holding ids only plus a product catalog, loads them
with the detected mapping and sees bundles named by the catalog. Saves a screenshot of every page
to tests/e2e/screenshots/ and prints the home page's render time (measured, not asserted)."""

from __future__ import annotations

import csv
import io
import shutil
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

if not (shutil.which("chromium") or shutil.which("chromium-browser")) \
        or not shutil.which("chromedriver"):
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium "
                "chromium-driver; .ci/run does it)", allow_module_level=True)

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.e2e.browser import goto, idle, make_driver, nav, start_app  # noqa: E402

SHOTS = ROOT / "tests" / "e2e" / "screenshots"
UPLOAD = ("Beleg;Artikelnr;Bezeichnung;Menge;Preis;Kunde;Datum\n" + "".join(
    f"{1000 + o};{a};{n};{1 + o % 2};{p};K{o % 9};{1 + o % 28:02d}.03.2024\n"
    for o in range(120)
    for a, n, p in ([("T1", "Théière émaillée", "12,50"), ("T2", "Tasse à thé", "3,20")]
                    if o % 3 else [("K1", "Kerzenhalter Glas", "4,10"), ("K2", "Teelicht 10er", "1,99")])
)).encode("cp1252")

# Instacart-like order lines (ids only) and a catalog holding the names: two planted pairs
IDS_LINES = "order_id,product_id,add_to_cart_order,reordered\n" + "".join(
    f"{5000 + o},{a},{k + 1},{o % 2}\n" for o in range(90)
    for k, a in enumerate((13176, 21137) if o % 3 else (47209, 24852)))
CATALOG = ("product_id,product_name,aisle_id,department_id\n13176,Bag of Organic Bananas,24,4\n"
           "21137,Organic Strawberries,24,4\n47209,Organic Hass Avocado,24,4\n"
           "24852,Banana,24,4\n")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    # the real bundled text model, with a small fine-tuning budget
    # (model training waits for its button, so the test sees the quick list before it starts)
    proc, url, log = start_app(tmp, {"BUNDLELAB_FINETUNE_SECONDS": "5",
                                     "BUNDLELAB_FINETUNE_PAIRS": "64",
                                     "BUNDLELAB_AUTO_MODELS": "0"}, wait=60)
    yield {"url": url, "tmp": tmp}
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def driver(app):
    drv = make_driver(app["tmp"])
    yield drv
    drv.quit()


def wait_text(drv, text: str, timeout: float = 120) -> None:
    WebDriverWait(drv, timeout).until(
        lambda d: text in d.find_element(By.TAG_NAME, "body").text,
        message=f"text {text!r} did not appear")


def no_exception(drv) -> None:
    assert not drv.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), \
        drv.find_element(By.TAG_NAME, "body").text[-2000:]


def click_button(drv, text: str, timeout: float = 120) -> None:
    WebDriverWait(drv, timeout).until(EC.element_to_be_clickable(
        (By.XPATH, f'//button[.//p[text()="{text}"]]'))).click()


def shot(drv, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    drv.save_screenshot(str(SHOTS / f"{name}.png"))


def widget(drv, testid: str, label: str):
    return drv.find_element(By.XPATH, f'//div[@data-testid="{testid}"][.//*[contains(text(), '
                                      f'"{label}")]]')


def choose(drv, label: str, option: str, tries: int = 3) -> None:
    """Pick ``option`` in the select box or multiselect whose label starts with ``label``
    (the page re-renders after each pick, so elements are found afresh on every try)."""
    for attempt in range(tries):
        try:
            entry = drv.find_element(By.CSS_SELECTOR,
                                     f'input[role="combobox"][aria-label^="{label}"]')
            entry.click()
            entry.send_keys(Keys.CONTROL, "a")
            entry.send_keys(option)
            WebDriverWait(drv, 20).until(EC.element_to_be_clickable(
                (By.XPATH, f'//*[@role="option"][normalize-space(.)="{option}"]'))).click()
            idle(drv)
            return
        except StaleElementReferenceException:
            if attempt == tries - 1:
                raise
            idle(drv)


@pytest.fixture
def failure_shot(driver):
    yield
    # pytest has no outcome here; a screenshot at the end costs little and helps CI debugging
    shot(driver, "last_state")


def test_newcomer_path(app, driver, failure_shot, capsys):
    def say(message: str) -> None:  # shown in the CI log, not captured
        with capsys.disabled():
            print(message, flush=True)

    t0 = time.perf_counter()
    driver.get(app["url"])
    wait_text(driver, "Cleaning report", timeout=90)
    say(f"\nhome page rendered with the sample data in {time.perf_counter() - t0:.2f} s "
        "(first start: includes loading the sample into the workspace)")
    idle(driver)
    no_exception(driver)
    assert "sample_online_retail" in driver.find_element(By.TAG_NAME, "body").text
    t0 = time.perf_counter()
    driver.get(app["url"])  # a returning visit: the sample is in the workspace already
    wait_text(driver, "Cleaning report", timeout=90)
    say(f"home page rendered again (sample already loaded) in {time.perf_counter() - t0:.2f} s")
    idle(driver)
    shot(driver, "home")

    # upload a Latin-1, semicolon-separated export and map its columns
    goto(driver, "Upload")
    f = app["tmp"] / "kasse.csv"
    f.write_bytes(UPLOAD)
    driver.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(f))
    wait_text(driver, "encoding cp1252")
    idle(driver)
    for label, col in (("Order id", "Beleg"), ("Item id", "Artikelnr"), ("Quantity", "Menge"),
                       ("Unit price", "Preis"), ("Customer", "Kunde"), ("Item name", "Bezeichnung"),
                       ("Date / time", "Datum")):
        choose(driver, label, col)
    click_button(driver, "Load with these settings")
    wait_text(driver, "Loaded kasse")
    idle(driver)
    no_exception(driver)
    assert "Théière émaillée" in UPLOAD.decode("cp1252")
    shot(driver, "upload")

    # the quick list at once; the models (5 s fine-tune of the bundled model) in the background
    goto(driver, "Bundles")
    wait_text(driver, "Bundle detail", timeout=60)
    idle(driver)
    no_exception(driver)
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "2 bundles (quick list" in body  # the two planted pairs of the upload
    click_button(driver, "Train the models")
    wait_text(driver, "Cancel training", timeout=30)  # training, the list still on the page
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "2 bundles (quick list" in body and "Bundle detail" in body
    shot(driver, "bundles_training")
    wait_text(driver, "Refined with the models", timeout=300)  # the page refines by itself
    idle(driver)
    no_exception(driver)
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "2 bundles" in body and "quick list" not in body
    shot(driver, "bundles")
    box = widget(driver, "stNumberInput", "Bought together in at least N orders")
    entry = box.find_element(By.TAG_NAME, "input")
    entry.send_keys(Keys.CONTROL, "a")
    entry.send_keys("50", Keys.ENTER)
    wait_text(driver, "1 bundle\n")  # only the 80-order pair is left
    idle(driver)
    no_exception(driver)

    goto(driver, "Coverage")
    wait_text(driver, "Coverage against the number of bundles")
    no_exception(driver)
    shot(driver, "coverage")

    goto(driver, "Evaluate & Export")
    no_exception(driver)
    shot(driver, "evaluate_export")
    click_button(driver, "Download CSV")
    deadline = time.time() + 30
    target = driver.downloads / "kasse-bundles.csv"
    while time.time() < deadline and not target.exists():
        time.sleep(0.3)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 1
    assert set(rows[0]["items"].split(" | ")) == {"T1", "T2"}
    assert "Bought together in" in rows[0]["explanation"]

    for label, name in (("Rules", "rules"), ("Item similarity", "item_similarity"),
                        ("Recommender", "recommender")):
        if driver.find_elements(By.CSS_SELECTOR, nav(label)):
            goto(driver, label)
            no_exception(driver)
            shot(driver, name)


def test_ids_with_catalog_path(app, driver, failure_shot, capsys):
    """Order lines with ids only plus a catalog, loaded with the detected mapping: the data check
    says where the names come from, the sidebar follows the new dataset, and the bundles read as
    product names, not ids."""
    t0 = time.perf_counter()
    if not driver.current_url.startswith(app["url"]):  # run on its own (-k)
        driver.get(app["url"])
        wait_text(driver, "Cleaning report", timeout=90)
        idle(driver)
    goto(driver, "Upload")
    lines, catalog = app["tmp"] / "order_lines.csv", app["tmp"] / "products.csv"
    lines.write_text(IDS_LINES, encoding="utf-8")
    catalog.write_text(CATALOG, encoding="utf-8")
    driver.find_elements(By.CSS_SELECTOR, 'input[type="file"]')[0].send_keys(str(lines))
    wait_text(driver, "Data check")
    idle(driver)
    driver.find_elements(By.CSS_SELECTOR, 'input[type="file"]')[1].send_keys(str(catalog))
    wait_text(driver, "products.csv")
    idle(driver)
    no_exception(driver)
    names = widget(driver, "stMultiSelect", "Item name")  # preset to the catalog's column
    assert "product_name" in names.text
    shot(driver, "upload_catalog")
    click_button(driver, "Load with these settings")
    wait_text(driver, "Loaded order_lines")
    idle(driver)
    no_exception(driver)
    picker = driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"] '
                                                  'input[role="combobox"][aria-label="Dataset"]')
    assert picker.get_attribute("value") == "order_lines"  # the new dataset, without a refresh

    goto(driver, "Bundles")
    wait_text(driver, "Bundle detail", timeout=60)
    idle(driver)
    no_exception(driver)
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Bag of Organic Bananas" in body and "Organic Strawberries" in body, body[-1500:]
    assert "13176 + 21137" not in body
    shot(driver, "bundles_catalog")
    with capsys.disabled():
        print(f"\nids + catalog path: {time.perf_counter() - t0:.1f} s", flush=True)
