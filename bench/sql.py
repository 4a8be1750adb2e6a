"""The hand-written SQL used by the floors: asyncpg with no HTTP, and the Starlette endpoint.

Each read builds its whole JSON answer inside PostgreSQL (`json_build_object`/`json_agg`), so
the client only ships text: the cheapest way a Python service can answer these requests.
The fields match what the ledger's REST/GraphQL answers carry.
"""

from __future__ import annotations

EPIC_JSON = """json_build_object(
  'id', e.id, 'key', e.key, 'title', e.title, 'streams', e.streams, 'status', e.status,
  'source', e.source, 'source_id', e.source_id, 'owner', e.owner, 'team', e.team,
  'planned_cost', CASE WHEN e.planned_cost_amount IS NULL THEN NULL ELSE json_build_object(
      'amount', e.planned_cost_amount::text, 'currency', e.planned_cost_currency) END,
  'start_date', e.start_date, 'target_date', e.target_date, 'hypothesis', e.hypothesis,
  'change_type', e.change_type, 'sponsor', e.sponsor, 'labels', e.labels,
  'warnings', e.warnings, 'version', e.version, 'created_at', e.created_at,
  'updated_at', e.updated_at, 'archived_at', e.archived_at)"""

EPICS_IN_STREAM = """(SELECT e.* FROM epic_streams s JOIN epics e ON e.pk = s.epic_pk
   WHERE s.stream = $1 AND e.archived_at IS NULL ORDER BY s.epic_pk LIMIT $2) e"""

# Scenario 1: first page of epics in a stream ($1 stream, $2 page size).
LIST_EPICS = f"""SELECT json_build_object(
  'items', coalesce(json_agg({EPIC_JSON} ORDER BY e.pk), '[]'::json),
  'next_cursor', max(e.pk)::text)
FROM {EPICS_IN_STREAM}"""

# Scenario 2: one epic by key ($1).
GET_EPIC = f"SELECT {EPIC_JSON} FROM epics e WHERE e.key = $1"

# Scenario 4: epics in a stream with their KPIs and each KPI's last 12 measurements.
BI_EPICS = f"""SELECT json_build_object('items', coalesce(json_agg(json_build_object(
  'id', e.id, 'key', e.key, 'title', e.title, 'status', e.status, 'team', e.team,
  'streams', e.streams,
  'kpis', (SELECT coalesce(json_agg(json_build_object(
      'slug', k.slug, 'name', k.name, 'unit', k.unit, 'direction', k.direction,
      'claimed_share', c.claimed_share::text,
      'measurements', (SELECT coalesce(json_agg(json_build_object(
            'period', mm.period, 'value', mm.value::text) ORDER BY mm.period DESC), '[]'::json)
          FROM (SELECT m.period, m.value FROM measurements m
                WHERE m.kpi_pk = k.pk AND m.segment = 'all' AND m.superseded_at IS NULL
                ORDER BY m.period DESC LIMIT 12) mm)
    ) ORDER BY k.slug), '[]'::json)
    FROM contributions c JOIN kpis k ON k.pk = c.kpi_pk WHERE c.epic_pk = e.pk)
) ORDER BY e.pk), '[]'::json), 'next_cursor', max(e.pk)::text)
FROM {EPICS_IN_STREAM}"""

# Scenario 5 floor: a plain INSERT of the same delivery body ($1 id, $2 dedupe, $3 item,
# $4 headers json, $5 body bytes).
INSERT_DELIVERY = """INSERT INTO webhook_deliveries
  (id, source, event_type, dedupe_key, item_key, status, headers, body, attempts, received_at)
VALUES ($1, 'jira', 'jira:issue_created', $2, $3, 'received', $4::json, $5, 0, now())
RETURNING pk"""

