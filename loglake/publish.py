"""``loglake queries publish``: one Athena named query per saved query version, idempotent.

Each is named ``NAME@vN`` and holds the reviewed SQL with ``?`` placeholders; its description
lists the parameters in ``?`` order, so the Athena console prompts for them. Re-publishing leaves
up-to-date versions alone and updates one whose SQL changed.
"""

from __future__ import annotations

from typing import Any

import boto3

from .queries import SavedQuery, to_qmark


def publish(
    queries: list[SavedQuery], workgroup: str, database: str, session: boto3.Session
) -> list[tuple[str, str]]:
    """Create or update each version's named query; return (name, action) pairs."""
    athena = session.client("athena")
    existing = _existing(athena, workgroup)
    done = []
    for query in queries:
        sql, order = to_qmark(query.sql)
        description = f"{query.description} Parameters in order: {', '.join(order) or 'none'}."[
            :1024
        ]
        current = existing.get(query.ref)
        if current is None:
            athena.create_named_query(
                Name=query.ref,
                Database=database,
                QueryString=sql,
                Description=description,
                WorkGroup=workgroup,
            )
            done.append((query.ref, "created"))
        elif current["QueryString"] == sql and current.get("Description") == description:
            done.append((query.ref, "unchanged"))
        else:
            athena.update_named_query(
                NamedQueryId=current["NamedQueryId"],
                Name=query.ref,
                QueryString=sql,
                Description=description,
            )
            done.append((query.ref, "updated"))
    return done


def _existing(athena: Any, workgroup: str) -> dict[str, dict[str, Any]]:
    ids: list[str] = []
    token: str | None = None
    while True:
        page = athena.list_named_queries(
            WorkGroup=workgroup, **({"NextToken": token} if token else {})
        )
        ids += page.get("NamedQueryIds", [])
        token = page.get("NextToken")
        if not token:
            break
    found = {}
    for query_id in ids:
        named = athena.get_named_query(NamedQueryId=query_id)["NamedQuery"]
        found[named["Name"]] = named
    return found
