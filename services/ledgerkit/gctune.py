"""Garbage-collector tuning for server processes.

A request that answers a BI query allocates hundreds of thousands of small objects
(rows, result dicts); with the default thresholds the cyclic collector runs full
collections over the whole heap (all of FastAPI, SQLAlchemy, pydantic, strawberry) many
times per request — measured at up to half the CPU of the GraphQL BI query. After startup
the long-lived objects are frozen out of the collector's view (`gc.freeze`) and the
young-generation threshold raised, so collections stay small and rare. Done once per
process; objects created later are collected as usual.
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

GEN0_THRESHOLD = 100_000
_done = False


def tune_gc() -> None:
    global _done
    if _done:
        return
    _done = True
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


async def tune_gc_on_startup(app: FastAPI) -> None:
    """A `build_app(on_startup=...)` hook."""
    tune_gc()
