"""End to end in a real browser: Debian's headless Chromium driven by Selenium through chromedriver.

An annotator logs in with their token, accepts one item with the keyboard shortcut, edits one through
the edit form, rejects one with a reason, and the warehouse rows are checked afterwards. Chromium and
chromedriver come from the Makefile's install step (apt); nothing is downloaded at test time.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from mmrare.annotations.review.store import ReviewStore

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 20

pytestmark = pytest.mark.slow


@pytest.fixture
def browser() -> Iterator[Any]:
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
        "--window-size=1280,1600",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def _item_id(driver: Any) -> str:
    return str(driver.current_url.rstrip("/").rsplit("/", 1)[1])


def test_login_accept_edit_reject_in_chromium(browser: Any, live_server: Any, tokens: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    base = live_server.url

    # log in with the token
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "token").send_keys(tokens["alice"])
    browser.find_element(By.ID, "login").click()
    wait.until(ec.presence_of_element_located((By.ID, "start")))
    assert browser.find_element(By.ID, "who").text == "alice"

    # "n" skips to another item without a verdict
    browser.find_element(By.ID, "start").click()
    wait.until(ec.presence_of_element_located((By.ID, "accept-form")))
    skipped = _item_id(browser)
    browser.find_element(By.TAG_NAME, "body").send_keys("n")
    wait.until(lambda d: _item_id(d) != skipped and d.find_elements(By.ID, "accept-form"))

    # 1. accept with the "a" shortcut
    accepted = _item_id(browser)
    images = browser.find_elements(By.CSS_SELECTOR, "figure.image img")
    assert images, "the item shows its images"
    assert all(browser.execute_script("return arguments[0].naturalWidth", img) > 0 for img in images)
    caption = browser.find_element(By.CSS_SELECTOR, "figure.image details")
    assert caption.get_attribute("open") is None  # captions hidden by default
    browser.find_element(By.TAG_NAME, "body").send_keys("a")
    wait.until(lambda d: _item_id(d) != accepted and d.find_elements(By.ID, "accept-form"))

    # 2. edit: new question, and the gold moved to another option
    edited = _item_id(browser)
    browser.find_element(By.ID, "edit").click()
    question = wait.until(ec.presence_of_element_located((By.ID, "question")))
    question.clear()
    question.send_keys("Edited in Chromium: which answer fits best?")
    gold_before = next(k for k in range(10) if browser.find_element(By.ID, f"answer-{k}").is_selected())
    browser.find_element(By.ID, f"answer-{(gold_before + 1) % 4}").click()
    browser.find_element(By.ID, "note").send_keys("gold moved in the browser test")
    browser.find_element(By.ID, "save-edit").click()
    wait.until(lambda d: d.find_elements(By.ID, "accept-form") and _item_id(d) not in (accepted, edited))

    # 3. reject with a reason, via the "r" shortcut opening the reject panel
    rejected = _item_id(browser)
    browser.find_element(By.TAG_NAME, "body").send_keys("r")
    reason = wait.until(ec.visibility_of_element_located((By.ID, "reject-reason")))
    Select(reason).select_by_value("ambiguous")
    browser.find_element(By.ID, "reject-comment").send_keys("Two options fit <b>equally</b>")
    browser.find_element(By.ID, "reject").click()
    wait.until(lambda d: _item_id(d) not in (accepted, edited, rejected))

    store: ReviewStore = live_server.store
    with store.read() as cur:
        reviews = cur.execute(
            "SELECT item_id, annotator, verdict, item_version, result_version, reject_reason, comment"
            " FROM reviews ORDER BY created_at"
        ).fetchall()
        versions = cur.execute(
            "SELECT item_id, version, based_on, question, answer_index, editor, note FROM item_versions"
            " WHERE version > 0"
        ).fetchall()
        draft = cur.execute(
            "SELECT question, answer_index FROM item_versions WHERE item_id = ? AND version = 0", [edited]
        ).fetchone()
    assert reviews == [
        (accepted, "alice", "accept", 0, 0, None, ""),
        (edited, "alice", "edit", 0, 1, None, ""),
        (rejected, "alice", "reject", 0, None, "ambiguous", "Two options fit <b>equally</b>"),
    ]
    assert versions == [
        (
            edited,
            1,
            0,
            "Edited in Chromium: which answer fits best?",
            (gold_before + 1) % 4,
            "alice",
            "gold moved in the browser test",
        )
    ]
    assert draft is not None and draft[1] == gold_before  # the draft is kept as version 0
