"""The scorecard in a real headless Chromium (Debian's /usr/bin/chromium via Playwright):
a real uvicorn outcomes server on 127.0.0.1, seeded through its API, framed by "portal"
pages served from other 127.0.0.1 ports — one allowed by EMBED_ALLOWED_ORIGINS, one not.
Screenshots land in test-artifacts/ (gitignored)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Frame, Page, async_playwright
from sqlalchemy.engine import make_url

from ledgerkit import migrate
from ledgerkit.db import normalize_url
from outcomes.db import migrations_config
from tests.browser.seed_api import seed
from tests.conftest import API_KEYS_SETTING, KEYS, _admin, _base_url
from tests.reliability.server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian chromium is not installed (apt-get install chromium; .ci/run does it)",
)


@dataclass
class Portal:
    """A static "portal" site: GET /?src=<url>&w=<px> answers a page with one iframe."""

    port: int = field(default_factory=free_port)
    server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, src: str, width: int = 400) -> str:
        return f"{self.origin}/?{httpx.QueryParams({'src': src, 'w': str(width)})}"

    def start(self) -> Portal:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                q = parse_qs(urlsplit(self.path).query)
                src = q.get("src", [""])[0]
                width = int(q.get("w", ["400"])[0])
                html = (
                    "<!doctype html><html><head><meta charset='utf-8'><title>Portal</title>"
                    "<style>body{margin:0;font-family:sans-serif}iframe{border:0;display:block}"
                    "</style></head><body><h1 id='portal'>Intranet portal</h1>"
                    f"<iframe id='scorecard' title='Board scorecard' src={json.dumps(src)} "
                    f"width='{width}' height='2400'></iframe></body></html>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Env:
    ledger: ServerProcess
    allowed: Portal
    other: Portal
    http: httpx.Client

    def link(self, **filters: str) -> str:
        r = self.http.post("/v1/embed-tokens", json={"filters": filters, "expires_in": 600})
        assert r.status_code == 201, r.text
        url: str = r.json()["url"]
        return url


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own (SQLite file, or a fresh PostgreSQL database when DATABASE_URL
    names one), so one server and one seed serve every test here; the per-test cleanup of
    the shared test database does not apply to it."""
    pg = _base_url()
    name = f"ledger_browser_{uuid.uuid4().hex[:10]}"
    if pg:
        asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
        url = make_url(normalize_url(pg)).set(database=name).render_as_string(False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('browser')}/outcomes.db"
    asyncio.run(migrate.upgrade(url, migrations_config()))
    yield url
    if pg:
        asyncio.run(_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def env(ledger_db: str) -> Iterator[Env]:
    allowed, other = Portal().start(), Portal().start()
    ledger = ServerProcess(
        "outcomes",
        {
            "OUTCOMES_DATABASE_URL": ledger_db,
            "LEDGER_API_KEYS": API_KEYS_SETTING,
            "EMBED_SECRET": "browser-test-secret",
            "EMBED_ALLOWED_ORIGINS": json.dumps([allowed.origin]),
            "OUTBOUND_INTERVAL": "0",
            "ATTRIBUTION_URL": "http://127.0.0.1:9",
            "ATTRIBUTION_TIMEOUT": "1",
            "LOG_LEVEL": "WARNING",
        },
    )
    ledger.start()
    http = httpx.Client(
        base_url=ledger.url, headers={"Authorization": f"Bearer {KEYS['admin']}"}, timeout=30
    )
    try:
        seed(http)
        yield Env(ledger, allowed, other, http)
    finally:
        http.close()
        ledger.stop()
        allowed.stop()
        other.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@dataclass
class Opened:
    page: Page
    console: list[ConsoleMessage]
    page_errors: list[str]


async def _open(browser: Browser, url: str) -> Opened:
    page = await browser.new_page(viewport={"width": 480, "height": 1200})
    console: list[ConsoleMessage] = []
    errors: list[str] = []
    page.on("console", lambda m: console.append(m))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(url, wait_until="load")
    return Opened(page, console, errors)


def _frame(page: Page, ledger_url: str) -> Frame | None:
    for f in page.frames:
        if f.url.startswith(ledger_url):
            return f
    return None


async def test_scorecard_loads_in_an_allowed_portal(browser: Browser, env: Env) -> None:
    opened = await _open(browser, env.allowed.page_url(env.link()))
    frame = _frame(opened.page, env.ledger.url)
    assert frame is not None, [f.url for f in opened.page.frames]
    await frame.wait_for_selector("h1")
    assert await frame.inner_text("h1") == "Board scorecard"
    for section in ("Financial", "Customer", "Risk", "Portfolio"):
        assert await frame.locator("h2", has_text=section).count() == 1
    # charts: one SVG per KPI plus the planned-vs-realized bars, each labelled
    assert await frame.locator("svg.chart").count() == 4
    assert await frame.locator("svg.chart polyline.series").count() == 3
    assert await frame.locator("svg.chart line.target").count() == 3
    assert await frame.locator("svg[role=img] title").count() >= 4
    # KPI values visible to a person
    for slug, text in (
        ("checkout-conversion", "3.1%"),
        ("nps", "41"),
        ("fraud-loss-rate", "0.29%"),
    ):
        value = frame.locator(f"[data-kpi='{slug}']")
        assert await value.is_visible()
        assert await value.inner_text() == text
    notice = frame.locator(".notice")
    assert "attribution service did not answer" in await notice.inner_text()
    # fits the 400 px iframe: no horizontal scrolling
    widths = await frame.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    # no console errors, no script errors
    assert [m.text for m in opened.console if m.type == "error"] == []
    assert opened.page_errors == []
    iframe = opened.page.locator("#scorecard")
    await iframe.screenshot(path=str(ARTIFACTS / "scorecard-400-light.png"))
    await opened.page.close()


async def test_dark_theme_at_400px(browser: Browser, env: Env) -> None:
    opened = await _open(browser, env.allowed.page_url(env.link(theme="dark")))
    frame = _frame(opened.page, env.ledger.url)
    assert frame is not None
    await frame.wait_for_selector("svg.chart")
    bg = await frame.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(13, 17, 23)"
    assert [m.text for m in opened.console if m.type == "error"] == []
    await opened.page.locator("#scorecard").screenshot(
        path=str(ARTIFACTS / "scorecard-400-dark.png")
    )
    await opened.page.close()


async def test_a_portal_not_allowed_cannot_frame_it(browser: Browser, env: Env) -> None:
    opened = await _open(browser, env.other.page_url(env.link()))
    for _ in range(100):  # bounded wait for Chromium to report the refused frame
        if any("frame-ancestors" in m.text for m in opened.console):
            break
        await opened.page.wait_for_timeout(50)
    frame = _frame(opened.page, env.ledger.url)
    if frame is not None:  # if Chromium keeps the URL, the document must be empty
        assert await frame.locator("svg.chart").count() == 0
    for f in opened.page.frames:
        if f is not opened.page.main_frame:
            try:
                text = await f.evaluate("document.body ? document.body.innerText : ''")
            except Exception:  # the error page of a refused frame is not scriptable
                text = ""
            assert "Board scorecard" not in text
    messages = " ".join(m.text for m in opened.console)
    assert "frame-ancestors" in messages, messages
    assert await opened.page.inner_text("#portal") == "Intranet portal"
    await opened.page.screenshot(path=str(ARTIFACTS / "scorecard-blocked-portal.png"))
    await opened.page.close()


async def test_a_tampered_link_shows_the_refusal(browser: Browser, env: Env) -> None:
    good = env.link(team="Payments")
    part, sig = good.split("token=")[1].split(".")
    bad = good.replace(f"{part}.{sig}", f"{part}.{sig[::-1]}")
    opened = await _open(browser, env.allowed.page_url(bad))
    frame = _frame(opened.page, env.ledger.url)
    assert frame is not None
    await frame.wait_for_selector("h1")
    assert await frame.inner_text("h1") == "This link is not valid"
    assert await frame.locator("svg").count() == 0
    await opened.page.locator("#scorecard").screenshot(
        path=str(ARTIFACTS / "scorecard-tampered.png")
    )
    await opened.page.close()
