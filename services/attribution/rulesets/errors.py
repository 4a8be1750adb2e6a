"""Rule set errors."""

from __future__ import annotations

from ledgerkit.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed


class RuleSetNotFound(NotFound):
    code, title = "ruleset-not-found", "Rule set not found"


class VersionNotFound(NotFound):
    code, title = "ruleset-version-not-found", "Rule set version not found"


class DuplicateRuleSetName(Conflict):
    code, title = "duplicate-ruleset-name", "Rule set name taken"


class VersionImmutable(Conflict):
    """Agreed (and superseded, rejected) versions never change: a change is a new version."""

    code, title = "version-immutable", "Version is immutable"


class InvalidTransition(Conflict):
    code, title = "invalid-transition", "Invalid status transition"


class InvalidRules(ValidationFailed):
    """The rules document breaks its schema or a check; `errors[].loc` is its JSON path."""

    code, title = "invalid-rules", "Invalid rules"


class AgreementRefused(ValidationFailed):
    """Agreeing would break a check against current outcomes data (unknown KPI, claimed
    shares above 1, money in a currency without an agreed rate)."""

    code, title = "agreement-refused", "Agreement refused"


class ContentChanged(PreconditionFailed):
    code, title = "content-changed", "Content changed"
