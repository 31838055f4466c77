"""The layer: pruning rules on a small fake tree, stripping, limits, reproducible zips, and one
real build of the host-Python layer that must pass `layer verify` twice with the same sha256."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from loglake.layer import (
    LAMBDA_UNZIPPED_LIMIT,
    LayerError,
    build,
    check_limits,
    elf_machine,
    package,
    prune,
    strip,
    verify,
    write_zip,
)


def touch(root: Path, rel: str, data: bytes = b"x" * 100) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_prune_rules_on_a_fake_tree(tmp_path: Path) -> None:
    keep = [
        "pandas/__init__.py",
        "pandas/_testing/__init__.py",
        "pyarrow/libarrow_substrait.so.2500",
        "pyarrow/lib.cpython-312-aarch64-linux-gnu.so",
        "aws_lambda_powertools/tracing/tracer.py",
        "aws_lambda_powertools/utilities/batch/base.py",
        "numpy.libs/libscipy_openblas64_.so",
        "six.py",
        "awswrangler-3.17.1.dist-info/METADATA",
    ]
    drop = [
        "boto3/__init__.py",
        "botocore/data/s3.json",
        "botocore-1.34.145.dist-info/METADATA",
        "s3transfer/manager.py",
        "urllib3/__init__.py",
        "jmespath/parser.py",
        "pandas/tests/test_x.py",
        "numpy/_core/tests/test_y.py",
        "pyarrow/include/arrow/api.h",
        "pyarrow/_flight.cpython-312-aarch64-linux-gnu.so",
        "pyarrow/libarrow_flight.so.2500",
        "pyarrow/_cuda.cpython-312-aarch64-linux-gnu.so",
        "pyarrow/lib.pyx",
        "pandas/_libs/lib.pyi",
        "numpy/_core/_simd.cpython-312-aarch64-linux-gnu.so",
        "numpy/f2py/__init__.py",
        "aws_lambda_powertools/event_handler/api_gateway.py",
        "aws_lambda_powertools/utilities/idempotency/base.py",
        "pandas/__pycache__/x.cpython-311.pyc",
        "numpy/_core/lib/libnpymath.a",
        "bin/f2py",
    ]
    for rel in keep + drop:
        touch(tmp_path, rel)
    removed = prune(tmp_path)
    assert [rel for rel in keep if not (tmp_path / rel).exists()] == []
    assert [rel for rel in drop if (tmp_path / rel).exists()] == []
    assert removed["runtime-provided (boto3, botocore, s3transfer, urllib3, jmespath)"] == 600
    assert removed["tests"] == 200


def test_identical_library_copies_become_one_file_and_symlinks(tmp_path: Path) -> None:
    data = os.urandom(5000)
    for name in ("libarrow_python.so", "libarrow_python.so.2500", "libarrow_python.so.2500.1.0"):
        touch(tmp_path, f"pyarrow/{name}", data)
    touch(tmp_path, "pyarrow/libother.so.2500", os.urandom(5000))
    removed = prune(tmp_path)
    assert removed["duplicate library copies"] == 10000
    lib = tmp_path / "pyarrow"
    assert not (lib / "libarrow_python.so.2500").is_symlink()
    assert os.readlink(lib / "libarrow_python.so") == "libarrow_python.so.2500"
    assert (lib / "libarrow_python.so.2500.1.0").read_bytes() == data


@pytest.fixture
def elf(tmp_path: Path) -> Path:
    source = tmp_path / "x.c"
    source.write_text(
        "int answer(void) { return 42; }\nstatic int unused(int a) { return a * 2; }\n"
    )
    out = tmp_path / "libx.so"
    subprocess.run(["gcc", "-g", "-shared", "-fPIC", "-o", str(out), str(source)], check=True)
    return out


def test_strip_spares_vendored_libs_folders(tmp_path: Path, elf: Path) -> None:
    tree = tmp_path / "python"
    ours = touch(tree, "pkg/libx.so", elf.read_bytes())
    vendored = touch(tree, "pkg.libs/libx.so", elf.read_bytes())
    tool, warnings = strip(tree, "x86_64", print)
    assert tool is not None and warnings == []
    assert vendored.read_bytes() == elf.read_bytes()
    assert len(ours.read_bytes()) < len(elf.read_bytes())
    assert elf_machine(ours) == 0x3E


def test_limits() -> None:
    assert check_limits(100, 10, 10) == []
    assert "over 50 MB" in check_limits(100, 60 * 2**20, 10)[0]
    with pytest.raises(LayerError, match="over Lambda's 262,144,000"):
        check_limits(LAMBDA_UNZIPPED_LIMIT - 5, 10, 10)


def test_zip_is_byte_reproducible_whatever_the_file_times(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    touch(tree, "python/b.py", b"b")
    touch(tree, "python/a/c.so", b"c")
    write_zip(tree, tmp_path / "one.zip")
    os.utime(tree / "python" / "b.py", (1_000_000, 1_000_000))
    write_zip(tree, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.namelist() == ["python/a/c.so", "python/b.py"]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_function_zip_holds_handler_and_ddl_only(tmp_path: Path) -> None:
    report = package(tmp_path)
    with zipfile.ZipFile(report.path) as archive:
        names = archive.namelist()
    assert names and all(
        (n.startswith("handler/") and n.endswith(".py")) or n.startswith("glue_ddl/") for n in names
    )
    assert "handler/app.py" in names and "glue_ddl/processed_logs.sql" in names
    assert package(tmp_path / "again").sha256 == report.sha256


@pytest.mark.slow
def test_host_layer_builds_verifies_and_is_reproducible(tmp_path: Path) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("the host build test is written for x86_64")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    first = build("x86_64", python, tmp_path / "one", log=print)
    assert first.compiled_for is not None and first.stripped_with is not None
    assert verify(first.path, "x86_64", log=print) == []
    second = build("x86_64", python, tmp_path / "two", log=print)
    assert second.sha256 == first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.unzipped < 200 * 2**20


def test_build_without_the_targets_strip_tool_fails_first_and_says_what_to_install(
    tmp_path: Path,
) -> None:
    """Unstripped, the arm64 layer is over Lambda's targets: no silent warning, no download."""
    env = dict(os.environ, PATH=str(tmp_path))  # no strip tool anywhere on this PATH
    result = subprocess.run(
        [sys.executable, "-m", "loglake.cli", "layer", "build", "--arch", "arm64", "--out",
         str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "Error: no strip tool for arm64 (aarch64-linux-gnu-strip): install it, e.g. "
        "`sudo apt-get install binutils-aarch64-linux-gnu` on Debian/Ubuntu, then build again; "
        "or deploy with `--layer managed`\n"
    )
    assert not (tmp_path / "out").exists()
