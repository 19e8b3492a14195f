"""The HTML drift report in a real browser: Debian's chromium, driven through chromium-driver by
selenium (nothing downloads a browser). Skipped, saying why, where they are not installed;
.ci/run installs them.

Opens the file, checks it loaded nothing from anywhere, clicks a severity filter and a column
header and asserts what the page then shows; saves a screenshot under the test's tmp dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.render.html import render_html
from tests.unit.drift.reports import sample_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium "
    "chromium-driver; .ci/run installs them)",
)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _visible(driver: Any) -> list[tuple[str, str]]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#items tbody tr")
    return [
        (row.get_attribute("data-severity"), row.get_attribute("data-address"))
        for row in rows
        if row.is_displayed()
    ]


def test_the_report_filters_sorts_and_draws_the_coverage(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = tmp_path / "drift.html"
    page.write_text(render_html(sample_report()), encoding="utf-8")
    browser.get(page.as_uri())

    assert browser.title == "Reconciler drift report"
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    assert loaded == [], "a self-contained report loads nothing"
    bars = browser.find_elements(By.CSS_SELECTOR, "#coverage-chart rect[data-part]")
    drawn = {(b.get_attribute("data-part"), b.get_attribute("data-count")) for b in bars}
    assert ("not_encrypted", "3") in drawn and ("cmk", "1") in drawn
    assert len(_visible(browser)) == 5

    browser.find_element(By.ID, "filter-critical").click()  # hide the critical items
    shown = _visible(browser)
    assert [s for s, _ in shown] == ["high", "medium", "info"]
    assert browser.find_element(By.ID, "shown").text == "3"

    header = browser.find_element(By.CSS_SELECTOR, 'th[data-key="address"]')
    header.click()
    assert [a for _, a in _visible(browser)] == [
        "kms_key.rds-prod",
        "rds_encryption.pgm-bp1gp00000000003",
        "rds_encryption.pgm-uf6ded0000000001",
    ]
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert next(a for _, a in _visible(browser)) == "rds_encryption.pgm-uf6ded0000000001"

    Select(browser.find_element(By.ID, "region-filter")).select_by_value("cn-shanghai")
    assert _visible(browser) == [("high", "rds_encryption.pgm-uf6ded0000000001")]
    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("changed")
    assert _visible(browser) == []
    assert browser.find_element(By.ID, "shown").text == "0"

    Select(browser.find_element(By.ID, "region-filter")).select_by_value("")
    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("")
    browser.find_element(By.ID, "filter-critical").click()
    cell = browser.find_element(By.CSS_SELECTOR, 'tr[data-rank="0"] td:nth-child(5)')
    assert cell.text  # every item's message is on the page
    assert '<&> "quoted"' in browser.find_element(By.ID, "items").text
    shot = tmp_path / "drift-report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
