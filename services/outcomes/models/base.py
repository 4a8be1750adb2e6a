"""Declarative base and column types shared by the outcomes tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import JSON, DateTime, Numeric, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

from ledgerkit.db import new_metadata
from ledgerkit.timeutil import utcnow


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        Decimal: Numeric(28, 10),
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[Any]: JSON,
    }


IntPk = Annotated[int, mapped_column(primary_key=True, autoincrement=True)]
PublicId = Annotated[str, mapped_column(String(32), unique=True, default=new_id)]
Created = Annotated[datetime, mapped_column(default=utcnow)]
Updated = Annotated[datetime, mapped_column(default=utcnow, onupdate=utcnow)]
MoneyAmount = Annotated[Decimal, mapped_column(Numeric(20, 2))]
