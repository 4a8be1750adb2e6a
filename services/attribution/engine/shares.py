"""How one KPI's value is split between the epics that contribute to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .inputs import ContributionInput, EpicInput
from .results import RunWarning
from .rules import Split

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class Shares:
    by_epic: Mapping[str, Decimal]  # epic id -> share in [0, 1]
    unattributed: Decimal  # 1 - sum of shares, reported as unattributed
    warnings: tuple[RunWarning, ...] = ()


def split_shares(
    split: Split,
    kpi: str,
    contributions: Sequence[ContributionInput],
    epics: Mapping[str, EpicInput],
) -> Shares:
    if split == "equal":
        share = ONE / len(contributions)
        # Equal shares always allocate the whole value; 1/3 * 3 = 0.99…9 is not "unattributed".
        return Shares({c.epic_id: share for c in contributions}, ZERO)

    if split == "claimed":
        warnings = tuple(
            RunWarning(
                "claimed_share_missing",
                "split is 'claimed' but the contribution has no claimed_share: share 0",
                kpi,
                epics[c.epic_id].key,
            )
            for c in contributions
            if c.claimed_share is None
        )
        shares = {c.epic_id: c.claimed_share or ZERO for c in contributions}
        return Shares(shares, ONE - sum(shares.values(), ZERO), warnings)

    # weighted: by the size of the expected uplift (its sign only says which way is up).
    missing = tuple(
        RunWarning(
            "expected_uplift_missing",
            "split is 'weighted' but the contribution has no expected_uplift: share 0",
            kpi,
            epics[c.epic_id].key,
        )
        for c in contributions
        if c.expected_uplift is None
    )
    weights = {c.epic_id: abs(c.expected_uplift or ZERO) for c in contributions}
    total = sum(weights.values(), ZERO)
    if total == 0:
        nothing = RunWarning(
            "no_expected_uplift",
            "split is 'weighted' but no contribution has an expected_uplift: all unattributed",
            kpi,
        )
        return Shares(dict.fromkeys(weights, ZERO), ONE, (*missing, nothing))
    return Shares({epic: w / total for epic, w in weights.items()}, ZERO, missing)
