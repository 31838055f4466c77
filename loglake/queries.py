"""Saved queries: ``queries/<name>/v<N>.sql``, versioned, typed parameters, bound never pasted.

A file starts with a header::

    -- description: Rows per level, for one day or for all days.
    -- param: day date = null
    -- param: n int >= 1 = 10

then Athena (Trino) SQL that uses ``:name`` placeholders. ``NAME`` means the newest version and
``NAME@v1`` a specific one. Parameter types: string, date (YYYY-MM-DD), int, double, boolean,
timestamp. A parameter without a default is required; ``= null`` makes it optional; ``>= 1``
after an int or double is the smallest value allowed, checked before any engine runs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.athena import Athena
from sqlglot.tokens import TokenType

from .exceptions import QueryError
from .resources import query_dirs

TYPES = ("string", "date", "int", "double", "boolean", "timestamp")
_FILE = re.compile(r"^v(\d+)\.sql$")
_PARAM = re.compile(
    r"^--\s*param:\s*(\w+)\s+(\w+)(?:\s*>=\s*(-?\d+(?:\.\d+)?))?(?:\s*=\s*(.*?))?\s*$",
    re.IGNORECASE,
)
_DESCRIPTION = re.compile(r"^--\s*description:\s*(.*?)\s*$", re.IGNORECASE)
_IDENT = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Param:
    """One declared parameter."""

    name: str
    type: str
    default: str | None = None  # the literal text after "=", "null" for optional
    required: bool = True
    minimum: float | None = None  # ">= N" in the header

    def describe(self) -> str:
        """``limit int >= 1 = 10`` as written in the header."""
        bound = "" if self.minimum is None else f" >= {self.minimum:g}"
        return f"{self.name} {self.type}{bound}" + ("" if self.required else f" = {self.default}")


@dataclass(frozen=True)
class SavedQuery:
    """One version of one saved query."""

    name: str
    version: int
    description: str
    params: tuple[Param, ...]
    sql: str  # the body, without the header
    path: Path

    @property
    def ref(self) -> str:
        """``name@vN`` (an ad-hoc query, version 0: its name alone)."""
        return f"{self.name}@v{self.version}" if self.version else self.name

    def bind(self, given: dict[str, str]) -> dict[str, Any]:
        """Typed values for every declared parameter, from ``--param k=v`` strings."""
        declared = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise QueryError(
                f"{self.ref} has no parameter {', '.join(unknown)}; it takes: "
                f"{', '.join(p.describe() for p in self.params) or 'none'}"
            )
        values: dict[str, Any] = {}
        for p in self.params:
            if p.name in given:
                values[p.name] = convert(p, given[p.name])
            elif p.required:
                raise QueryError(f"{self.ref} needs --param {p.name}=<{p.type}>")
            else:
                values[p.name] = None if p.default in (None, "null") else convert(p, p.default)
        return values


def parse_params(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` strings as a dict (values are typed later, by ``SavedQuery.bind``)."""
    given = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise QueryError(f"--param takes NAME=VALUE, got {item!r}")
        given[name.strip()] = value
    return given


def convert(param: Param, text: str) -> Any:
    """Parse one parameter value by its declared type, or explain what was expected."""
    try:
        if param.type == "string":
            return text
        if param.type == "date":
            return date.fromisoformat(text).isoformat()
        if param.type in ("int", "double"):
            number = int(text) if param.type == "int" else float(text)
            if param.minimum is not None and number < param.minimum:
                raise QueryError(
                    f"parameter {param.name} must be at least {param.minimum:g}, got {text!r}"
                )
            return number
        if param.type == "boolean":
            lowered = text.lower()
            if lowered not in {"true", "false"}:
                raise ValueError(text)
            return lowered == "true"
        if param.type == "timestamp":
            return datetime.fromisoformat(text)
    except ValueError:
        pass
    examples = {
        "date": "2025-07-21",
        "int": "10",
        "double": "0.5",
        "boolean": "true",
        "timestamp": "2025-07-21T10:00:00",
    }
    raise QueryError(
        f"parameter {param.name} must be {'an' if param.type == 'int' else 'a'} {param.type} "
        f"like {examples[param.type]}, got {text!r}"
    )


def load_all(roots: Sequence[Path] | Path | None = None) -> dict[str, list[SavedQuery]]:
    """Every saved query, each name's versions in order.

    ``roots`` (default ``query_dirs()``) are layered: a name defined in a later folder (a
    project's ``queries/``) replaces every version of it from an earlier one.
    """
    found: dict[str, list[SavedQuery]] = {}
    for root in [roots] if isinstance(roots, Path) else roots or query_dirs():
        if not root.is_dir():
            raise QueryError(f"no queries folder at {root}")
        found |= _load_folder(root)
    return dict(sorted(found.items()))


