"""Debian's chromium driven by Selenium through Debian's chromium-driver, with the pinned
axe-core for accessibility checks and a screenshot of each page under build/screenshots/."""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE = Path(__file__).with_name("axe") / "axe.min.js"
CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"
BLOCKING_IMPACTS = ("serious", "critical")


def browser_problem() -> str | None:
    if not any(shutil.which(name) for name in CHROMIUM) or shutil.which(DRIVER) is None:
        return ("Debian's chromium and chromium-driver are not installed "
                "(scripts/setup-host.sh installs them)")
    return None


def start_browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = next(p for p in map(shutil.which, CHROMIUM) if p)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which(DRIVER)))
    driver.implicitly_wait(0)
    return driver


class Browser:
    """One signed-in (or not) browser, with the checks every page gets."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.axe_source = AXE.read_text()
        self.checked: list[str] = []

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def path(self) -> str:
        url = self.driver.current_url
        return url.removeprefix(self.base_url)

    def find(self, css: str) -> WebElement:
        return WebDriverWait(self.driver, 10).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))

    def wait_for_text(self, css: str, expected: str, timeout: float = 10) -> None:
        """Until an element shows ``expected`` (a form's answer, not the page before it)."""

        def shown(_: object) -> bool:
            try:
                return any(expected in e.text
                           for e in self.driver.find_elements(By.CSS_SELECTOR, css))
            except StaleElementReferenceException:
                return False

        WebDriverWait(self.driver, timeout).until(shown, f"{expected!r} in {css}")

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def click(self, css: str) -> None:
        self.find(css).click()

    def check_page(self, name: str) -> None:
        """Screenshot, then axe: no serious or critical violation on this page."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        self.driver.execute_script(self.axe_source)
        violations = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e),"
            " nodes: []}]));")
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe on {name} ({self.path()}): {blocking}"
        self.checked.append(name)
