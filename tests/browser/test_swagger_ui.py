"""The interactive docs in a real browser: headless Chromium (Debian's package) drives Swagger UI
served by `pgrest serve --demo` with openapi-docs-path set, lists the demo's tables and
functions, and runs a "Try it out" request that returns rows. A screenshot is kept as an
artifact in $PGREST_TEST_ARTIFACTS (default: test-artifacts/).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrest_server.postgres import postgres_available

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("PGREST_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def docs_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not postgres_available():
        pytest.skip("no PostgreSQL binaries for the demo database")
    port = _free_port()
    config = tmp_path_factory.mktemp("docs") / "pgrest.conf"
    config.write_text(f'server-host = "127.0.0.1"\nserver-port = {port}\nopenapi-docs-path = "/docs"\n')
    argv = [sys.executable, "-m", "pgrest_cli", "serve", "--demo", "--config", str(config)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/docs/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"pgrest serve --demo did not start: {stderr}")
            time.sleep(0.2)
        yield base + "/docs/"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_swagger_ui_lists_the_api_and_tries_a_request(docs_url: str) -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(docs_url)
            page.wait_for_selector(".opblock-tag", timeout=30_000)
            tags = page.locator(".opblock-tag").all_inner_texts()
            names = {text.split("\n")[0].strip() for text in tags}
            assert {"films", "directors", "actors"} <= names, names
            assert "(rpc) search_films" in names, names

            films = page.locator(".opblock-get", has=page.locator(".opblock-summary-path", has_text="/films"))
            films.first.locator(".opblock-summary").click()
            films.first.locator(".try-out__btn").click()
            films.first.locator(".execute").click()
            body = films.first.locator(".responses-wrapper .live-responses-table .microlight").first
            body.wait_for(timeout=30_000)
            assert "Spirited Away" in body.inner_text()
            page.screenshot(path=str(ARTIFACTS / "swagger-ui.png"), full_page=False)
        finally:
            browser.close()
    assert (ARTIFACTS / "swagger-ui.png").stat().st_size > 0
