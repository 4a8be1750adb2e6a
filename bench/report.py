"""Results: ratios, targets (issue 10) and the JSON + Markdown files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TITLES = {
    1: "REST list of epics, stream=Revenue, 100 per page, concurrency 8",
    2: "REST single-epic read by key, concurrency 8",
    3: "REST measurement bulk write, 1,000 rows per request, concurrency 8",
    4: "GraphQL BI query: 500 Revenue epics + KPIs + last 12 measurements, concurrency 8",
    5: "Webhook ingest (Jira issue_created fixture), concurrency 16",
    6: "Attribution run over all epics × 36 periods",
    7: "Change-feed catch-up of attribution from zero",
}
VARIANTS = {
    "ours": "Outcome Ledger",
    "ours_raw": "Outcome Ledger, answer cache off (every request executed)",
    "postgraphile": "PostGraphile 5",
    "starlette": "Starlette + raw SQL (Python HTTP floor)",
    "sql": "asyncpg raw SQL, no HTTP (database floor)",
    "ours_feed_read": "GET /v1/changes pages only (no apply)",
    "sql_outcomes_tables": "one SQL statement over the outcomes tables (this data set)",
}
TARGETS = {
    1: "ours ≥ 1.0× PostGraphile",
    2: "ours ≥ 1.0× PostGraphile",
    3: "(no target; rows/s reported)",
    4: "ours ≥ 2× PostGraphile (judged with the answer cache off)",
    5: "ours ≥ 500 deliveries/s",
    6: "compute ≤ 3× the single SQL statement; whole run (with storing lines) < 10 s",
    7: "≥ 20,000 changes/s",
}


def _rps(v: dict[str, Any] | None) -> float | None:
    if not v or "rps" not in v:
        return None
    return float(v["rps"])


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def evaluate(n: int, s: dict[str, Any]) -> dict[str, Any]:
    """Ratios ours/peer and whether the issue's target is met (None: cannot tell)."""
    ours = s.get("ours")
    out: dict[str, Any] = {"target": TARGETS[n], "met": None, "ratios": {}}
    if n in (1, 2, 4, 5):
        for peer in ("postgraphile", "starlette", "sql"):
            r = ratio(_rps(ours), _rps(s.get(peer)))
            if r is not None:
                out["ratios"][f"ours/{peer}"] = r
        if n in (1, 2) and "ours/postgraphile" in out["ratios"]:
            out["met"] = out["ratios"]["ours/postgraphile"] >= 1.0
        if n == 4:
            # Judged on full execution: the answer cache (on by default) serves a repeated
            # query without executing it, which PostGraphile does not do.
            raw = ratio(_rps(s.get("ours_raw")), _rps(s.get("postgraphile")))
            if raw is not None:
                out["ratios"]["ours_raw/postgraphile"] = raw
            judged = raw if raw is not None else out["ratios"].get("ours/postgraphile")
            if judged is not None:
                out["met"] = judged >= 2.0
        if n == 5 and _rps(ours) is not None:
            out["met"] = (_rps(ours) or 0) >= 500
    elif n == 6 and isinstance(ours, dict) and "compute_seconds" in ours:
        floor = s.get("sql", {}).get("seconds")
        if floor:
            out["ratios"]["ours_compute/sql"] = round(ours["compute_seconds"] / floor, 2)
        total = ours.get("total_seconds")
        if floor and total is not None:
            out["met"] = out["ratios"]["ours_compute/sql"] <= 3.0 and total < 10.0
    elif n == 7 and isinstance(ours, dict) and ours.get("changes_per_s"):
        out["met"] = ours["changes_per_s"] >= 20_000
        floor = s.get("sql", {}).get("changes_per_s")
        if floor:
            out["ratios"]["ours/sql_read"] = ratio(ours["changes_per_s"], floor)
    return out


