"""Run errors."""

from __future__ import annotations

from ledgerkit.errors import Conflict, Forbidden, NotFound, ValidationFailed


class RunNotFound(NotFound):
    code, title = "run-not-found", "Run not found"


class NoAgreedVersion(Conflict):
    """Official numbers come only from agreed versions."""

    code, title = "no-agreed-version", "No agreed version"


class VersionNotRunnable(Conflict):
    code, title = "version-not-runnable", "Version cannot be run"


class ScopeRequired(Forbidden):
    code, title = "scope-required", "Scope required"


class RunInputsInvalid(ValidationFailed):
    """The replica's data fails a check before the run (unknown KPI, shares above 1, a
    currency without a rate, a period of the wrong cadence); `errors[].loc` names it."""

    code, title = "run-inputs-invalid", "Run inputs invalid"
