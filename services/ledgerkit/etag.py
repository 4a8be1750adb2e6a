"""ETags and `If-Match`: optimistic concurrency on versioned resources.

A resource's ETag is its integer version in quotes (`"3"`). `If-Match` accepts `*`, one tag
or a list (`"2", "3"`); weak tags (`W/"3"`) compare by their value. A tag that is not one we
issued never matches, so it gets 412 like any stale tag.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from ledgerkit.errors import PreconditionFailed

IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=500,
        description='Only apply when the resource\'s ETag matches (`"3"`); otherwise 412.',
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> set[int] | None:
    """The versions `If-Match` accepts; None when any version will do (absent or `*`)."""
    if value is None or value.strip() == "*":
        return None
    versions: set[int] = set()
    for raw in value.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag.isdigit() and len(tag) < 18:
            versions.add(int(tag))
    return versions


def expected_version(value: str | None, current: int) -> int | None:
    """Reduce `If-Match` to the one version a write may apply to (None: unconditional).

    A tag list that holds the current version expects it; anything else expects a version
    that can never match (-1), so the write answers 412.
    """
    accepted = parse_if_match(value)
    if accepted is None:
        return None
    return current if current in accepted else -1


def check_version(expected: int | None, current: int, what: str) -> None:
    """Raise 412 (with the current ETag) when `expected` is set and differs from `current`."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"The {what} is at version {current}, not {expected}: read it again and retry.",
            headers={"ETag": etag(current)},
            current_version=current,
        )
