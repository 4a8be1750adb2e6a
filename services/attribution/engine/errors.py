"""Errors raised by the engine.

Every error carries *problems*, each pointing at the offending place with a JSON path, so
the service can answer 422 with one entry per problem instead of a single opaque string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rules document or an input snapshot."""

    path: JsonPath
    message: str
    code: str = "invalid"

    def __str__(self) -> str:
        where = "/".join(str(part) for part in self.path) or "<root>"
        return f"{where}: {self.message}"


class EngineError(ValueError):
    """Base class: the engine refuses to compute rather than guess."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class RulesError(EngineError):
    """The rules document is malformed or breaks a check (agreeing it must be refused)."""


class InputError(EngineError):
    """The snapshot (or the requested range) is inconsistent; a run must be refused."""
