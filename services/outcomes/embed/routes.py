"""`GET /embed/scorecard` (signed link, no API key) and `POST /v1/embed-tokens` (`write`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from ledgerkit.auth import WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import ValidationFailed, error_responses
from ledgerkit.timeutil import utcnow
from outcomes.embed import store, tokens
from outcomes.embed.benefits import fetch_benefits
from outcomes.embed.render import refusal_response, scorecard_response
from outcomes.embed.schemas import EmbedFilters, EmbedTokenCreate, EmbedTokenRead
from outcomes.embed.service import THEMES, FilterError, build_scorecard, canonical_stream
from outcomes.settings import OutcomesSettings

router = APIRouter(tags=["embed"])


def _settings(request: Request) -> OutcomesSettings:
    settings: OutcomesSettings = request.app.state.settings
    return settings


def frame_origins(settings: OutcomesSettings) -> list[str]:
    return settings.embed_allowed_origins or settings.cors_origins


@router.post(
    "/v1/embed-tokens",
    operation_id="embed-create_embed_token",
    status_code=201,
    response_model=EmbedTokenRead,
    responses=error_responses(ValidationFailed),
)
async def create_embed_token(
    body: EmbedTokenCreate, request: Request, session: SessionDep, principal: WriteDep
) -> EmbedTokenRead:
    """A signed scorecard link for a portal's iframe: the filters and the expiry are in the
    token, so the page needs no API key and shows nothing beyond what was chosen here."""
    settings = _settings(request)
    if body.expires_in > settings.embed_max_expires_in:
        raise ValidationFailed(
            f"expires_in is at most {settings.embed_max_expires_in} seconds.",
            errors=[{"loc": ["body", "expires_in"], "msg": "too long"}],
        )
    f = body.filters
    try:
        stream = canonical_stream(f.stream)
    except FilterError as exc:
        raise ValidationFailed(
            str(exc), errors=[{"loc": ["body", "filters", "stream"], "msg": str(exc)}]
        ) from exc
    if f.theme is not None and f.theme not in THEMES:
        msg = f"theme is one of {', '.join(THEMES)}"
        raise ValidationFailed(msg, errors=[{"loc": ["body", "filters", "theme"], "msg": msg}])
    epic_ref = f.epic.strip() if f.epic else None
    if epic_ref and await store.get_epic(session, epic_ref) is None:
        msg = f"no epic with id or key {epic_ref!r}"
        raise ValidationFailed(msg, errors=[{"loc": ["body", "filters", "epic"], "msg": msg}])
    filters = EmbedFilters(
        stream=stream, team=(f.team or "").strip() or None, epic=epic_ref or None, theme=f.theme
    )
    now = int(utcnow().timestamp())
    claims = tokens.EmbedClaims(
        filters={k: v for k, v in filters.model_dump().items() if v},
        expires_at=now + body.expires_in,
        issued_at=now,
        issued_by=principal.name,
    )
    token = tokens.sign(claims, tokens.signing_key(settings.embed_secret))
    base = settings.public_url.rstrip("/") if settings.public_url else str(request.base_url)
    url = f"{base.rstrip('/')}/embed/scorecard?token={token}"
    return EmbedTokenRead(
        url=url,
        token=token,
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        filters=filters,
    )


@router.get(
    "/embed/scorecard",
    operation_id="embed-get_scorecard",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "The scorecard page."},
        400: {"content": {"text/html": {}}, "description": "A filter names nothing known."},
        401: {"content": {"text/html": {}}, "description": "Token missing or expired."},
        403: {"content": {"text/html": {}}, "description": "Token tampered with or not ours."},
    },
)
async def get_scorecard(
    request: Request,
    session: SessionDep,
    token: Annotated[
        str | None, Query(description="Signed token from POST /v1/embed-tokens.")
    ] = None,
    theme: Annotated[str | None, Query(description="light or dark.")] = None,
    stream: Annotated[str | None, Query()] = None,
    team: Annotated[str | None, Query()] = None,
    epic: Annotated[str | None, Query(description="Epic id or key.")] = None,
) -> HTMLResponse:
    """The board scorecard as one self-contained HTML page for an iframe (no scripts, no
    external resources). Filters in the token win over the query parameters; a query
    parameter only adds a filter the token leaves open."""
    settings = _settings(request)
    origins = frame_origins(settings)
    page_theme = theme if theme in THEMES else "light"
    try:
        claims = tokens.verify(
            token, tokens.signing_key(settings.embed_secret), now=int(utcnow().timestamp())
        )
    except tokens.TokenMissing:
        return refusal_response(
            401,
            "A signed link is needed",
            "This scorecard can only be opened with a signed link (a token is missing).",
            origins,
            page_theme,
        )
    except tokens.TokenExpired as exc:
        when = datetime.fromtimestamp(exc.expired_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return refusal_response(
            401,
            "This link has expired",
            f"This scorecard link expired on {when}.",
            origins,
            page_theme,
        )
    except tokens.TokenInvalid:
        return refusal_response(
            403,
            "This link is not valid",
            "The link was changed or was not issued by this ledger, so it cannot be shown.",
            origins,
            page_theme,
        )
    asked = {"stream": stream, "team": team, "epic": epic, "theme": theme}
    filters = {k: v for k, v in asked.items() if v} | claims.filters
    page_theme = filters["theme"] if filters.get("theme") in THEMES else "light"
    benefits = await fetch_benefits(
        settings.attribution_url, settings.attribution_api_key, settings.attribution_timeout
    )
    try:
        card = await build_scorecard(
            session,
            filters=filters,
            theme=page_theme,
            benefits=benefits,
            now=utcnow(),
        )
    except FilterError as exc:
        return refusal_response(400, "Nothing to show", str(exc), origins, page_theme)
    return scorecard_response(card, origins)


async def warn_if_embed_secret_unset(app: FastAPI) -> None:
    """Lifespan hook: say at startup (not at the first embed) that links are per-process."""
    settings: OutcomesSettings = app.state.settings
    tokens.signing_key(settings.embed_secret)
