"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium
(`/usr/bin/chromedriver`, scripts/chromium.sh), against `kafkube serve dashboard` on the real
broker with a hollow fleet (the `dashboard` fixture of test_dashboard.py). A bad token is
refused on the page; the nodes, workloads, pods, services and events views render; a
Deployment created through the API while the page is open appears without a reload; the
Scale button scales it; a pod's log lines stream into the logs panel; moving the time
slider back shows the Deployment as it stood before the scale, and before it existed; an
object's history shows its diff. With KAFKUBE_SCREENSHOTS_DIR set, the main views are
saved there as dashboard-*.png (docs/images/ holds the committed ones)."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from services.runtime.config import Settings
from tests.availability import unavailable
from tests.integration.kafkit import admin_token, publish
from tests.integration.test_dashboard import DashboardUnderTest, dashboard, deployment, service  # noqa: F401 - the fixture

pytestmark = pytest.mark.kafka
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 90


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not Path(CHROMEDRIVER).exists():
        unavailable(f"{CHROMEDRIVER} is missing: run scripts/chromium.sh")  # fails under CI=true, skips elsewhere
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900",
                     f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, what: str, check: Callable[[WebDriver], object]) -> object:
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(check, f"{what} within {WAIT_S} s")


def content(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "content").text


def shot(driver: WebDriver, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"dashboard-{name}.png"
    driver.save_screenshot(str(path))
    if target := os.environ.get("KAFKUBE_SCREENSHOTS_DIR"):
        shutil.copy(path, Path(target) / path.name)


def tab(driver: WebDriver, view: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#tabs button[data-view="{view}"]').click()


async def test_dashboard_in_chromium(dashboard: DashboardUnderTest, browser: WebDriver,  # noqa: F811
                                     settings: Settings, tmp_path: Path) -> None:
    driver = browser
    driver.get(dashboard.url)
    wait(driver, "the login form", lambda d: d.find_element(By.ID, "login").is_displayed())
    driver.find_element(By.ID, "token").send_keys("not-a-token")
    driver.find_element(By.ID, "login-button").click()
    wait(driver, "the refusal", lambda d: d.find_element(By.ID, "login-error").text == "Unauthorized")
    driver.find_element(By.ID, "token").clear()
    driver.find_element(By.ID, "token").send_keys(admin_token())
    driver.find_element(By.ID, "login-button").click()
    wait(driver, "the nodes view", lambda d: "n1" in content(d) and "n2" in content(d) and "Ready=True" in content(d))
    assert driver.find_element(By.ID, "user").text == "kubernetes-admin"
    shot(driver, tmp_path, "nodes")

    tab(driver, "workloads")
    wait(driver, "the workloads view", lambda d: d.find_elements(By.CSS_SELECTOR, "#workloads, #content p.empty"))
    name = f"shop-{secrets.token_hex(3)}"
    assert name not in content(driver)
    await publish(settings, [deployment(name).encode(), service(name).encode()])  # through the API: no reload
    wait(driver, "the new deployment, live", lambda d: f"default/{name} 1/1 ready" in content(d))
    section = driver.find_element(By.CSS_SELECTOR, f'section.deployment[data-name="default/{name}"]')
    replicas = section.find_element(By.CSS_SELECTOR, "input.replicas")
    replicas.clear()
    replicas.send_keys("2")
    before_scale = driver.execute_script("return Date.now()")  # the same machine's clock as the dashboard's
    section.find_element(By.CSS_SELECTOR, "button.scale").click()
    wait(driver, "the scale's answer", lambda d: f"Deployment default/{name}: Updated" in d.find_element(By.ID, "status").text)
    wait(driver, "two ready replicas", lambda d: f"default/{name} 2/2 ready" in content(d))
    shot(driver, tmp_path, "workloads")

    tab(driver, "pods")
    wait(driver, "the pods view", lambda d: name in content(d) and "Running" in content(d))
    shot(driver, tmp_path, "pods")
    driver.find_element(By.CSS_SELECTOR, f'#pods tr[data-name^="{name}-"] button.logs').click()
    wait(driver, "the pod's log lines", lambda d: "hollow container main started" in d.find_element(By.ID, "logs").text)
    shot(driver, tmp_path, "logs")
    driver.find_element(By.ID, "panel-close").click()
    tab(driver, "services")
    wait(driver, "the service and its two endpoints", lambda d: content(d).count(f":8080 ({name}-") == 2)
    shot(driver, tmp_path, "services")
    tab(driver, "events")
    wait(driver, "the events view", lambda d: "Scheduled" in content(d))
    shot(driver, tmp_path, "events")

    tab(driver, "workloads")
    wait(driver, "the workloads view again", lambda d: name in content(d))
    slider = driver.find_element(By.ID, "slider")
    move = "const s = arguments[0]; s.value = arguments[1] ?? s.min; s.dispatchEvent(new Event('change'));"
    driver.execute_script(move, slider, before_scale)
    wait(driver, "the deployment as it stood before the scale", lambda d: f"default/{name} 1/1 ready" in content(d))
    assert driver.find_element(By.ID, "slider-time").text.endswith("Z")
    assert not driver.find_elements(By.CSS_SELECTOR, "button.scale")  # the past is read-only
    shot(driver, tmp_path, "time-slider")
    driver.execute_script(move, slider, None)
    wait(driver, "the cluster at the oldest instant", lambda d: name not in content(d))
    driver.find_element(By.ID, "live").click()
    wait(driver, "live again", lambda d: name in content(d))

    driver.find_element(By.LINK_TEXT, f"default/{name}").click()
    wait(driver, "the history", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#versions a")) >= 2)
    for version in driver.find_elements(By.CSS_SELECTOR, "#versions a"):  # the version that scaled it
        version.click()
        if "spec.replicas 1 2" in driver.find_element(By.ID, "diff").text:
            break
    else:
        raise AssertionError(f"no version changes spec.replicas from 1 to 2: {driver.find_element(By.ID, 'panel').text}")
    shot(driver, tmp_path, "history")
