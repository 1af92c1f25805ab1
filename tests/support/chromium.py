"""Debian's headless Chromium driven by Selenium through chromedriver, for the browser tests.

Chromium and chromedriver come from the Makefile's install step (apt); nothing is downloaded at test
time (Selenium Manager is switched off).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 20


@contextmanager
def headless_chromium(width: int = 1280, height: int = 1600) -> Iterator[Any]:
    """A Selenium Chrome driver on a window of ``width`` x ``height`` CSS pixels, quit afterwards."""
    if not (os.path.exists(CHROMIUM) and shutil.which("chromedriver")):
        pytest.fail("chromium and chromedriver are missing: run `make install` (installs them with apt)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
