"""Headless Chromium through Selenium: Debian's /usr/bin/chromium and chromedriver, never
a downloaded browser. One browser per test module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "console"


class Browser:
    def __init__(self, base_url: str) -> None:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--disable-gpu",
        ):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(10)
        self.base_url = base_url

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def find(self, css: str, timeout: float = 5) -> WebElement:
        return WebDriverWait(self.driver, timeout).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def sign_in(self, credential: str, *, expect: str = "#who") -> None:
        """Submit the sign-in form and wait for ``expect`` (the signed-in header, or
        ``#error`` for a refusal)."""
        self.driver.delete_all_cookies()
        self.open("/admin/login")
        self.find("#credential").send_keys(credential)
        self.find("#sign-in").click()
        self.find(expect)

    def cookie(self, name: str) -> str | None:
        found: dict[str, Any] | None = self.driver.get_cookie(name)
        return None if found is None else str(found["value"])

    def errors(self) -> list[dict[str, Any]]:
        """Console messages of level SEVERE since the last call: script errors and CSP
        violations. Network lines are left out: a refused sign-in is a 403 on purpose."""
        return [
            e
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE" and e.get("source") != "network"
        ]

    def screenshot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SHOTS / f"{name}.png"))

    def close(self) -> None:
        self.driver.quit()
