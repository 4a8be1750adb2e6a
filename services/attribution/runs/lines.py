"""`benefit_lines` rows from the engine's line table, and the streamed lines hash.

The lines hash is sha256 over every stored row without the run id: fields joined by tabs,
null as \\N, one row per line (\\n). It is over exactly what is stored, so `verify` compares
like with like, and it streams: no 360k-line document in memory.

The engine shares one :class:`SeriesValues` between every epic with the same baseline,
share and start date, and the lines of a series differ only in the epic; so the text of
each value is made once per shared values object (``format(value, "f")``, what the column
stores) and once per series for the epic part, and a line is two string joins. The row
text is also PostgreSQL's COPY text format (tab-separated, ``\\N`` for null) once the run id
is put in front: :meth:`LineRows.copy_chunks` feeds COPY with it, escaping values only in the
rare run whose keys contain a backslash, tab or line break.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from attribution.engine import LineTable, Series, SeriesValues

NULL = "\\N"
_SPECIAL = ("\\", "\t", "\n", "\r")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _copy_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _special(*values: str) -> bool:
    return any(c in v for v in values for c in _SPECIAL)


@dataclass(slots=True)
class _ValuesText:
    cols: list[tuple[str | None, ...]]  # per period: period .. currency, as stored
    tails: list[str]  # per period: the same joined by tabs (null as \N)
    copy_tails: list[str] | None  # COPY-escaped tails, when escaping is needed


@dataclass(slots=True)
class _SeriesText:
    ident: tuple[str, str, str, str]  # epic id, epic key, KPI, stream
    head: str  # "\t" + ident joined by tabs + "\t"
    copy_head: str | None  # COPY-escaped head, when escaping is needed


class LineRows:
    """Iterates a run's lines in `seq` order as stored rows or COPY text, chunk by chunk,
    feeding ``hasher`` (any object with ``update(bytes)``) with the lines hash text."""

    def __init__(
        self,
        run_id: str,
        table: LineTable,
        streams: Mapping[str, str],
        untagged: str,
        hasher: Any,
    ) -> None:
        self.run_id, self.table, self.hasher = run_id, table, hasher
        self.streams, self.untagged = streams, untagged
        self._values: dict[SeriesValues, _ValuesText] = {}
        # By id(): series and their tuples live as long as the table.
        self._series: dict[int, _SeriesText] = {}
        self._blocks: dict[int, list[tuple[_SeriesText, _ValuesText]]] = {}
        self._escape = False  # some value needs escaping in COPY text

    def _values_text(self, values: SeriesValues) -> _ValuesText:
        found = self._values.get(values)
        if found is None:
            share = _text(values.share)
            cols: list[tuple[str | None, ...]] = []
            for j, period in enumerate(values.periods):
                cols.append(
                    (
                        period,
                        _text(values.uplift[j]),
                        share,
                        _text(values.ramp[j]),
                        _text(values.period_value[j]),
                        _text(values.benefit[j]),
                        _text(values.cumulative[j]),
                        values.currency,
                    )
                )
            tails = ["\t".join(NULL if v is None else v for v in row) for row in cols]
            copy_tails = None
            if _special(*values.periods, values.currency):
                copy_tails = [
                    "\t".join(NULL if v is None else _copy_escape(v) for v in row) for row in cols
                ]
            found = self._values[values] = _ValuesText(cols, tails, copy_tails)
        return found

    def _series_text(self, s: Series) -> _SeriesText:
        found = self._series.get(id(s))
        if found is None:
            ident = (s.epic_id, s.epic_key, s.kpi, self.streams.get(s.kpi, self.untagged))
            copy_head = None
            if _special(*ident):
                copy_head = "\t" + "\t".join(_copy_escape(v) for v in ident) + "\t"
            found = self._series[id(s)] = _SeriesText(
                ident, "\t" + "\t".join(ident) + "\t", copy_head
            )
        return found

    def _prepared(self, series: tuple[Series, ...]) -> list[tuple[_SeriesText, _ValuesText]]:
        found = self._blocks.get(id(series))
        if found is None:
            found = [(self._series_text(s), self._values_text(s.values)) for s in series]
            if any(st.copy_head is not None or vt.copy_tails is not None for st, vt in found):
                self._escape = True
            self._blocks[id(series)] = found
        return found

    def _walk(
        self, size: int
    ) -> Iterator[tuple[int, list[tuple[int, list[tuple[_SeriesText, _ValuesText]]]]]]:
        """Chunks of whole blocks, about ``size`` lines each: (first seq, [(j, texts)])."""
        chunk: list[tuple[int, list[tuple[_SeriesText, _ValuesText]]]] = []
        first = seq = 1
        for j, series in self.table.blocks:
            chunk.append((j, self._prepared(series)))
            seq += len(series)
            if seq - first >= size:
                yield first, chunk
                chunk, first = [], seq
        if chunk:
            yield first, chunk

    def _hash(self, texts: list[str]) -> None:
        if texts:
            self.hasher.update(("\n".join(texts) + "\n").encode())

    @staticmethod
    def _texts(
        first: int, blocks: list[tuple[int, list[tuple[_SeriesText, _ValuesText]]]]
    ) -> list[str]:
        texts: list[str] = []
        seq = first
        for j, prepared in blocks:
            texts += [f"{n}{st.head}{vt.tails[j]}" for n, (st, vt) in enumerate(prepared, seq)]
            seq += len(prepared)
        return texts

    def row_chunks(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in `LINE_COLUMNS` order (run id first), about ``size`` per chunk (whole
        blocks: a chunk's rows are consecutive in `seq`, from row[1] of its first)."""
        run_id = self.run_id
        for first, blocks in self._walk(size):
            rows: list[tuple[Any, ...]] = []
            seq = first
            for j, prepared in blocks:
                rows += [
                    (run_id, n, *st.ident, *vt.cols[j]) for n, (st, vt) in enumerate(prepared, seq)
                ]
                seq += len(prepared)
            self._hash(self._texts(first, blocks))
            yield rows

    def copy_chunks(self, size: int) -> Iterator[bytes]:
        """COPY text format (run id first), about ``size`` lines per chunk."""
        prefix = self.run_id + "\t"
        for first, blocks in self._walk(size):
            texts = self._texts(first, blocks)
            self._hash(texts)
            if self._escape:
                texts = []
                seq = first
                for j, prepared in blocks:
                    for st, vt in prepared:
                        head = st.copy_head or st.head
                        texts.append(f"{seq}{head}{(vt.copy_tails or vt.tails)[j]}")
                        seq += 1
            yield (prefix + ("\n" + prefix).join(texts) + "\n").encode()
