"""Alembic, one history per service (each with its own version table), driven in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from ledgerkit.db import create_engine


def alembic_config(migrations_dir: Path, version_table: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    cfg.attributes["version_table"] = version_table
    return cfg


def run_env(metadata: MetaData, config: Config) -> None:
    """Body of every service's `env.py`: migrate over the connection we were handed."""
    from alembic import context

    connection: Connection | None = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `ledger migrate`, not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can't ALTER much
        compare_type=True,
        include_object=lambda obj, name, type_, reflected, compare_to: (
            not (type_ == "table" and name is not None and name.startswith("alembic_version"))
            and _owned(metadata, type_, name, reflected)
        ),
    )
    with context.begin_transaction():
        context.run_migrations()


def _owned(metadata: MetaData, type_: str, name: str | None, reflected: bool) -> bool:
    # Two services may share one PostgreSQL database: ignore the other service's tables.
    return not (type_ == "table" and reflected and name not in metadata.tables)


async def _run(url: str, fn: Any, *args: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.run_sync(fn, *args)
            await conn.commit()
            return result
    finally:
        await engine.dispose()


def _upgrade(conn: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def _downgrade(conn: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, revision)


def _current(conn: Connection, cfg: Config) -> str | None:
    ctx = MigrationContext.configure(conn, opts={"version_table": cfg.attributes["version_table"]})
    return ctx.get_current_revision()


def _diff(conn: Connection, cfg: Config, metadata: MetaData) -> list[Any]:
    script = ScriptDirectory.from_config(cfg)
    diffs: list[Any] = []

    def fn(rev: Any, context: Any) -> list[Any]:
        return []

    with EnvironmentContext(cfg, script, fn=fn):
        ctx = MigrationContext.configure(
            conn,
            opts={
                "version_table": cfg.attributes["version_table"],
                "compare_type": True,
                "target_metadata": metadata,
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    not (
                        type_ == "table" and name is not None and name.startswith("alembic_version")
                    )
                    and _owned(metadata, type_, name, reflected)
                ),
            },
        )
        diffs = compare_metadata(ctx, metadata)
    return diffs


async def upgrade(url: str, cfg: Config, revision: str = "head") -> None:
    await _run(url, _upgrade, cfg, revision)


async def downgrade(url: str, cfg: Config, revision: str = "base") -> None:
    await _run(url, _downgrade, cfg, revision)


async def current_revision(url: str, cfg: Config) -> str | None:
    result: str | None = await _run(url, _current, cfg)
    return result


async def drift(url: str, cfg: Config, metadata: MetaData) -> list[Any]:
    """Differences between the models and a database migrated to head (empty = no drift)."""
    result: list[Any] = await _run(url, _diff, cfg, metadata)
    return result


def head_revision(cfg: Config) -> str | None:
    return ScriptDirectory.from_config(cfg).get_current_head()