def _fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def markdown(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    cfg = results.get("config", {})
    data = results.get("data", {})
    lines = [
        "# Benchmark results",
        "",
        f"Run {results.get('started_at')} → {results.get('finished_at')}. "
        f"Machine: {m.get('nproc')} cores ({m.get('cpu')}), {m.get('memory_gib')} GiB, "
        f"PostgreSQL {m.get('postgresql')}, Python {m.get('python')}, Node {m.get('node')}; "
        "server, load driver and PostgreSQL share the cores.",
        "",
        f"Config: {cfg.get('epics')} epics, {cfg.get('kpis')} KPIs; {cfg.get('workers')} server "
        f"workers per service; {cfg.get('trials')} trials × {cfg.get('duration')} s after "
        f"{cfg.get('warmup')} s warm-up; figures are the median of trials (spread = min–max "
        "req/s).",
        "",
    ]
    if data:
        modes = ", ".join(f"{k} via {v['mode']}" for k, v in data.get("load", {}).items())
        lines += [
            f"Data: {json.dumps(data.get('counts'))}; loaded in {data.get('load_seconds')} s "
            f"({modes}).",
            "",
        ]
    ceiling = results.get("driver_ceiling")
    if ceiling:
        lines += [
            f"Load-driver ceiling (no-op Starlette `/ping`, concurrency "
            f"{ceiling.get('concurrency')}): {_fmt(ceiling.get('rps'))} req/s, driver used "
            f"{ceiling.get('driver_cpu_cores')} cores.",
            "",
        ]
    lines += [
        "| # | variant | req/s (spread) | p50 ms | p95 ms | p99 ms | errors | peak RSS MB "
        "| server / PG / driver cores | server CPU ms/req |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for key in sorted(results.get("scenarios", {}), key=int):
        n = int(key)
        s = results["scenarios"][key]
        if "error" in s and len(s) == 1:
            lines.append(f"| {n} | failed: {s['error'][:120]} | | | | | | | | |")
            continue
        for vname, v in s.items():
            label = VARIANTS.get(vname, vname)
            if not isinstance(v, dict):
                continue
            if "not_available" in v or "error" in v:
                reason = v.get("not_available") or v.get("error")
                lines.append(f"| {n} | {label} | not available: {reason} | | | | | | | |")
            elif "rps" in v:
                spread = f"({_fmt(v.get('rps_min'), 0)}–{_fmt(v.get('rps_max'), 0)})"
                cores = (
                    f"{v.get('server_cpu_cores')} / {v.get('postgres_cpu_cores')} / "
                    f"{v.get('driver_cpu_cores')}"
                )
                cpu_ms = None
                if v.get("peak_rss_mb") is not None and v.get("rps"):
                    cpu_ms = round(float(v.get("server_cpu_cores") or 0) / v["rps"] * 1000, 1)
                lines.append(
                    f"| {n} | {label} | {_fmt(v['rps'])} {spread} | {_fmt(v['p50_ms'])} "
                    f"| {_fmt(v['p95_ms'])} | {_fmt(v['p99_ms'])} | {v['errors']} "
                    f"| {_fmt(v.get('peak_rss_mb'))} | {cores} | {_fmt(cpu_ms)} |"
                )
            elif "seconds" in v or "total_seconds" in v:
                text = ", ".join(
                    f"{k} {_fmt(v[k], 3) if isinstance(v[k], float) else _fmt(v[k])}"
                    for k in (
                        "seconds",
                        "compute_seconds",
                        "store_seconds",
                        "total_seconds",
                        "lines",
                        "changes",
                        "changes_per_s",
                    )
                    if k in v
                )
                lines.append(f"| {n} | {label} | {text} | | | | | | | |")
        ev = evaluate(n, s)
        ratios = ", ".join(f"{k} = {r}×" for k, r in ev["ratios"].items()) or "–"
        met = {True: "**met**", False: "**missed**", None: "n/a"}[ev["met"]]
        summary.append(f"| {n} | {TITLES[n]} | {ratios} | {ev['target']} | {met} |")
    lines += [
        "",
        "## Ratios and targets (issue 10)",
        "",
        "| # | scenario | ratios | target | status |",
        "|---|---|---|---|---|",
        *summary,
        "",
    ]
    return "\n".join(lines)


def write(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    for key, s in results.get("scenarios", {}).items():
        if isinstance(s, dict) and not ("error" in s and len(s) == 1):
            s["evaluation"] = evaluate(int(key), {k: v for k, v in s.items() if k != "evaluation"})
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    out.with_suffix(".md").write_text(markdown(results))
