"""`ledger` CLI: serve, migrate, seed demo data, manage keys, write the API contracts.

Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad usage.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ledger_cli import services as svc
from ledger_cli import workers as worker_pool

app = typer.Typer(help="Outcome Ledger command line.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="API keys stored (hashed) in the services' databases.")
contracts_app = typer.Typer(help="The committed OpenAPI / GraphQL contracts.")
app.add_typer(keys_app, name="keys")
app.add_typer(contracts_app, name="contracts")

console = Console(stderr=True)
out = Console()

DEMO_KEY = "ledger-demo-key"
DEMO_SCOPES = "read+write+finance+admin"

ServiceOpt = Annotated[
    str | None,
    typer.Option("--service", "-s", help="outcomes or attribution (default: both)."),
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def _specs(service: str | None) -> list[svc.ServiceSpec]:
    if service is not None and service not in svc.SERVICES:
        console.print(f"[red]error:[/red] unknown service {service!r}; use outcomes or attribution")
        raise typer.Exit(2)
    return svc.select(service)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="outcomes or attribution")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port (8000 outcomes, 8001 attribution).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (production: 2+).")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code change (development).")] = False,
) -> None:
    """Run one service with uvicorn (uvloop + httptools when installed)."""
    import uvicorn

    spec = _specs(service)[0]
    target = f"{spec.name}.app:create_app"
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,  # our middleware logs one structured line per request
        "proxy_headers": True,
        "timeout_graceful_shutdown": 20,
    }
    port = port or spec.default_port
    if workers > 1 and not reload and worker_pool.available():
        # One listening socket per worker: the kernel spreads connections evenly.
        raise typer.Exit(
            worker_pool.serve(target, host=host, port=port, workers=workers, options=options)
        )
    # uvicorn re-raises SIGTERM once its graceful shutdown is done (in-flight requests
    # finished, lifespan shutdown run); that stop is a clean one, so exit 0, not 143.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        target,
        factory=True,
        host=host,
        port=port,
        workers=workers if not reload else None,
        reload=reload,
        **options,
    )


@app.command()
def migrate(
    service: ServiceOpt = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    downgrade: Annotated[bool, typer.Option(help="Downgrade to --revision instead.")] = False,
) -> None:
    """Bring the database(s) to the latest schema (or to --revision)."""
    from ledgerkit import migrate as m

    for spec in _specs(service):
        url = spec.database_url()
        cfg = spec.migrations()
        try:
            if downgrade:
                asyncio.run(m.downgrade(url, cfg, revision))
            else:
                asyncio.run(m.upgrade(url, cfg, revision))
            current = asyncio.run(m.current_revision(url, cfg))
        except Exception as exc:
            raise _fail(f"{spec.name}: migration failed: {exc}") from exc
        out.print(f"{spec.name}: at revision {current or 'base'}")


@app.command()
def revision(
    service: Annotated[str, typer.Option("--service", "-s")],
    message: Annotated[str, typer.Option("--message", "-m")],
) -> None:
    """(Development) autogenerate a migration from the models against a scratch SQLite DB."""
    import tempfile

    from alembic import command

    from ledgerkit import migrate as m
    from ledgerkit.db import create_engine

    spec = _specs(service)[0]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        cfg = spec.migrations()
        asyncio.run(m.upgrade(url, cfg))

        async def gen() -> None:
            engine = create_engine(url)
            async with engine.connect() as conn:

                def run(sync_conn: Any) -> None:
                    cfg.attributes["connection"] = sync_conn
                    command.revision(cfg, message=message, autogenerate=True)

                await conn.run_sync(run)
            await engine.dispose()

        asyncio.run(gen())


@app.command("seed-demo")
def seed_demo(service: ServiceOpt = None) -> None:
    """Load demo data (idempotent): epics in every stream, KPIs, measurements, a rule set."""
    import importlib

    for spec in _specs(service):
        try:
            demo = importlib.import_module(f"{spec.name}.demo")
        except ModuleNotFoundError:
            out.print(f"{spec.name}: no demo data yet")
            continue
        try:
            summary = asyncio.run(demo.seed(spec.settings()))
        except Exception as exc:
            raise _fail(f"{spec.name}: seeding failed: {exc}") from exc
        out.print(f"{spec.name}: {summary}")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Key name; recorded as the actor of changes.")],
    scopes: Annotated[str, typer.Option(help="read,write,finance,admin")] = "read",
    service: ServiceOpt = None,
) -> None:
    """Create a key (in both services unless --service) and print it once."""
    from ledgerkit.auth import create_stored_key, generate_key, parse_scopes
    from ledgerkit.db import Database
    from ledgerkit.errors import LedgerError

    try:
        scope_set = parse_scopes(scopes)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    key = generate_key()
    for spec in _specs(service):

        async def create(spec: svc.ServiceSpec = spec) -> None:
            db = Database(spec.database_url())
            try:
                async with db.session(write=True) as session:
                    await create_stored_key(session, spec.key_table, name, scope_set, key)
            finally:
                await db.dispose()

        try:
            asyncio.run(create())
        except LedgerError as exc:
            raise _fail(f"{spec.name}: {exc.detail}") from exc
    out.print(key)


@keys_app.command("list")
def keys_list(service: ServiceOpt = None) -> None:
    """List stored keys (name, prefix, scopes, created, revoked) — never the keys."""
    from rich.table import Table
    from sqlalchemy import select

    from ledgerkit.db import Database

    table = Table("service", "name", "prefix", "scopes", "created_at", "revoked_at")
    for spec in _specs(service):

        async def rows(spec: svc.ServiceSpec = spec) -> list[Any]:
            db = Database(spec.database_url())
            try:
                async with db.session() as session:
                    t = spec.key_table
                    return list((await session.execute(select(t).order_by(t.c.id))).all())
            finally:
                await db.dispose()

        for r in asyncio.run(rows()):
            table.add_row(
                spec.name, r.name, r.prefix + "…", r.scopes, str(r.created_at), str(r.revoked_at)
            )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument()], service: ServiceOpt = None) -> None:
    """Revoke a stored key by name."""
    from ledgerkit.auth import revoke_stored_key
    from ledgerkit.db import Database

    revoked = 0
    for spec in _specs(service):

        async def revoke(spec: svc.ServiceSpec = spec) -> bool:
            db = Database(spec.database_url())
            try:
                async with db.session(write=True) as session:
                    return await revoke_stored_key(session, spec.key_table, name)
            finally:
                await db.dispose()

        revoked += asyncio.run(revoke())
    if not revoked:
        raise _fail(f"no active key named {name!r}")
    out.print(f"revoked {name} ({revoked} service(s))")


@contracts_app.command("write")
def contracts_write() -> None:
    """Regenerate openapi/*.yaml and the GraphQL SDL files from the code."""
    from ledger_cli.contracts import write_contracts

    for path in write_contracts():
        out.print(f"wrote {path}")


@contracts_app.command("check")
def contracts_check() -> None:
    """Exit 1 when a committed contract differs from what the code generates."""
    from ledger_cli.contracts import expected_files

    stale = [p for p, text in expected_files().items() if not p.exists() or p.read_text() != text]
    if stale:
        raise _fail("stale contracts: " + ", ".join(str(p) for p in stale))
    out.print("contracts up to date")


@app.command()
def up(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    seed: Annotated[bool, typer.Option(help="Load demo data.")] = True,
) -> None:
    """Migrate, load demo data and run both services until Ctrl-C (the README's command)."""
    env = dict(os.environ)
    env.setdefault("LEDGER_API_KEYS", f"{DEMO_KEY}:{DEMO_SCOPES}")
    env.setdefault("OUTCOMES_API_KEY", DEMO_KEY)
    env.setdefault("LOG_JSON", "false")
    env.setdefault("LOG_LEVEL", "WARNING")
    # A fixed development secret, so embed links survive a restart of `up` (never production).
    env.setdefault("EMBED_SECRET", "dev-only-embed-secret-change-me")
    key = env["LEDGER_API_KEYS"].split(",")[0].rpartition(":")[0]
    Path("data").mkdir(exist_ok=True)
    ledger = [sys.executable, "-m", "ledger_cli"]
    steps = [[*ledger, "migrate"]]
    if seed:
        steps.append([*ledger, "seed-demo", "--service", "outcomes"])
    for step in steps:
        if subprocess.call(step, env=env) != 0:
            raise _fail(f"{' '.join(step[3:])} failed")
    procs = [
        subprocess.Popen([*ledger, "serve", name, "--host", host], env=env)
        for name in ("outcomes", "attribution")
    ]
    try:
        outcomes_url, attribution_url = f"http://{host}:8000", f"http://{host}:8001"
        _wait_healthy([outcomes_url, attribution_url], procs)
        if seed:
            _finish_demo(ledger, env, outcomes_url, attribution_url, key)
        out.print(
            "\n[bold]Outcome Ledger is running[/bold]\n"
            f"  outcomes     {outcomes_url}   (docs: {outcomes_url}/docs)\n"
            f"  scorecard    {outcomes_url}/embed/scorecard?token=…  "
            "(make a link: POST /v1/embed-tokens)\n"
            f"  attribution  {attribution_url}   (docs: {attribution_url}/docs)\n"
            f"  API key      {key}\n"
            f"  try          curl -H 'Authorization: Bearer {key}' {outcomes_url}/v1/epics\n"
            f"               curl -H 'Authorization: Bearer {key}' {attribution_url}/v1/benefits\n"
            "  Ctrl-C stops both."
        )
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=25)
            except subprocess.TimeoutExpired:
                p.kill()
    codes = [p.returncode for p in procs]
    if any(c not in (0, -signal.SIGINT, None) for c in codes):
        raise typer.Exit(1)


def _wait_healthy(urls: list[str], procs: list[subprocess.Popen[bytes]]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    for url in urls:
        while True:
            if any(p.poll() is not None for p in procs):
                raise _fail("a service exited while starting; see the messages above")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise _fail(f"{url} did not become healthy within 60 s")
            time.sleep(0.2)


def _finish_demo(
    ledger: list[str], env: dict[str, str], outcomes_url: str, attribution_url: str, key: str
) -> None:
    """With both services up: catch the replica up, agree the demo rules (now checked against
    real data) and publish an official run, so benefits and the scorecard show numbers."""
    import httpx

    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
        c.post(f"{attribution_url}/v1/sync").raise_for_status()
        if subprocess.call([*ledger, "seed-demo", "--service", "attribution"], env=env) != 0:
            raise _fail("seeding attribution demo data failed")
        official = c.get(f"{attribution_url}/v1/runs", params={"limit": 500}).json()
        if not any(r.get("status") == "official" for r in official.get("items", [])):
            r = c.post(
                f"{attribution_url}/v1/runs",
                json={"ruleset": "Finance FY26", "from": "2026-01", "to": "2026-12"},
            )
            if r.status_code != 201:
                raise _fail(f"the demo run failed: {r.status_code} {r.text}")
            out.print(f"attribution: official demo run {r.json()['id']} published")


# --- data commands: `export epics`, `import epics`, `audit verify` (ledger_cli/data_commands.py)
from ledger_cli import data_commands  # noqa: E402

data_commands.register(app)


# --- attribution: replica sync and runs -------------------------------------------------

runs_app = typer.Typer(help="Attribution runs, computed against the attribution database.")
app.add_typer(runs_app, name="runs")


@app.command()
def sync() -> None:
    """Catch the attribution replica up with the outcomes change feed once (OUTCOMES_URL,
    OUTCOMES_API_KEY). Exit 1 when outcomes cannot be reached."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from attribution.cli import sync_once
    from attribution.settings import AttributionSettings
    from ledgerkit.errors import LedgerError

    settings = AttributionSettings()
    with Progress(
        TextColumn("[bold]sync[/bold]"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        task = bar.add_task("changes", total=None)

        def progress(after: int, head: int) -> None:
            bar.update(task, completed=after, total=head)

        try:
            result = asyncio.run(sync_once(settings, progress))
        except LedgerError as exc:
            raise _fail(exc.detail) from exc
    rate = result.applied / result.seconds if result.seconds else 0.0
    out.print(
        f"attribution replica at {result.after} of {result.head}: applied {result.applied} "
        f"change(s) in {result.pages} page(s), {result.seconds:.2f}s ({rate:,.0f}/s)"
    )


def _print_json(model: Any) -> None:
    out.print_json(model.model_dump_json(by_alias=True))


@runs_app.command("create")
def runs_create(
    ruleset: Annotated[str, typer.Option(help="Rule set id or name.")],
    period_from: Annotated[str, typer.Option("--from", help="First period (YYYY-MM).")],
    period_to: Annotated[str, typer.Option("--to", help="Last period (YYYY-MM).")],
    version: Annotated[int | None, typer.Option(help="Default: agreed, in force.")] = None,
    as_of: Annotated[str | None, typer.Option(help="ISO timestamp (default now).")] = None,
    preview: Annotated[bool, typer.Option(help="A what-if run (drafts allowed).")] = False,
) -> None:
    """Compute and store a run (official unless --preview); prints it as JSON."""
    from pydantic import ValidationError

    from attribution.cli import create_run
    from attribution.runs.schemas import RunCreate
    from attribution.settings import AttributionSettings
    from ledgerkit.errors import LedgerError

    try:
        body = RunCreate.model_validate(
            {
                "ruleset": ruleset,
                "from": period_from,
                "to": period_to,
                "version": version,
                "as_of": as_of,
                "preview": preview,
            }
        )
        run = asyncio.run(create_run(AttributionSettings(), body))
    except ValidationError as exc:
        raise _fail(str(exc)) from exc
    except LedgerError as exc:
        raise _fail(exc.detail) from exc
    _print_json(run)


@runs_app.command("verify")
def runs_verify(run_id: Annotated[str, typer.Argument(help="The run's id.")]) -> None:
    """Recompute a run from its stored snapshot; exit 1 when anything differs."""
    from attribution.cli import verify_run
    from attribution.settings import AttributionSettings
    from ledgerkit.errors import LedgerError

    try:
        result = asyncio.run(verify_run(AttributionSettings(), run_id))
    except LedgerError as exc:
        raise _fail(exc.detail) from exc
    _print_json(result)
    if not result.ok:
        raise _fail(result.detail)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
