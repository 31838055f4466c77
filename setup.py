"""Package layout: every package under handler/ and loglake/, plus the repository's data folders
(glue_ddl/, queries/, infra/, layer/) shipped inside them, so an installed copy has everything a
checkout has. The folders stay where they are; only their installed names are mapped here. Each
data folder (one per saved query, the samples) is listed as a package of its own, as setuptools
asks of folders that hold package data."""

from pathlib import Path

from setuptools import find_packages, setup

DATA = {
    "handler.glue_ddl": "glue_ddl",
    "loglake.saved_queries": "queries",
    "loglake.infra": "infra",
    "loglake.layer_spec": "layer",
}
QUERIES = sorted(f"loglake.saved_queries.{d.name}" for d in Path("queries").iterdir() if d.is_dir())

setup(
    packages=find_packages(include=["handler", "handler.*", "loglake", "loglake.*"])
    + list(DATA)
    + ["loglake.samples", *QUERIES],
    package_dir=DATA,
    package_data={
        "handler.glue_ddl": ["*.sql"],
        "loglake.infra": ["*.yaml", "*.json"],
        "loglake.layer_spec": ["*.txt", "*.md"],
        "loglake.samples": ["*.log"],
        **{name: ["*.sql"] for name in QUERIES},
    },
)
