"""Reading and writing whole tables by file extension, for the CLI and examples.

``.csv``, ``.parquet``, ``.jsonl``/``.ndjson`` and ``.arrow``/``.feather``
(Arrow IPC).  Writes go to a temporary file renamed into place, so an
interrupted ``spe generate`` never leaves half a file where a good one was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine.errors import PipelineError, PipelineInputError

__all__ = ["FORMATS", "read_table", "write_table"]

FORMATS = (".csv", ".parquet", ".jsonl", ".ndjson", ".arrow", ".feather")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise PipelineInputError(
            f"cannot tell the format of {str(path)!r} from its extension",
            path=str(path),
            hint=f"use one of {', '.join(FORMATS)}",
        )
    return suffix


def read_table(path: str | Path) -> pa.Table:
    """Read a whole table; raises :class:`PipelineInputError` when missing or malformed."""
    file = Path(path)
    fmt = _format(file)
    if not file.is_file():
        raise PipelineInputError(
            f"table {str(file)!r} does not exist", path=str(file), hint="check the path"
        )
    try:
        if fmt == ".csv":
            import pyarrow.csv as pacsv  # type: ignore[import-untyped]  # no stubs shipped

            return pacsv.read_csv(file)
        if fmt == ".parquet":
            import pyarrow.parquet as pq  # type: ignore[import-untyped]  # no stubs shipped

            return pq.read_table(file)
        if fmt in (".jsonl", ".ndjson"):
            import pyarrow.json as pajson  # type: ignore[import-untyped]  # no stubs shipped

            return pajson.read_json(file)
        with pa.memory_map(str(file), "r") as source:
            return pa.ipc.open_file(source).read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, ValueError) as exc:
        raise PipelineInputError(
            f"cannot read {str(file)!r} as {fmt[1:]}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            path=str(file),
            hint="check that the file is complete and in the format its extension says",
        ) from None


def write_table(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` atomically in the format of ``path``'s extension."""
    file = Path(path)
    fmt = _format(file)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
        os.close(fd)
    except OSError as exc:
        raise PipelineError(
            f"cannot write to {str(file.parent)!r}: {exc.strerror}",
            path=str(file),
            hint="check the directory",
        ) from exc
    tmp = Path(tmp_name)
    try:
        if fmt == ".csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, tmp)
        elif fmt == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        elif fmt in (".jsonl", ".ndjson"):
            import polars as pl

            pl.DataFrame(table).write_ndjson(tmp)
        else:
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)
    return file
