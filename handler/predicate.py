"""Evaluate an erasure's predicate tree over Arrow rows.

The tree is what ``loglake/predicate.py`` compiles an Athena ``--where`` to (comparisons, ``IN``,
``LIKE``, ``IS NULL``, ``AND``/``OR``/``NOT`` over columns, map values and literals). It is
evaluated with Arrow compute and SQL's three-valued logic: a row matches only when the predicate
is TRUE, never when it is NULL (as in a ``WHERE``), so the Lambda function needs no SQL engine.
``tests/test_erasure.py`` holds it to DuckDB's answers for the same SQL over the same rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

Tree = dict[str, Any]


def matches(tree: Tree, table: pa.Table) -> pa.Array:
    """Which rows of ``table`` the predicate is TRUE for (NULL counts as not matching, as in
    SQL's WHERE)."""
    found = _eval(tree, table)
    if isinstance(found, pa.Scalar):
        found = pa.array([found.as_py()] * table.num_rows, pa.bool_())
    return pc.fill_null(found, False)


def _eval(tree: Tree, table: pa.Table) -> Any:
    if "col" in tree:
        column = table.column(tree["col"]) if tree["col"] in table.column_names else None
        if column is None:
            return pa.nulls(table.num_rows)
        if "key" in tree:
            return pc.map_lookup(column, pa.scalar(tree["key"]), "first")
        return column
    if "lit" in tree:
        return pa.scalar(_literal(tree))
    op, args = tree["op"], tree["args"]
    if op in {"and", "or"}:
        left, right = (_boolean(_eval(a, table), table) for a in args)
        return pc.and_kleene(left, right) if op == "and" else pc.or_kleene(left, right)
    if op == "not":
        return pc.invert(_boolean(_eval(args[0], table), table))
    value = _eval(args[0], table)
    if op == "is_null":
        return pc.is_null(value)
    if op == "like":
        return pc.match_like(value, args[1]["lit"])
    if op == "in":
        values = [_literal(a) for a in args[1:]]
        found = pc.is_in(value, value_set=_typed(values, value.type))
        return pc.if_else(pc.is_null(value), pa.scalar(None, pa.bool_()), found)
    other = _eval(args[1], table)
    if isinstance(other, pa.Scalar) and not isinstance(value, pa.Scalar):
        other = _typed([other.as_py()], value.type)[0]
    elif isinstance(value, pa.Scalar) and not isinstance(other, pa.Scalar):
        value = _typed([value.as_py()], other.type)[0]
    compare = {
        "eq": pc.equal,
        "ne": pc.not_equal,
        "lt": pc.less,
        "le": pc.less_equal,
        "gt": pc.greater,
        "ge": pc.greater_equal,
    }
    return compare[op](value, other)


def _literal(tree: Tree) -> Any:
    if tree.get("type") == "timestamp":
        return datetime.fromisoformat(tree["lit"].replace(" ", "T").removesuffix("Z"))
    if tree.get("type") == "date":
        return date.fromisoformat(tree["lit"])
    return tree["lit"]


def _typed(values: list[Any], kind: pa.DataType) -> pa.Array:
    """Literals as an array of a column's type (a timestamp column compares with a datetime)."""
    if pa.types.is_timestamp(kind) and values and isinstance(values[0], date):
        values = [
            v if isinstance(v, datetime) else datetime(v.year, v.month, v.day) for v in values
        ]
    return pa.array(values).cast(kind)


def _boolean(value: Any, table: pa.Table) -> Any:
    if isinstance(value, pa.Scalar):
        return pa.array([value.as_py()] * table.num_rows, pa.bool_())
    return value


def matches_any(trees: list[Tree], table: pa.Table) -> pa.Array:
    """Rows any of ``trees`` matches."""
    hit = matches(trees[0], table)
    for tree in trees[1:]:
        hit = pc.or_(hit, matches(tree, table))
    return hit
