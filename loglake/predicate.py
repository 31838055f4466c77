"""An erasure's ``--where``: an Athena boolean expression, checked and compiled for the handler.

The predicate is parsed with sqlglot (Athena's dialect) and must be a plain condition over the
table's columns: comparisons (``= <> < <= > >=``), ``IN (...)``, ``LIKE``, ``IS [NOT] NULL``,
``AND``/``OR``/``NOT`` and parentheses, over columns, a map column's value (``attributes['k']``)
and literals (strings, numbers, ``TRUE``/``FALSE``, ``TIMESTAMP '...'``, ``DATE '...'``).
Anything else (functions, subqueries, other tables) is refused in one line. It is compiled to a
small JSON tree that the erasure record keeps and the handler evaluates with Arrow
(``handler/erasure.py``): the Lambda function needs no SQL engine to apply it to replays.

Examples (``processed_logs``)::

    attributes['user_id'] = 'u-123'
    level IN ('DEBUG', 'TRACE') AND message LIKE '%password=%'
    event_time < TIMESTAMP '2025-07-21 10:00:00' AND attributes['tenant'] = 'acme'
"""

from __future__ import annotations

from typing import Any, cast

import sqlglot
from sqlglot import exp

from .exceptions import LifecycleUsageError

_COMPARE: dict[type[exp.Expression], str] = {
    exp.EQ: "eq",
    exp.NEQ: "ne",
    exp.LT: "lt",
    exp.LTE: "le",
    exp.GT: "gt",
    exp.GTE: "ge",
}


def compile_predicate(where: str, columns: dict[str, str]) -> dict[str, Any]:
    """The JSON tree of ``where`` over ``columns`` (name -> Athena type), or a
    ``LifecycleUsageError`` saying what is not allowed."""
    try:
        tree = sqlglot.parse_one(where, read="athena")
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        raise LifecycleUsageError(f"--where is not valid SQL: {first}") from None
    return _Compiler(columns).condition(cast(exp.Expression, tree))


class _Compiler:
    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns

    def refuse(self, node: exp.Expression, why: str = "") -> LifecycleUsageError:
        names = ", ".join(self.columns)
        return LifecycleUsageError(
            f"--where must be a plain condition over the table's columns ({names}): "
            f"{why or 'not allowed'}: {node.sql(dialect='athena')}"
        )

    def condition(self, node: exp.Expression) -> dict[str, Any]:
        if isinstance(node, exp.Paren):
            return self.condition(node.this)
        if isinstance(node, exp.And | exp.Or):
            op = "and" if isinstance(node, exp.And) else "or"
            return {"op": op, "args": [self.condition(node.this), self.condition(node.expression)]}
        if isinstance(node, exp.Not):
            return {"op": "not", "args": [self.condition(node.this)]}
        if type(node) in _COMPARE:
            return {
                "op": _COMPARE[type(node)],
                "args": [self.operand(node.this), self.operand(node.expression)],
            }
        if isinstance(node, exp.In):
            if node.args.get("query") or not node.expressions:
                raise self.refuse(node, "IN takes a list of literals")
            values = [self.literal(v) for v in node.expressions]
            return {"op": "in", "args": [self.value(node.this), *values]}
        if isinstance(node, exp.Like):
            pattern = self.literal(node.expression)
            return {"op": "like", "args": [self.value(node.this), pattern]}
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            return {"op": "is_null", "args": [self.value(node.this)]}
        if isinstance(node, exp.Boolean):
            return {"lit": bool(node.this)}
        raise self.refuse(node, "not a condition")

    def operand(self, node: exp.Expression) -> dict[str, Any]:
        if isinstance(node, exp.Paren):
            return self.operand(node.this)
        if isinstance(node, exp.Func) and not isinstance(node, exp.Cast):
            raise self.refuse(node, "functions are not allowed")
        if isinstance(node, exp.Column | exp.Bracket):
            return self.value(node)
        return self.literal(node)

    def value(self, node: exp.Expression) -> dict[str, Any]:
        """A column, or one key of a map column."""
        if isinstance(node, exp.Bracket):
            column = self.value(node.this)
            kind = self.columns[column["col"]]
            if not kind.startswith("map<") or len(node.expressions) != 1:
                raise self.refuse(node, f"{column['col']} is not a map column")
            key = self.literal(node.expressions[0])
            if not isinstance(key.get("lit"), str):
                raise self.refuse(node, "a map key must be a string literal")
            return {"col": column["col"], "key": key["lit"]}
        if isinstance(node, exp.Column) and not node.table:
            if node.name not in self.columns:
                raise self.refuse(node, f"no column {node.name!r}")
            return {"col": node.name}
        raise self.refuse(node, "not a column")

    def literal(self, node: exp.Expression) -> dict[str, Any]:
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            inner = self.literal(node.this)
            return {"lit": -inner["lit"]}
        if isinstance(node, exp.Literal):
            if node.is_string:
                return {"lit": node.this}
            number = float(node.this)
            return {"lit": int(number) if number.is_integer() and "." not in node.this else number}
        if isinstance(node, exp.Boolean):
            return {"lit": bool(node.this)}
        if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
            kind = node.to.this
            if kind in {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME}:
                return {"lit": node.this.this, "type": "timestamp"}
            if kind == exp.DataType.Type.DATE:
                return {"lit": node.this.this, "type": "date"}
        raise self.refuse(node, "not a literal")
