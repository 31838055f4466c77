"""Package layout: every package under handler/ and loglake/, plus the repository's data folders
(glue_ddl/, queries/, infra/, layer/) shipped inside them, so an installed copy has everything a
checkout has. The folders stay where they are; only their installed names are mapped here."""

from setuptools import find_packages, setup

DATA = {
    "handler.glue_ddl": "glue_ddl",
    "loglake.saved_queries": "queries",
    "loglake.infra": "infra",
    "loglake.layer_spec": "layer",
}

setup(
    packages=find_packages(include=["handler", "handler.*", "loglake", "loglake.*"]) + list(DATA),
    package_dir=DATA,
    package_data={
        "handler.glue_ddl": ["*.sql"],
        "loglake.saved_queries": ["*/*.sql"],
        "loglake.infra": ["*.yaml", "*.json"],
        "loglake.layer_spec": ["*.txt", "*.md"],
        "loglake": ["samples/*.log"],
    },
)
