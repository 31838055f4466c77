"""Where loglake's data folders are: one place for every path, installed or in a checkout.

A wheel ships ``queries/``, ``infra/`` and ``layer/`` inside the ``loglake`` package (as
``saved_queries``, ``infra`` and ``layer_spec``, see ``setup.py``) and ``glue_ddl/`` inside
``handler``; in a checkout (or an editable install) they are the repository's top-level folders.
"""

from __future__ import annotations

import os
from pathlib import Path

import handler
from handler.ddl import DEFAULT_DDL_DIR

PACKAGE = Path(__file__).resolve().parent
HANDLER_DIR = Path(handler.__file__).resolve().parent


def data_dir(installed: str, checkout: str, env: str | None = None) -> Path:
    """``env`` if set, else the copy installed in the package, else the checkout's folder."""
    override = os.environ.get(env) if env else None
    if override:
        return Path(override)
    inside = PACKAGE / installed
    return inside if inside.is_dir() else PACKAGE.parent / checkout


#: The built-in saved queries (``query_dirs`` adds a project's, or ``LOGLAKE_QUERIES_DIR``'s).
QUERIES_DIR = data_dir("saved_queries", "queries")
INFRA_DIR = data_dir("infra", "infra")
LAYER_DIR = data_dir("layer_spec", "layer")
DDL_DIR = DEFAULT_DDL_DIR


def query_dirs() -> tuple[Path, ...]:
    """The folders of saved queries, layered (a query in a later one replaces an earlier one's):
    ``LOGLAKE_QUERIES_DIR`` (``:``-separated, set by a project) or the built-in ones."""
    from handler.config import path_list

    return path_list(os.environ, "LOGLAKE_QUERIES_DIR") or (QUERIES_DIR,)


SAMPLE_LOG = PACKAGE / "samples" / "sample_log.log"
#: The user's cache for loglake (never inside the installed package).
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "loglake"
#: Downloaded wheels for layer builds.
WHEEL_CACHE = CACHE / "wheels"
