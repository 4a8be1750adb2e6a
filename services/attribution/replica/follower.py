"""Follows the outcomes change feed (`GET /v1/changes?after=`) into the replica tables.

Each page is applied in one transaction together with the new position, so a crash between
pages never skips an entry nor applies one twice; a restart resumes from the stored
position. When outcomes is down the follower records the error, backs off and retries,
while the service keeps computing from the replica it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson
import structlog

from attribution.replica import store
from attribution.replica.errors import FeedInconsistent, OutcomesUnavailable
from ledgerkit.db import Database
from ledgerkit.errors import LedgerError

log = structlog.get_logger("attribution.replica")

PAGE_SIZE = 5000
MAX_BACKOFF = 60.0

Progress = Callable[[int, int], None]  # (after, head)


@dataclass(frozen=True)
class SyncResult:
    applied: int
    pages: int
    after: int
    head: int
    seconds: float


class Follower:
    def __init__(
        self,
        db: Database,
        *,
        outcomes_url: str,
        api_key: str,
        transport: httpx.AsyncBaseTransport | None = None,
        page_size: int = PAGE_SIZE,
        timeout: float = 30.0,
    ) -> None:
        self.db = db
        self.outcomes_url = outcomes_url.rstrip("/")
        self.api_key = api_key
        self.transport = transport
        self.page_size = page_size
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.AsyncClient(
            base_url=self.outcomes_url,
            headers=headers,
            timeout=self.timeout,
            transport=self.transport,
        )

    async def _fetch(self, client: httpx.AsyncClient, after: int) -> dict[str, object]:
        try:
            response = await client.get(
                "/v1/changes", params={"after": after, "limit": self.page_size}
            )
        except httpx.HTTPError as exc:
            raise OutcomesUnavailable(
                f"cannot reach outcomes at {self.outcomes_url}: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code != 200:
            raise OutcomesUnavailable(
                f"outcomes answered {response.status_code} to GET /v1/changes: "
                f"{response.text[:300]}"
            )
        try:
            page = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise OutcomesUnavailable(f"outcomes sent a feed page that is not JSON: {exc}") from exc
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise OutcomesUnavailable("outcomes sent a feed page without `items`")
        return page

    async def sync_once(self, progress: Progress | None = None) -> SyncResult:
        """Catch up with the feed (page after page until the head); one call = one catch-up.

        Raises OutcomesUnavailable / FeedInconsistent after recording the error."""
        async with self._lock:
            started = time.perf_counter()
            applied = pages = 0
            try:
                async with self.client() as client:
                    async with self.db.session() as session:
                        state = await store.peek_state(session)
                        after = state.after if state else 0
                    page = await self._fetch(client, after)
                    while True:
                        items = page["items"]
                        head = int(page.get("head") or 0)  # type: ignore[call-overload]
                        assert isinstance(items, list)
                        # Fetch the next page while this one is applied (outcomes and our
                        # database work at the same time). Its position is this page's
                        # last seq; apply_page skips what was applied meanwhile and refuses
                        # a page that does not continue the feed, so a guess never skips.
                        upcoming = None
                        if items and int(items[-1]["seq"]) < head:
                            upcoming = asyncio.ensure_future(
                                self._fetch(client, int(items[-1]["seq"]))
                            )
                        try:
                            async with self.db.session(write=True) as session:
                                if items:
                                    result = await store.apply_page(session, items, head)
                                    applied += result.applied
                                    after = result.after
                                else:
                                    await store.mark_success(session, head)
                        except BaseException:
                            if upcoming is not None:
                                upcoming.cancel()
                                with contextlib.suppress(BaseException):
                                    await upcoming
                            raise
                        pages += 1
                        if progress:
                            progress(after, max(head, after))
                        if not items or after >= head or upcoming is None:
                            if upcoming is not None:
                                upcoming.cancel()
                                with contextlib.suppress(BaseException):
                                    await upcoming
                            break
                        page = await upcoming
            except LedgerError as exc:
                await self._record_error(exc.detail)
                raise
            seconds = time.perf_counter() - started
            if applied:
                log.info("replica_synced", applied=applied, pages=pages, after=after, head=head)
            return SyncResult(applied, pages, after, max(head, after), seconds)

    async def _record_error(self, message: str) -> None:
        log.warning("replica_sync_failed", error=message)
        try:
            async with self.db.session(write=True) as session:
                await store.mark_error(session, message)
        except Exception:  # the database may be the thing that is down
            log.exception("replica_error_not_recorded")

    async def run(self, interval: float) -> None:
        """Poll every `interval` seconds; on failure back off (×2 up to a minute)."""
        failures = 0
        while True:
            try:
                await self.sync_once()
                failures = 0
            except (OutcomesUnavailable, FeedInconsistent):
                failures += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # the database, a bug: keep the follower alive, say so
                failures += 1
                log.exception("replica_follower_error")
            delay = interval if not failures else min(interval * 2**failures, MAX_BACKOFF)
            await asyncio.sleep(delay)

    def start(self, interval: float) -> None:
        if interval > 0 and self._task is None:
            self._task = asyncio.create_task(self.run(interval), name="replica-follower")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
