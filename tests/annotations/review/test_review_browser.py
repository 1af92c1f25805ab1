"""End to end in a real browser: Debian's headless Chromium driven by Selenium through chromedriver.

An annotator logs in with their token, accepts one item with the keyboard shortcut, edits one through
the edit form, rejects one with a reason, and the warehouse rows are checked afterwards. Chromium and
chromedriver come from the Makefile's install step (apt); nothing is downloaded at test time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chromium import WAIT_S, headless_chromium

from mmrare.annotations.review.records import REJECT_REASONS
from mmrare.annotations.review.store import ReviewStore

pytestmark = pytest.mark.slow


@pytest.fixture
def browser() -> Iterator[Any]:
    with headless_chromium() as driver:
        yield driver


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


def _tab_to(driver: Any, element_id: str, limit: int = 60) -> None:
    """Press Tab until the element with ``element_id`` has the focus (the keyboard's way there)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        if driver.execute_script("return document.activeElement && document.activeElement.id") == element_id:
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
    raise AssertionError(f"Tab never reached #{element_id}")


def _keys(driver: Any, *keys: str) -> None:
    """Type into whatever has the focus, as a keyboard does (no element is clicked)."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def test_keyboard_only_review_of_three_items(browser: Any, live_server: Any, tokens: dict[str, str]) -> None:
    """Log in, accept, reject with a reason and edit, with the keyboard alone; the verdict bar stays
    in view however far the page is scrolled."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(f"{live_server.url}/login")  # the token field has the focus
    _keys(browser, tokens["bob"], Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.ID, "start"))
    _tab_to(browser, "start")
    _keys(browser, Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.ID, "accept-form"))

    # 1. accept with "a", after checking the verdict bar is still in view at the bottom of the page
    accepted = _item_id(browser)
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    assert browser.execute_script("return window.scrollY") > 0
    top = browser.execute_script("return document.getElementById('actions').getBoundingClientRect().top")
    assert 0 <= top < 50
    _keys(browser, "a")
    wait.until(lambda d: _item_id(d) != accepted and d.find_elements(By.ID, "accept-form"))

    # 2. reject: "r" opens the panel on the reason list; arrows choose, Tab moves on, Enter submits
    rejected = _item_id(browser)
    _keys(browser, "r")
    wait.until(lambda d: d.execute_script("return document.activeElement.id") == "reject-reason")
    _keys(browser, Keys.DOWN, Keys.DOWN)
    reason = browser.execute_script("return document.getElementById('reject-reason').value")
    assert reason == list(REJECT_REASONS)[1]
    _keys(browser, Keys.TAB, "Two options fit", Keys.TAB)
    assert browser.execute_script("return document.activeElement.id") == "reject"
    _keys(browser, Keys.ENTER)
    wait.until(lambda d: _item_id(d) not in (accepted, rejected) and d.find_elements(By.ID, "accept-form"))

    # 3. edit: "e" opens the edit form; new wording, the gold moved with an arrow key, saved with Enter
    edited = _item_id(browser)
    _keys(browser, "e")
    wait.until(lambda d: d.find_elements(By.ID, "edit-form"))
    _tab_to(browser, "question")
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    _keys(browser, Keys.DELETE, "Keyboard edit: which answer fits best?")
    gold = browser.execute_script("return document.querySelector('input[name=answer]:checked').value")
    _tab_to(browser, f"answer-{gold}")
    filled = browser.execute_script(
        "return [...document.querySelectorAll('input[name^=option_]')].filter(e => e.value.trim()).length"
    )
    step, key = (1, Keys.DOWN) if int(gold) + 1 < filled else (-1, Keys.UP)
    _keys(browser, key)  # a neighbouring (non-empty) option becomes the gold
    moved = browser.execute_script("return document.querySelector('input[name=answer]:checked').value")
    assert moved == str(int(gold) + step)
    _tab_to(browser, "note")
    _keys(browser, "gold moved by keyboard")
    _tab_to(browser, "save-edit")
    _keys(browser, Keys.ENTER)
    # the edit page's URL ends in "edit": wait until the saved edit has moved the browser on
    wait.until(lambda d: not d.current_url.rstrip("/").endswith("/edit") and _item_id(d) != edited)

    store: ReviewStore = live_server.store
    with store.read() as cur:
        reviews = cur.execute(
            "SELECT item_id, verdict, result_version, reject_reason, comment FROM reviews"
            " WHERE annotator = 'bob' ORDER BY created_at"
        ).fetchall()
        version = cur.execute(
            "SELECT question, answer_index, note FROM item_versions WHERE item_id = ? AND version = 1",
            [edited],
        ).fetchone()
    assert reviews == [
        (accepted, "accept", 0, None, ""),
        (rejected, "reject", None, reason, "Two options fit"),
        (edited, "edit", 1, None, ""),
    ]
    assert version == ("Keyboard edit: which answer fits best?", int(moved), "gold moved by keyboard")
