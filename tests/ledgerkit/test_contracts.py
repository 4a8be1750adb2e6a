"""The committed contracts in openapi/ are exactly what the code generates."""

from __future__ import annotations

from ledger_cli.contracts import expected_files


def test_committed_contracts_match_the_code() -> None:
    stale = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path.name)
    assert not stale, f"regenerate with `ledger contracts write`: {stale}"
