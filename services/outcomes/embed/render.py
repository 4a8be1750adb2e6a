"""HTML rendering (Jinja2, autoescaped) and the security headers every embed answer carries."""

from __future__ import annotations

import re
import secrets
from functools import cache
from importlib import resources

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from outcomes.embed.service import Scorecard

# A CSP source expression for an origin: scheme://host[:port], nothing that could end the
# directive or add a keyword.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?$")


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("outcomes.embed", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _css() -> Markup:
    # Our own static stylesheet, inlined (no external resources). Not user data.
    text = resources.files("outcomes.embed").joinpath("templates/_style.css").read_text("utf-8")
    return Markup(text)


def frame_ancestors(origins: list[str]) -> str:
    good = [o.strip().rstrip("/") for o in origins if _ORIGIN.match(o.strip().rstrip("/"))]
    return " ".join(good) if good else "'none'"


def security_headers(nonce: str, origins: list[str]) -> dict[str, str]:
    """No scripts, no external anything; only the listed portals may frame the page
    (CSP frame-ancestors governs framing, so no X-Frame-Options is sent)."""
    csp = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src data:; base-uri 'none'; "
        f"form-action 'none'; frame-ancestors {frame_ancestors(origins)}"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex",
    }


def scorecard_response(card: Scorecard, origins: list[str]) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = _env().get_template("scorecard.html").render(card=card, nonce=nonce, css=_css())
    return HTMLResponse(html, status_code=200, headers=security_headers(nonce, origins))


def refusal_response(
    status: int, title: str, message: str, origins: list[str], theme: str = "light"
) -> HTMLResponse:
    """A small HTML page (not JSON): it is what the person looking at the iframe sees."""
    nonce = secrets.token_urlsafe(16)
    html = (
        _env()
        .get_template("refusal.html")
        .render(title=title, message=message, nonce=nonce, css=_css(), theme=theme)
    )
    return HTMLResponse(html, status_code=status, headers=security_headers(nonce, origins))
