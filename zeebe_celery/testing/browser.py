"""Headless chromium for the web UI's browser tests and screenshots: Debian's ``chromium`` and
``chromium-driver`` (scripts/bootstrap.sh installs them), driven through selenium (a dev dependency)."""

from __future__ import annotations

import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

__all__ = ["BrowserMissing", "chromium"]


class BrowserMissing(RuntimeError):
    """chromium or chromedriver is not installed; scripts/bootstrap.sh installs both."""


def chromium(*, width: int = 1400, height: int = 1000) -> webdriver.Chrome:
    """A headless chromium of that window size; raises BrowserMissing."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise BrowserMissing("the browser tests need Debian's chromium and chromium-driver: run scripts/bootstrap.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
