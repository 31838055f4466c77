"""How every Parquet file of the lake is encoded: by the handler at write time and by compaction.

One place, so a compacted file and a freshly written one are the same kind of file:

* rows sorted by the table's sort key (``event_time`` for processed rows, ``source_uri,
  source_line`` for errors), so each file's and row group's min/max statistics let Athena and
  DuckDB skip what a query's range excludes;
* zstd; dictionary encoding for the repetitive columns (levels, messages, URIs, map keys);
  ``DELTA_BINARY_PACKED`` for integers and the sort key's timestamps (sorted values become small
  deltas); ``DELTA_LENGTH_BYTE_ARRAY`` for map values (lengths and bytes compress apart). On the
  benchmark corpus this stores processed rows at about 11% of the raw bytes, where snappy and
  unsorted rows took 24%;
* INT64 microsecond timestamps, never INT96 (aws-sdk-pandas#3357): exact in Athena and DuckDB.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: Athena column types -> Arrow types (the local engine reads tables with the same mapping).
ARROW_TYPES = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "map<string,string>": pa.map_(pa.string(), pa.string()),
}

#: Athena splits work by row group: 8 Mi rows is about 100 MB at the bench corpus' ~11 bytes a
#: row, near the 128 MB Athena's tuning guide suggests; fresh files are one row group anyway.
ROW_GROUP_ROWS = 8 * 1_048_576
COMPRESSION = "zstd"


def arrow_schema(types: dict[str, str]) -> pa.Schema:
    """The Arrow schema of columns given as ``name -> Athena type``."""
    return pa.schema([pa.field(name, arrow_type(t)) for name, t in types.items()])


def arrow_type(athena: str) -> pa.DataType:
    """The Arrow type of one Athena type, nested ones too (``array<struct<a:string>>``)."""
    text = athena.replace(" ", "").lower()
    if text in ARROW_TYPES:
        return ARROW_TYPES[text]
    if text.startswith("array<") and text.endswith(">"):
        return pa.list_(arrow_type(text[6:-1]))
    if text.startswith("map<") and text.endswith(">"):
        key, value = _top_level(text[4:-1], ",")
        return pa.map_(arrow_type(key), arrow_type(value))
    if text.startswith("struct<") and text.endswith(">"):
        fields = [_top_level(f, ":", 1) for f in _top_level(text[7:-1], ",")]
        return pa.struct([pa.field(name, arrow_type(kind)) for name, kind in fields])
    raise ValueError(f"no Parquet mapping for column type {athena!r}")


def _top_level(text: str, sep: str, limit: int = -1) -> list[str]:
    """``text`` split at ``sep`` outside ``<...>`` (at most ``limit`` times)."""
    parts: list[str] = []
    depth = start = 0
    for i, ch in enumerate(text):
        depth += (ch == "<") - (ch == ">")
        if ch == sep and depth == 0 and (limit < 0 or len(parts) < limit):
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns, matched by name: a column added to the table
    since the file was written comes back NULL, a widened one (``int`` -> ``bigint``) is cast."""
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def encode(table: pa.Table, sort_by: Sequence[str]) -> bytes:
    """``table`` as one Parquet file, sorted by ``sort_by``, encoded as described above (a table
    already in that order, as the handler hands over, is not sorted again)."""
    table = _in_order(table, [(name, "ascending") for name in sort_by])
    encodings = _encodings(table.schema, sort_by)
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        compression=COMPRESSION,
        use_dictionary=[c for c in _leaf_paths(table.schema) if c not in encodings],
        column_encoding=encodings or None,
        write_statistics=True,
        row_group_size=ROW_GROUP_ROWS,
        version="2.6",
        coerce_timestamps="us",
        allow_truncated_timestamps=False,
        use_deprecated_int96_timestamps=False,
    )
    return buffer.getvalue()


def _in_order(table: pa.Table, keys: list[tuple[str, str]]) -> pa.Table:
    """``table`` sorted by ``keys``; the rows are only moved (an expensive take) when they are
    not in that order already, which one numeric key shows without sorting."""
    if table.num_rows < 2:
        return table
    first = table.column(keys[0][0])
    if len(keys) == 1 and first.null_count == 0 and not pa.types.is_string(first.type):
        values = first.to_numpy()
        if np.all(values[1:] >= values[:-1]):
            return table
    order = pc.sort_indices(table.select([k for k, _ in keys]), sort_keys=keys)
    if pc.all(pc.equal(order, pa.array(np.arange(table.num_rows)))).as_py():
        return table
    return table.take(order)


def _encodings(schema: pa.Schema, sort_by: Sequence[str]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for field in schema:
        wide_int = pa.types.is_integer(field.type) and field.type.bit_width >= 32
        if wide_int or (pa.types.is_timestamp(field.type) and field.name in sort_by):
            chosen[field.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_map(field.type) and pa.types.is_string(field.type.item_type):
            chosen[f"{field.name}.key_value.value"] = "DELTA_LENGTH_BYTE_ARRAY"
    return chosen


def _leaf_paths(schema: pa.Schema) -> list[str]:
    paths = []
    for field in schema:
        if pa.types.is_map(field.type):
            paths += [f"{field.name}.key_value.key", f"{field.name}.key_value.value"]
        else:
            paths.append(field.name)
    return paths
