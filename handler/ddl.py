"""Read the table definitions in ``glue_ddl/``: the single source of every table's columns.

The handler needs the declared columns and types at run time (to fill and type-check extra columns
and to write Parquet that matches the table exactly), and ``loglake catalog apply`` and the
CloudFormation generator need the whole definition. Athena's DDL is small and regular, so a tiny
parser here keeps the Lambda free of an SQL parser dependency.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .exceptions import DdlError


def _default_ddl_dir() -> Path:
    """The table definitions: installed inside this package by a wheel (``handler/glue_ddl``),
    or the top-level ``glue_ddl/`` next to ``handler/`` in the function zip and in a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "glue_ddl"
    return installed if installed.is_dir() else here.parent / "glue_ddl"


DEFAULT_DDL_DIR = _default_ddl_dir()

_CREATE = re.compile(
    r"CREATE\s+EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:`?\w+`?\.)?`?(\w+)`?\s*\(",
    re.IGNORECASE,
)
_PARTITIONED = re.compile(r"PARTITIONED\s+BY\s*\(", re.IGNORECASE)
_LOCATION = re.compile(r"LOCATION\s+'([^']*)'", re.IGNORECASE)
_TBLPROPERTIES = re.compile(r"TBLPROPERTIES\s*\(", re.IGNORECASE)
_COLUMN = re.compile(r"^`?(\w+)`?\s+(.+?)(?:\s+COMMENT\s+'((?:[^']|'')*)')?$", re.IGNORECASE | re.S)
_PROPERTY = re.compile(r"'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'")
_SERDE = re.compile(r"ROW\s+FORMAT\s+SERDE\s+'([^']*)'", re.IGNORECASE)
_INPUT = re.compile(r"INPUTFORMAT\s+'([^']*)'", re.IGNORECASE)
_OUTPUT = re.compile(r"OUTPUTFORMAT\s+'([^']*)'", re.IGNORECASE)
SYMLINK_INPUT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
#: The table property naming where the data files are (the LOCATION holds the manifests).
FILES_PROPERTY = "loglake.files"
#: A table's retention in days by ``dt`` (absent: partitions are kept forever).
RETENTION_PROPERTY = "loglake.retention_days"
_SIMPLE_TYPES = {
    "string", "bigint", "int", "integer", "smallint", "tinyint", "double", "float",
    "boolean", "timestamp", "date", "binary",
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One declared column: its name, its Athena type (lower case, no spaces) and its comment."""

    name: str
    type: str
    comment: str = ""


@dataclass(frozen=True)
class TableDef:
    """One ``CREATE EXTERNAL TABLE`` statement, as loglake uses it.

    Every table is a symlink table: readers list ``listing`` (the statement's LOCATION), where
    each partition holds one manifest naming the files of committed rows, so a commit, a sweep or
    a compaction changes what they see with one PUT. The data files themselves are written under
    ``location`` (the ``loglake.files`` property), which no reader lists.
    """

    name: str
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...]
    location: str
    properties: dict[str, str] = field(default_factory=dict)
    listing: str = ""
    serde: str = PARQUET_SERDE
    input_format: str = SYMLINK_INPUT
    output_format: str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    @property
    def retention_days(self) -> int | None:
        """Days a partition is kept (``'loglake.retention_days'``), by ``dt``; ``None``: forever."""
        value = self.properties.get(RETENTION_PROPERTY)
        return None if value is None else int(value)

    @property
    def types(self) -> dict[str, str]:
        """Column name -> Athena type, for the data columns (not the partition keys)."""
        return {c.name: c.type for c in self.columns}

    def render(self, bucket: str) -> TableDef:
        """The definition with ``${PROCESSED_BUCKET}`` replaced (``${dt}`` is Athena's, kept)."""
        return replace(
            self,
            location=self.location.replace("${PROCESSED_BUCKET}", bucket),
            listing=self.listing.replace("${PROCESSED_BUCKET}", bucket),
            properties={
                k: v.replace("${PROCESSED_BUCKET}", bucket) for k, v in self.properties.items()
            },
        )

    def storage(self, location: str) -> dict[str, Any]:
        """The Glue ``StorageDescriptor`` of the table (or of a partition at ``location``)."""
        return {
            "Columns": [glue_column(c) for c in self.columns],
            "Location": location,
            "Compressed": False,
            "InputFormat": self.input_format,
            "OutputFormat": self.output_format,
            "SerdeInfo": {
                "SerializationLibrary": self.serde,
                "Parameters": {"serialization.format": "1"},
            },
        }


def glue_column(column: Column) -> dict[str, str]:
    out = {"Name": column.name, "Type": column.type}
    if column.comment:
        out["Comment"] = column.comment
    return out


def load_tables(ddl_dirs: Sequence[Path] | Path | None = None) -> dict[str, TableDef]:
    """Parse every ``*.sql`` file of ``ddl_dirs``; the key is the file's stem (its role).

    Folders are layered in order: a file in a later folder replaces the one of the same name in
    an earlier one (a project's ``glue_ddl/`` over the built-in tables).
    """
    files = table_files(ddl_dirs)
    return {
        stem: parse_ddl(f.read_text(encoding="utf-8"), origin=str(f)) for stem, f in files.items()
    }


def table_files(ddl_dirs: Sequence[Path] | Path | None = None) -> dict[str, Path]:
    """The file that defines each table, later folders winning, in name order."""
    dirs = [ddl_dirs] if isinstance(ddl_dirs, Path) else list(ddl_dirs or [DEFAULT_DDL_DIR])
    found: dict[str, Path] = {}
    for folder in dirs:
        found |= {f.stem: f for f in folder.glob("*.sql")}
    if not found:
        where = ", ".join(str(d) for d in dirs)
        raise DdlError(f"no table definitions (*.sql) in {where}; set GLUE_DDL_DIR to the folder")
    return dict(sorted(found.items()))


def parse_ddl(text: str, origin: str = "<ddl>") -> TableDef:
    """Parse one Athena ``CREATE EXTERNAL TABLE`` statement."""
    sql = _strip_comments(text)
    create = _CREATE.search(sql)
    if not create:
        raise DdlError(f"{origin}: expected 'CREATE EXTERNAL TABLE name (' ...")
    body, end = _parenthesised(sql, create.end() - 1, origin)
    columns = tuple(_column(c, origin) for c in _split_top_level(body))
    partition_keys: tuple[Column, ...] = ()
    rest = sql[end:]
    part = _PARTITIONED.search(rest)
    if part:
        pbody, _ = _parenthesised(rest, part.end() - 1, origin)
        partition_keys = tuple(_column(c, origin) for c in _split_top_level(pbody))
    location = _LOCATION.search(rest)
    if not location:
        raise DdlError(f"{origin}: missing LOCATION 's3://...'")
    properties: dict[str, str] = {}
    props = _TBLPROPERTIES.search(rest)
    if props:
        pbody, _ = _parenthesised(rest, props.end() - 1, origin)
        properties = {
            k.replace("''", "'"): v.replace("''", "'") for k, v in _PROPERTY.findall(pbody)
        }
    names = [c.name for c in columns + partition_keys]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DdlError(f"{origin}: column declared twice: {', '.join(duplicates)}")
    formats = [_SERDE.search(rest), _INPUT.search(rest), _OUTPUT.search(rest)]
    if not all(formats) or formats[1].group(1) != SYMLINK_INPUT or FILES_PROPERTY not in properties:  # type: ignore[union-attr]
        raise DdlError(
            f"{origin}: loglake's tables are symlink tables, so readers only ever see committed "
            f"rows: declare ROW FORMAT SERDE '{PARQUET_SERDE}' STORED AS INPUTFORMAT "
            f"'{SYMLINK_INPUT}' OUTPUTFORMAT '...', LOCATION for the manifests and TBLPROPERTIES "
            f"'{FILES_PROPERTY}' for the data files (as glue_ddl/processed_logs.sql does)"
        )
    days = properties.get(RETENTION_PROPERTY)
    if days is not None and not (days.isdigit() and int(days) > 0):
        raise DdlError(
            f"{origin}: '{RETENTION_PROPERTY}' must be a whole number of days above 0, got "
            f"{days!r}; leave it out to keep every partition"
        )
    serde, input_format, output_format = (m.group(1) for m in formats)  # type: ignore[union-attr]
    return TableDef(
        create.group(1).lower(),
        columns,
        partition_keys,
        properties[FILES_PROPERTY],
        properties,
        listing=location.group(1),
        serde=serde,
        input_format=input_format,
        output_format=output_format,
    )


def _strip_comments(text: str) -> str:
    """Drop ``-- ...`` comments, keeping ``--`` inside quoted strings."""
    out, quoted, i = [], False, 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and text.startswith("--", i):
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _parenthesised(sql: str, open_at: int, origin: str) -> tuple[str, int]:
    depth, quoted = 0, False
    for i in range(open_at, len(sql)):
        ch = sql[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return sql[open_at + 1 : i], i + 1
    raise DdlError(f"{origin}: unbalanced parentheses")


def _split_top_level(body: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(body):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "(<":
            depth += 1
        elif not quoted and ch in ")>":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return [p.strip() for p in parts if p.strip()]


def _column(text: str, origin: str) -> Column:
    match = _COLUMN.match(text.strip())
    if not match:
        raise DdlError(f"{origin}: cannot read column definition {text!r}")
    name, type_, comment = (
        match.group(1),
        re.sub(r"\s+", "", match.group(2)).lower(),
        match.group(3),
    )
    base = type_.split("(", 1)[0].split("<", 1)[0]
    if base not in _SIMPLE_TYPES | {"array", "map", "struct", "decimal", "varchar", "char"}:
        raise DdlError(f"{origin}: column {name!r} has unknown type {type_!r}")
    return Column(name.lower(), type_, (comment or "").replace("''", "'"))
