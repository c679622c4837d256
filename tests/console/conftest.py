"""The console's browser tests: one ``assistantd serve`` started the README's way (SQLite, the scripted
upstream, a project key from ``assistantd keys create``), and Debian's Chromium driven by Playwright.

Screenshots go to ``$TEST_ARTIFACTS`` (default ``tests/console/artifacts/``, gitignored). The browser is
the system's (``/usr/bin/chromium``); Playwright never downloads one. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._cli import ServerProcess, clean_env, run_cli, serving
from tests._deployment import fake_upstream

ADMIN = "sk-admin-console-0123456789"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or Path(__file__).with_name("artifacts"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)) == Path(__file__).with_name("test_console.py"):  # the browser tests
            if os.environ.get("TEST_DATABASE") == "postgresql":
                item.add_marker(pytest.mark.skip(reason="the console's server is SQLite's (see conftest.py)"))
            elif not shutil.which(CHROMIUM):
                item.add_marker(pytest.mark.skip(reason=f"no {CHROMIUM} (apt-get install chromium)"))


@dataclass
class Served:
    url: str
    key: str
    server: ServerProcess
    data: Path
    env: dict[str, str]

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.key}", "OpenAI-Beta": "assistants=v2"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("console") / "data"
    env = clean_env(
        ASSISTANTD_ADMIN_KEY=ADMIN,
        ASSISTANTD_UPSTREAM_BASE_URL="scripted",
        ASSISTANTD_EMBEDDINGS="hashing",
        ASSISTANTD_FILE_SEARCH_EVERY_TURN="true",
    )
    made = run_cli("keys", "create", "--project", "console", "--data-dir", str(data), env=env)
    assert made.returncode == 0, made.stderr
    with serving(data, env=env) as server:
        yield Served(server.url, made.stdout.strip(), server, data, env)


@pytest.fixture(scope="session")
def served_tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A second server, in front of ``bench/fake_upstream.py``: its ``...calls...`` models call the first tool,
    code_interpreter with the code after ``code:`` in the user's message (the scripted demo cannot)."""
    root = tmp_path_factory.mktemp("console-tools")
    root.chmod(0o755)  # the sandbox's uids read the session files under the data dir
    key = "sk-console-tools-0123456789"
    with fake_upstream(first_ms=10, every_ms=5, tokens=5) as upstream:
        env = clean_env(ASSISTANTD_API_KEYS=key, ASSISTANTD_UPSTREAM_BASE_URL=upstream, ASSISTANTD_EMBEDDINGS="hashing")
        with serving(root / "data", env=env) as server:
            yield Served(server.url, key, server, root / "data", env)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, served: Served, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab (its own sessionStorage) logged in with the project key; a script error fails the test."""
    yield from _tab(browser, served, request)


@pytest.fixture
def tools_page(browser: Any, served_tools: Served, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The same, on the server whose upstream calls tools."""
    yield from _tab(browser, served_tools, request)


def _tab(browser: Any, served: Served, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    # The CSP holds for the whole app: no inline script or style, nothing fetched from elsewhere.
    tab.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    tab.set_default_timeout(20_000)
    login(tab, served)
    try:
        yield tab
    finally:
        shot(tab, request.node.name + "-end")
        context.close()
    assert not errors, errors


def login(tab: Any, served: Served, key: str | None = None) -> None:
    tab.goto(served.url + "/console")
    tab.fill("#key", served.key if key is None else key)
    tab.click("#login button[type=submit]")
    if key is None:
        tab.wait_for_selector("body[data-ready]", state="attached")


def open_area(tab: Any, served: Served, area: str, *rest: str) -> None:
    """Navigate to ``#/area/...`` and wait until the view has rendered (it sets ``body[data-ready]``)."""
    tab.evaluate("delete document.body.dataset.ready")
    tab.goto(served.url + "/console#/" + "/".join((area, *rest)))
    tab.wait_for_selector(f"body[data-ready='{area}']", state="attached")


def shot(tab: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path
