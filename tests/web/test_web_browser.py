"""The web UI in a real browser (headless chromium through selenium): the demo's order process end to end,
and a user task completed through its form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.web.conftest import eventually
from tests.web.scenario import start_approval, start_order
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.state import DEFAULT_TENANT
from zeebe_celery.testing.browser import chromium

WAIT_SECONDS = 10


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def _wait(browser: WebDriver) -> WebDriverWait[WebDriver]:
    # Pages are replaced under the test (a click's navigation, the live part's swap): look again then.
    return WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    )


def _text(browser: WebDriver, css: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, css).text)


def _notice(browser: WebDriver) -> str:
    """The notice of the page an action led to (a click does not wait for the page it loads)."""
    _wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".notice"))
    return _text(browser, ".notice")


def test_the_demo_process_end_to_end_diagram_incident_retry_completion(engine: ZeebeEngine, browser: WebDriver) -> None:
    key = start_order(engine.runtime, "B-1", -5)
    engine.wait_for_incident(processInstanceKey=key)
    assert engine.web_url is not None
    browser.get(engine.web_url)
    browser.find_element(By.LINK_TEXT, "order-fulfilment").click()
    diagram = browser.find_element(By.CSS_SELECTOR, "svg.bpmn")
    assert diagram.find_element(By.CSS_SELECTOR, '[data-element-id="validate"]').is_displayed()
    browser.find_element(By.LINK_TEXT, "Incidents").click()
    browser.find_element(By.LINK_TEXT, str(key)).click()
    assert _text(browser, ".instance-state") == "INCIDENT"
    assert browser.find_elements(By.CSS_SELECTOR, 'g.incident[data-element-id="validate"]')
    # Fix the order, then retry the job: the worker validates it and the instance runs to its end.
    value = browser.find_element(By.CSS_SELECTOR, 'form.variable input[aria-label="value of order"]')
    value.clear()
    value.send_keys('{"order_id": "B-1", "amount": 42}')
    value.submit()
    assert "set order" in _notice(browser)
    browser.find_element(By.CSS_SELECTOR, "form.retry button").click()
    _wait(browser).until(lambda b: _text(b, ".instance-state") == "COMPLETED")
    assert browser.find_elements(By.CSS_SELECTOR, 'g.taken[data-element-id="order-shipped"]')
    assert "TRK-B-1" in _text(browser, "table.variables")


def test_a_user_task_is_completed_through_its_form(engine: ZeebeEngine, browser: WebDriver) -> None:
    key = start_approval(engine.runtime)
    eventually(lambda: any(t.instance.process_instance_key == key for t in engine.runtime.user_tasks.values()))
    assert engine.web_url is not None
    browser.get(engine.web_url + "ui/tasks")
    row = browser.find_element(By.XPATH, f"//tr[td/a[text()='{key}']]")
    row.find_element(By.CSS_SELECTOR, "td a").click()
    browser.find_element(By.NAME, "field:comment").send_keys("receipt checked")
    browser.find_element(By.NAME, "field:amount").send_keys("99.5")
    browser.find_element(By.NAME, "field:approved").click()
    Select(browser.find_element(By.NAME, "field:costCenter")).select_by_visible_text("Engineering")
    browser.find_element(By.CSS_SELECTOR, "form.complete button").click()
    assert "completed" in _notice(browser)
    engine.wait_for_completion(key)
    browser.get(engine.web_url + f"ui/instances/{key}")
    assert _text(browser, ".instance-state") == "COMPLETED"
    assert browser.find_elements(By.CSS_SELECTOR, 'g.taken[data-element-id="paid"]')
    variables = _text(browser, "table.variables")
    assert "receipt checked" in variables
    assert '"ENG"' in variables
    assert "99.5" in variables


def test_the_instance_page_follows_a_running_instance_without_reloading(
    engine: ZeebeEngine, browser: WebDriver
) -> None:
    runtime = engine.runtime
    with runtime.lock:
        definition = runtime.find_definition(process_id="order-fulfilment")
        key = runtime.create_instance(definition, {"order": {"order_id": "B-2", "amount": 7}}).key
    assert engine.web_url is not None
    browser.get(engine.web_url + f"ui/instances/{key}")
    _wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, 'g.active[data-element-id="payment-settled"]'))
    browser.execute_script("window.stillTheSamePage = true;")
    with runtime.lock:
        runtime.publish_message(
            "payment-settled", correlation_key="B-2", ttl=0, message_id="", variables={}, tenant_id=DEFAULT_TENANT
        )
    _wait(browser).until(lambda b: _text(b, ".instance-state") == "COMPLETED")
    assert browser.execute_script("return window.stillTheSamePage === true;")
