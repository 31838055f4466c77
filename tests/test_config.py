"""Settings from the environment: defaults, the WORKERS rule, and clear errors for bad values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from handler.config import Config
from handler.exceptions import ConfigError
from handler.sources import AWS_SOURCES

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


def test_limits_and_retries_from_the_environment() -> None:
    config = Config.from_env(
        {
            "CHUNK_LINES": "5000",
            "MAX_DECOMPRESSED_BYTES": "1000000",
            "ATTEMPT_LEASE_SECONDS": "60",
            "AWS_RETRY_MODE": "adaptive",
            "AWS_MAX_ATTEMPTS": "4",
        }
    )
    assert (config.chunk_lines, config.max_decompressed_bytes) == (5000, 1_000_000)
    assert config.lease.total_seconds() == 60
    assert config.botocore_config().retries == {"mode": "adaptive", "max_attempts": 4}
    assert Config.from_env({}).botocore_config().retries == {"mode": "standard", "max_attempts": 10}


@pytest.mark.parametrize(
    ("name", "value"),
    [("AWS_RETRY_MODE", "sometimes"), ("CHUNK_LINES", "0"), ("MAX_DECOMPRESSED_BYTES", "lots")],
)
def test_bad_limits_are_one_clear_error(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})


def test_tooling_settings_come_from_one_place() -> None:
    from loglake.settings import DEFAULT_SUFFIXES, Settings

    assert Settings.from_env({}) == Settings()
    assert Settings().suffixes == DEFAULT_SUFFIXES
    custom = Settings.from_env(
        {
            "RAW_BUCKET": "raw2",
            "LOGLAKE_QUEUE": "q2",
            "LOG_SUFFIXES": ".txt, .log",
            "ATHENA_WORKGROUP": "wg",
        }
    )
    assert (custom.raw_bucket, custom.queue, custom.suffixes, custom.athena_workgroup) == (
        "raw2",
        "q2",
        (".txt", ".log"),
        "wg",
    )


def test_a_bad_sources_file_fails_the_cold_start_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "sources.toml"
    bad.write_text(
        "[[source]]\nname = 'nginx'\nmatch = 'nginx/**'\nformat = 'combined'\nlevel = 3\n"
    )
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"SOURCES_FILE": str(bad)})
    assert str(caught.value) == (
        f"sources file {bad}: source 'nginx': level must be a non-empty text, got 3"
    )
    good = tmp_path / "good.toml"
    good.write_text("[[source]]\nname = 'nginx'\nmatch = 'nginx/**'\nformat = 'combined'\n")
    config = Config.from_env({"SOURCES_FILE": str(good)})
    names = [s.name for s in config.sources]  # the file's, then the built-in AWS ones
    assert names == ["nginx", *(s.name for s in AWS_SOURCES)]
    assert config.sources_file == good
