"""The two services, by name: their settings, app factories and migration configs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI starts fast: heavy imports happen only in the command that runs
    from alembic.config import Config
    from fastapi import FastAPI
    from sqlalchemy import MetaData, Table

    from ledgerkit.settings import CommonSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    default_port: int
    settings: Callable[[], Any]
    create_app: Callable[[Any], FastAPI]
    migrations: Callable[[], Config]
    metadata: MetaData
    key_table: Table

    def database_url(self, settings: CommonSettings | None = None) -> str:
        s: Any = settings or self.settings()
        return str(s.database_url)


def outcomes() -> ServiceSpec:
    from outcomes.app import create_app
    from outcomes.db import migrations_config
    from outcomes.models import Base, api_keys
    from outcomes.settings import OutcomesSettings

    return ServiceSpec(
        "outcomes", 8000, OutcomesSettings, create_app, migrations_config, Base.metadata, api_keys
    )


def attribution() -> ServiceSpec:
    from attribution.app import create_app
    from attribution.db import migrations_config
    from attribution.models import Base, api_keys
    from attribution.settings import AttributionSettings

    return ServiceSpec(
        "attribution",
        8001,
        AttributionSettings,
        create_app,
        migrations_config,
        Base.metadata,
        api_keys,
    )


SERVICES: dict[str, Callable[[], ServiceSpec]] = {
    "outcomes": outcomes,
    "attribution": attribution,
}


def select(name: str | None) -> list[ServiceSpec]:
    return [f() for n, f in SERVICES.items() if name in (None, n)]