def _load_folder(root: Path) -> dict[str, list[SavedQuery]]:
    found: dict[str, list[SavedQuery]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        versions = []
        for file in folder.glob("*.sql"):
            match = _FILE.match(file.name)
            if not match:
                raise QueryError(f"{file}: query files are named v<N>.sql")
            versions.append(parse_file(folder.name, int(match.group(1)), file))
        if versions:
            found[folder.name] = sorted(versions, key=lambda q: q.version)
    return found


def parse_file(name: str, version: int, path: Path) -> SavedQuery:
    """Read one ``v<N>.sql``: its header, then the SQL."""
    description, params, body = "", [], []
    in_header = True
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if in_header and stripped.startswith("--"):
            if m := _DESCRIPTION.match(stripped):
                description = m.group(1)
            elif m := _PARAM.match(stripped):
                pname, ptype, low, default = m[1], m[2].lower(), m[3], m[4]
                if ptype not in TYPES:
                    raise QueryError(
                        f"{path}: parameter {pname} has unknown type {ptype!r}; use one of {', '.join(TYPES)}"
                    )
                if low is not None and ptype not in ("int", "double"):
                    raise QueryError(f"{path}: parameter {pname}: only int and double take >= N")
                minimum = float(low) if low is not None else None
                params.append(Param(pname, ptype, default, default is None, minimum))
            continue
        if in_header and not stripped:
            continue
        in_header = False
        body.append(line)
    sql = "\n".join(body).strip().rstrip(";").strip()
    return SavedQuery(name, version, description, tuple(params), sql, path)


def resolve(ref: str, roots: Sequence[Path] | Path | None = None) -> SavedQuery:
    """``NAME`` (newest) or ``NAME@vN`` -> the saved query."""
    name, _, version = ref.partition("@")
    queries = load_all(roots)
    if name not in queries:
        raise QueryError(
            f"unknown query {name!r}; `loglake queries list` shows: {', '.join(queries)}"
        )
    versions = queries[name]
    if not version:
        return versions[-1]
    if not re.fullmatch(r"v\d+", version):
        raise QueryError(f"bad version {version!r} in {ref!r}; write NAME@v1")
    for q in versions:
        if q.version == int(version[1:]):
            return q
    raise QueryError(
        f"{name} has no {version}; versions: {', '.join(f'v{q.version}' for q in versions)}"
    )


def placeholders(sql: str) -> list[tuple[str, int, int]]:
    """Every ``:name`` placeholder outside strings and comments: (name, start, end) in text order."""
    tokens = Athena().tokenize(sql)
    found = []
    for colon, nxt in itertools.pairwise(tokens):
        if (
            colon.token_type == TokenType.COLON
            and nxt.start == colon.end + 1
            and _IDENT.match(nxt.text)
        ):
            found.append((nxt.text, colon.start, nxt.end + 1))
    return found


def to_qmark(sql: str) -> tuple[str, list[str]]:
    """Athena form: ``?`` per placeholder, and the parameter name for each ``?`` in order."""
    marks = placeholders(sql)
    out, names, last = [], [], 0
    for name, start, end in marks:
        out.append(sql[last:start])
        out.append("?")
        names.append(name)
        last = end
    out.append(sql[last:])
    return "".join(out), names


def check(
    roots: Sequence[Path] | Path | None = None, columns: dict[str, set[str]] | None = None
) -> list[str]:
    """Problems with the saved queries (empty when all is well). ``columns`` (table -> its
    columns, default: the tables' definitions) finds queries that read from ``attributes`` a
    field that became a column of its own, which the handler no longer puts there."""
    problems: list[str] = []
    try:
        queries = load_all(roots)
    except QueryError as exc:
        return [str(exc)]
    columns = table_columns() if columns is None else columns
    for name, versions in queries.items():
        numbers = [q.version for q in versions]
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(
                f"{name}: versions must run v1..v{len(numbers)} without gaps, found {numbers}"
            )
        for q in versions:
            problems.extend(_check_one(q) or _moved_attributes(q, columns))
    return problems


def table_columns() -> dict[str, set[str]]:
    """Every table's Glue name -> its data columns, from the (layered) table definitions."""
    from handler.config import Config

    config = Config.from_env()
    return {config.catalog_name(r): set(t.types) for r, t in config.tables.items()}


def _moved_attributes(q: SavedQuery, columns: dict[str, set[str]]) -> list[str]:
    """``attributes['x']`` (or ``element_at(attributes, :p)`` with ``p`` defaulting to ``x``)
    where a table the query reads has a column ``x``: that field is never in ``attributes``."""
    tree = sqlglot.parse_one(q.sql, read="athena")
    tables = [t.name for t in tree.find_all(exp.Table) if t.name in columns]
    defaults = {p.name: (p.default or "").strip("'\"") for p in q.params}
    problems = []
    for bracket in tree.find_all(exp.Bracket):
        if not (isinstance(bracket.this, exp.Column) and bracket.this.name == "attributes"):
            continue
        key = bracket.expressions[0] if len(bracket.expressions) == 1 else None
        if isinstance(key, exp.Literal) and key.is_string:
            field, how = key.this, f"attributes['{key.this}']"
        elif isinstance(key, exp.Placeholder) and defaults.get(key.name) not in (None, "", "null"):
            field, how = (
                defaults[key.name],
                f"attributes[:{key.name}] (default {defaults[key.name]})",
            )
        else:
            continue
        for table in tables:
            if field in columns[table]:
                problems.append(
                    f"{q.path}: reads {how}, but {table} has a column {field} now, so the field is "
                    f"no longer in attributes: read the column {field} (in a new version)"
                )
    return problems


def _check_one(q: SavedQuery) -> list[str]:
    where = str(q.path)
    problems = []
    if not q.description:
        problems.append(f"{where}: missing '-- description: ...' header")
    try:
        sqlglot.parse_one(to_qmark(q.sql)[0], read="athena")
    except sqlglot.errors.ParseError as exc:
        problems.append(f"{where}: not valid Athena SQL: {exc}")
    used = {name for name, _, _ in placeholders(q.sql)}
    declared = {p.name for p in q.params}
    for name in sorted(used - declared):
        problems.append(
            f"{where}: :{name} is used but not declared (add '-- param: {name} <type>')"
        )
    for name in sorted(declared - used):
        problems.append(f"{where}: parameter {name} is declared but never used")
    return problems
