"""Settings from the environment: defaults, the WORKERS rule, and clear errors for bad values."""

from __future__ import annotations

import os

import pytest

from handler.config import Config
from handler.exceptions import ConfigError

CPUS = len(os.sched_getaffinity(0))


def test_workers_default_to_the_cpus_this_process_may_use() -> None:
    assert Config.from_env({}).workers == CPUS
    assert Config.from_env({"WORKERS": "auto"}).workers == CPUS
    assert Config.from_env({"WORKERS": "3"}).workers == 3


@pytest.mark.parametrize(("memory", "expected"), [("512", 1), ("1769", 1), ("3538", 2)])
def test_on_lambda_auto_workers_follow_the_vcpus_memory_buys(memory: str, expected: int) -> None:
    config = Config.from_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory})
    assert config.workers == min(CPUS, expected)


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_workers_value_says_what_is_allowed(bad: str) -> None:
    with pytest.raises(ConfigError, match="WORKERS must be a whole number of processes or 'auto'"):
        Config.from_env({"WORKERS": bad})
