"""Headless Chromium for the reports' tests and the README's screenshot.

Debian's ``chromium`` package (``make browser`` installs it), driven by Playwright without a
browser of Playwright's own. The flags keep Chromium off the network: no background requests,
no component updates, no sync, a fresh profile.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FLAGS = [
    "--no-sandbox",  # the tests may run as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The system's Chromium, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's ``Browser``) with a fresh, temporary profile."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    assert path is not None
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=path,
            headless=True,
            args=FLAGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield browser
        finally:
            browser.close()
