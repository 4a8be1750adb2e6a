"""The change-log `data` of a measurement, built without pydantic, is exactly the model's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from outcomes.measurements.schemas import MeasurementRead
from outcomes.measurements.service import measurement_data


def test_measurement_data_is_the_models_json() -> None:
    times = [
        datetime(2026, 4, 1, 10, 15, 30, 123456, tzinfo=UTC),
        datetime(2026, 4, 1, 10, 15, 30, tzinfo=UTC),
        datetime(2026, 4, 1, 10, 15, 30, 500),  # naive (SQLite): UTC
    ]
    values = ["2.1000", "1E+1", "-0", "0.0000000001", "123456789012345678.5", "-7"]
    for at in times:
        for v in values:
            for source in (None, "bench \u00e9"):
                expected = MeasurementRead(
                    kpi="nps",
                    period="2026-04",
                    segment="all",
                    value=Decimal(v),
                    source=source,
                    recorded_at=at.replace(tzinfo=UTC) if at.tzinfo is None else at,
                    version=3,
                ).model_dump(mode="json")
                data = measurement_data("nps", "2026-04", "all", Decimal(v), source, at, 3)
                assert data == expected
                assert list(data) == list(expected)