# Scenario 6 floor: attribution.md's default rules as one statement — baseline_delta against
# the agreed baseline, direction, cap at target, no negative uplift, value per unit per month
# (per-year ÷ 12), confidence, claimed share (missing → 0), benefit from the period of the
# epic's start date (lag 0, no ramp), each line rounded once to cents half-even. The period
# value (uplift × money per period × confidence) is computed once per KPI × period, then
# multiplied by each epic's share (kept to 1e-12 cent: far below any rounding decision).
# $1/$2 period range, $3 as_of, $4 confidence. Returns the
# line count and the total (the lines are computed, not shipped to the client).
BENEFIT = """
WITH pv AS (
  SELECT k.pk AS kpi_pk, m.period,
    round(GREATEST(0, LEAST(
      CASE k.direction WHEN 'decrease' THEN k.baseline_value - m.value
                       ELSE m.value - k.baseline_value END,
      CASE WHEN k.target_value IS NULL THEN 'Infinity'::numeric ELSE GREATEST(0,
        CASE k.direction WHEN 'decrease' THEN k.baseline_value - k.target_value
                         ELSE k.target_value - k.baseline_value END) END))
    * k.value_per_unit_amount / CASE k.value_per_unit_per WHEN 'year' THEN 12 ELSE 1 END
    * $4::numeric * 100, 12) AS cents_per_share
  FROM measurements m JOIN kpis k ON k.pk = m.kpi_pk
  WHERE m.segment = 'all' AND m.period BETWEEN $1 AND $2
    AND m.recorded_at <= $3 AND (m.superseded_at IS NULL OR m.superseded_at > $3)
    AND k.baseline_value IS NOT NULL AND k.value_per_unit_amount IS NOT NULL
), lines AS (
  SELECT CASE WHEN e.start_date IS NULL OR pv.period >= to_char(e.start_date, 'YYYY-MM')
              THEN pv.cents_per_share * coalesce(c.claimed_share, 0) ELSE 0 END AS cents
  FROM contributions c
  JOIN epics e ON e.pk = c.epic_pk
  JOIN pv ON pv.kpi_pk = c.kpi_pk
  OFFSET 0  -- evaluate each line's cents once (the rounding below reads it four times)
)
SELECT json_build_object('lines', count(*), 'total', (sum(
  CASE WHEN cents - trunc(cents) = 0.5 THEN trunc(cents) + mod(trunc(cents), 2)
       ELSE round(cents) END) / 100)::text)
FROM lines"""

# Scenario 6 floor over the attribution service's replica tables (decimals stored as
# strings; bitemporal `recorded_at`/`superseded_at`): the same rules as BENEFIT plus the
# reporting currency and agreed fx rates. $1/$2 period range, $3 as_of, $4 reporting
# currency, $5 fx rates as a JSON object, $6 confidence.
BENEFIT_REPLICA = """
WITH k AS (
  SELECT slug, direction, baseline::numeric AS b, target::numeric AS t,
    vpu_amount::numeric / CASE vpu_per WHEN 'year' THEN 12 ELSE 1 END
      * CASE WHEN vpu_currency = $4 THEN 1 ELSE ($5::jsonb ->> vpu_currency)::numeric END
      AS per_period
  FROM replica_kpis
  WHERE recorded_at <= $3 AND (superseded_at IS NULL OR superseded_at > $3)
    AND baseline IS NOT NULL AND vpu_amount IS NOT NULL
), pv AS (
  SELECT k.slug, m.period,
    round(GREATEST(0, LEAST(
      CASE k.direction WHEN 'decrease' THEN k.b - m.value::numeric
                       ELSE m.value::numeric - k.b END,
      CASE WHEN k.t IS NULL THEN 'Infinity'::numeric ELSE GREATEST(0,
        CASE k.direction WHEN 'decrease' THEN k.b - k.t ELSE k.t - k.b END) END))
    * k.per_period * $6::numeric * 100, 12) AS cents_per_share
  FROM replica_measurements m JOIN k ON k.slug = m.kpi
  WHERE m.segment = 'all' AND m.period BETWEEN $1 AND $2
    AND m.recorded_at <= $3 AND (m.superseded_at IS NULL OR m.superseded_at > $3)
), e AS (
  SELECT id, left(start_date, 7) AS start_period FROM replica_epics
  WHERE recorded_at <= $3 AND (superseded_at IS NULL OR superseded_at > $3)
), lines AS (
  SELECT CASE WHEN e.start_period IS NULL OR pv.period >= e.start_period
              THEN pv.cents_per_share * coalesce(c.claimed_share::numeric, 0) ELSE 0 END
         AS cents
  FROM replica_contributions c
  JOIN e ON e.id = c.epic_id
  JOIN pv ON pv.slug = c.kpi
  WHERE NOT c.deleted AND c.recorded_at <= $3
    AND (c.superseded_at IS NULL OR c.superseded_at > $3)
  OFFSET 0
)
SELECT json_build_object('lines', count(*), 'total', (sum(
  CASE WHEN cents - trunc(cents) = 0.5 THEN trunc(cents) + mod(trunc(cents), 2)
       ELSE round(cents) END) / 100)::text)
FROM lines"""

# Scenario 7 floor: read the whole change log in pages ($1 after, $2 limit).
CHANGES_PAGE = """SELECT seq, at, actor, entity, entity_id, action, data::text, hash, prev_hash
FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2"""
