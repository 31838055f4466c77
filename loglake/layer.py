"""Build, measure and verify a slim, reproducible Lambda layer (and the function zip).

Facts this module is built around (measured on this kind of machine): pip with only
``manylinux2014`` silently picks old numpy/pandas/pyarrow, so ``manylinux_2_28`` comes first;
pip writes ``.pyc`` for its own interpreter unless told ``--no-compile``; stripping the vendored
libraries under ``*.libs/`` corrupts them; GNU strip cannot strip aarch64 (llvm-strip can); and
without ``.pyc`` for the target Python, Lambda recompiles every module on each cold start because
``/opt`` is read-only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from handler.ddl import table_files

from .exceptions import LayerError
from .resources import HANDLER_DIR, LAYER_DIR, SAMPLE_LOG, WHEEL_CACHE

CACHE = WHEEL_CACHE
LAMBDA_UNZIPPED_LIMIT = 262_144_000
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
ELF_MACHINES = {"x86_64": 0x3E, "arm64": 0xB7}
PLATFORM_ARCH = {"x86_64": "x86_64", "arm64": "aarch64"}
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3", "jmespath")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

Log = Callable[[str], object]


@dataclass
class Report:
    """Sizes of a built layer."""

    path: Path
    sha256: str
    zipped: int
    unzipped: int
    packages: list[tuple[str, int]] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)
    compiled_for: str | None = None
    stripped_with: str | None = None
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- pruning


def _is_runtime_provided(rel: Path) -> bool:
    top = rel.parts[0]
    name = re.split(r"-\d", top, maxsplit=1)[0].lower().replace("-", "_")
    return name in RUNTIME_PROVIDED and (rel.parts[0] == name or top.endswith(".dist-info"))


def _is_test_dir(rel: Path) -> bool:
    return rel.name in {"tests", "test"} and len(rel.parts) > 1


def _is_dev_file(rel: Path) -> bool:
    return rel.suffix in {".pyi", ".h", ".hpp", ".pyx", ".pxd", ".pxi", ".c", ".cc", ".cpp"} or (
        rel.name == "py.typed"
    )


def _is_dev_dir(rel: Path) -> bool:
    return (
        rel.name in {"include", "src"} and rel.parts[0] in {"pyarrow", "numpy"}
    ) or rel.parts == ("bin",)


# Optional pyarrow modules (imported lazily or inside try/except) and the libraries only they
# load. libarrow_substrait stays: pyarrow's core extension links against it.
_UNUSED_PYARROW = re.compile(
    r"^(_flight\.|flight\.py|libarrow_flight|libarrow_python_flight|_gandiva|gandiva\.|libgandiva"
    r"|_substrait\.|substrait\.py|_cuda\.|cuda\.py|libarrow_testing|_hdfs\.|_azurefs\.|_gcsfs\."
    r"|_pyarrow_cpp_tests\.|_feather\.|feather\.py|_dataset_orc\.|_parquet_encryption\."
    r"|_dataset_parquet_encryption\.|libarrow_python_parquet_encryption)"
)


def _is_unused_pyarrow(rel: Path) -> bool:
    return (
        rel.parts[0] == "pyarrow" and len(rel.parts) == 2 and bool(_UNUSED_PYARROW.match(rel.name))
    )


_UNUSED_POWERTOOLS = {
    ("aws_lambda_powertools", "event_handler"),
    *(
        ("aws_lambda_powertools", "utilities", name)
        for name in (
            "parser", "auth_alpha", "idempotency", "parameters", "kafka", "feature_flags",
            "circuit_breaker", "data_masking", "streaming", "validation",
        )
    ),
}  # fmt: skip


def _is_unused_powertools(rel: Path) -> bool:
    """Powertools ships every utility; the handler uses logging, metrics, batch and data classes."""
    return rel.parts in _UNUSED_POWERTOOLS


_UNUSED_TOOLS = {
    ("numpy", "f2py"),
    ("numpy", "_pyinstaller"),
    ("pandas", "plotting", "_matplotlib"),
}

PRUNE_RULES: dict[str, Callable[[Path], bool]] = {
    "runtime-provided (boto3, botocore, s3transfer, urllib3, jmespath)": _is_runtime_provided,
    "__pycache__": lambda rel: rel.name == "__pycache__",
    "tests": _is_test_dir,
    "headers, stubs, Cython sources": lambda rel: _is_dev_file(rel) or _is_dev_dir(rel),
    "pyarrow parts the handler never imports": _is_unused_pyarrow,
    "Powertools utilities the handler never imports": _is_unused_powertools,
    "numpy's SIMD test module": lambda rel: (
        rel.parts[:2] == ("numpy", "_core") and rel.name.startswith("_simd.")
    ),
    "static libraries, f2py, matplotlib plotting backend": lambda rel: (
        rel.suffix == ".a" or rel.parts in _UNUSED_TOOLS
    ),
}


def prune(tree: Path) -> dict[str, int]:
    """Delete what Lambda never needs from an installed ``python/`` tree; bytes removed per rule."""
    removed = dict.fromkeys(PRUNE_RULES, 0)
    for path in sorted(tree.rglob("*"), key=lambda p: len(p.parts)):
        if not (path.exists() or path.is_symlink()):
            continue
        rel = path.relative_to(tree)
        for rule, matches in PRUNE_RULES.items():
            if matches(rel):
                removed[rule] += _size(path)
                _remove(path)
                break
    removed["duplicate library copies"] = _dedupe_libraries(tree)
    return removed


def _dedupe_libraries(tree: Path) -> int:
    """Identical shared libraries stored under several names (wheels cannot hold symlinks):
    keep the soname (``libx.so.N``), replace the others with symlinks to it."""
    groups: dict[tuple[Path, str], list[Path]] = {}
    for lib in tree.rglob("*.so*"):
        if lib.is_file() and not lib.is_symlink() and re.search(r"\.so(\.\d+)*$", lib.name):
            groups.setdefault((lib.parent, _sha256(lib)), []).append(lib)
    saved = 0
    for copies in groups.values():
        if len(copies) < 2:
            continue
        keep = min(copies, key=lambda p: (not re.search(r"\.so\.\d+$", p.name), len(p.name)))
        for other in copies:
            if other != keep:
                saved += other.stat().st_size
                other.unlink()
                other.symlink_to(keep.name)
    return saved


# ---------------------------------------------------------------------------------------- building


def build(
    arch: str, python: str, out: Path, log: Log = print, requirements: Path | None = None
) -> Report:
    """Build ``out/loglake-layer-py<python>-<arch>.zip`` and report its sizes."""
    if arch not in ELF_MACHINES:
        raise LayerError(f"--arch must be arm64 or x86_64, not {arch!r}")
    require_strip_tool(arch)
    requirements = requirements or LAYER_DIR / "requirements.txt"
    with tempfile.TemporaryDirectory(prefix="loglake-layer-") as tmp:
        tree = Path(tmp) / "python"
        wheels = _wheels(arch, python, requirements, log)
        log(f"installing {len(list(wheels.glob('*.whl')))} wheels for python{python} {arch} ...")
        _pip(
            ["install", "--no-index", "--find-links", str(wheels), "--target", str(tree), "--no-compile",
             *_platform_flags(arch, python), "-r", str(requirements), "-c", str(LAYER_DIR / "runtime-provided.txt")],
            log,
        )  # fmt: skip
        removed = prune(tree)
        stripped_with, warnings = strip(tree, arch, log)
        compiled_for = _compile(tree, python, log)
        if compiled_for is None:
            warnings.append(
                f"no python{python} interpreter found: the layer has no .pyc, so Lambda compiles "
                "every module on each cold start (install python" + python + " and rebuild)"
            )
        out.mkdir(parents=True, exist_ok=True)
        target = out / f"loglake-layer-py{python}-{arch}.zip"
        write_zip(tree.parent, target, prefix_filter="python/")
        report = measure(target)
    report.removed, report.compiled_for, report.stripped_with = removed, compiled_for, stripped_with
    report.warnings = warnings + check_limits(report.unzipped, report.zipped, function_unzipped())
    return report


def _platform_flags(arch: str, python: str) -> list[str]:
    machine = PLATFORM_ARCH[arch]
    return [
        "--only-binary=:all:",
        "--implementation", "cp",
        "--python-version", python,
        "--platform", f"manylinux_2_28_{machine}",
        "--platform", f"manylinux2014_{machine}",
    ]  # fmt: skip


def _wheels(arch: str, python: str, requirements: Path, log: Log) -> Path:
    """The wheel cache for this target, filled from PyPI only when it lacks something."""
    cache = CACHE / f"py{python}-{arch}"
    cache.mkdir(parents=True, exist_ok=True)
    args = ["download", "--dest", str(cache), *_platform_flags(arch, python), "-r", str(requirements),
            "-c", str(LAYER_DIR / "runtime-provided.txt")]  # fmt: skip
    try:
        _pip([*args, "--no-index", "--find-links", str(cache)], log, quiet=True)
        log(f"wheels: all cached in {cache}")
    except LayerError:
        log(f"downloading wheels into {cache} ...")
        _pip(args, log)
    return cache


def _pip(args: list[str], log: Log, quiet: bool = False) -> None:
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        if not quiet:
            log(result.stderr.strip()[-3000:])
        raise LayerError(
            f"pip {args[0]} failed (see above); for an offline rebuild fill {CACHE} first"
        )


def strip(tree: Path, arch: str, log: Log) -> tuple[str | None, list[str]]:
    """Strip native libraries, except the vendored ``*.libs/`` folders (stripping corrupts them)."""
    tool = _strip_tool(arch)
    if tool is None:
        return None, [
            f"no strip tool for {arch} (install llvm or binutils-aarch64-linux-gnu); libraries left unstripped"
        ]
    targets = [
        p for p in tree.rglob("*")
        if p.is_file() and not p.is_symlink() and _is_elf(p) and not any(part.endswith(".libs") for part in p.parts)
    ]  # fmt: skip
    for chunk in range(0, len(targets), 100):
        subprocess.run(
            [tool, "--strip-unneeded", *map(str, targets[chunk : chunk + 100])],
            check=True,
            capture_output=True,
        )
    log(f"stripped {len(targets)} native libraries with {Path(tool).name}")
    return Path(tool).name, []


def require_strip_tool(arch: str) -> None:
    """Fail before any download when the target's strip tool is missing: unstripped, the layer
    is over Lambda's targets (163.6 MiB unzipped, 53.0 MiB zipped for arm64)."""
    if _strip_tool(arch) is None:
        package = f"binutils-{PLATFORM_ARCH[arch].replace('_', '-')}-linux-gnu"
        raise LayerError(
            f"no strip tool for {arch} ({PLATFORM_ARCH[arch]}-linux-gnu-strip): install it, e.g. "
            f"`sudo apt-get install {package}` on Debian/Ubuntu, then build again; or deploy "
            "with `--layer managed`"
        )


def _strip_tool(arch: str) -> str | None:
    """GNU strip for the target architecture. Not llvm-strip: it breaks libraries that auditwheel
    patched (numpy's extensions fail with "ELF load command address/offset not page-aligned")."""
    native = {"x86_64": "x86_64", "aarch64": "arm64"}.get(os.uname().machine)
    candidates = [f"{PLATFORM_ARCH[arch]}-linux-gnu-strip"] + (["strip"] if native == arch else [])
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    return None


def find_python(version: str) -> str | None:
    """An interpreter of exactly ``version`` (PATH, then pyenv), or ``None``."""
    candidates = [shutil.which(f"python{version}")]
    candidates += [
        str(p) for p in sorted(Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))
    ]
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        candidates.insert(0, sys.executable)
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def _compile(tree: Path, version: str, log: Log) -> str | None:
    interpreter = find_python(version)
    if interpreter is None:
        return None
    env = dict(os.environ, PYTHONHASHSEED="0")  # set and frozenset constants in a fixed order
    subprocess.run(
        [interpreter, "-OO", "-m", "compileall", "-q", "-b", "-j", "0", "--invalidation-mode", "unchecked-hash",
         "-d", "/opt/python", str(tree)],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    sources = [p for p in tree.rglob("*.py") if p.with_suffix(".pyc").is_file()]
    for source in sources:
        source.unlink()
    log(f"precompiled .pyc with {interpreter}; {len(sources)} sources replaced by their .pyc")
    return interpreter


# ---------------------------------------------------------------------------------------- zips


def write_zip(
    base: Path, target: Path, prefix_filter: str = "", paths: list[Path] | None = None
) -> None:
    """A byte-reproducible zip: sorted entries, fixed timestamps and permissions, symlinks kept."""
    files = (
        paths
        if paths is not None
        else sorted(p for p in base.rglob("*") if p.is_file() or p.is_symlink())
    )
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(files, key=lambda p: p.relative_to(base).as_posix()):
            name = path.relative_to(base).as_posix()
            if not name.startswith(prefix_filter):
                continue
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            if path.is_symlink():
                info.external_attr = 0o120777 << 16
                archive.writestr(info, os.readlink(path))
                continue
            executable = path.suffix == ".so" or ".so." in path.name or os.access(path, os.X_OK)
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            archive.writestr(info, path.read_bytes())
    tmp.replace(target)


def package(
    out: Path,
    extras_for: tuple[str, str] | None = None,
    log: Log = print,
    sources: Path | None = None,
    ddl_dirs: Sequence[Path] | None = None,
) -> Report:
    """The function zip: ``handler/`` and ``glue_ddl/`` (``ddl_dirs`` layered, see
    ``stage_function``) only, and ``sources.toml`` when a sources file is given (the function
    reads it at ``/var/task/sources.toml``).

    With ``extras_for=(arch, python)`` it also carries ``layer/managed-extras.txt`` (Powertools and
    orjson), which the AWS SDK for pandas managed layer does not provide.
    """
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="loglake-function-") as tmp:
        base = Path(tmp)
        if extras_for is None:
            target = out / "loglake-function.zip"
        else:
            arch, python = extras_for
            requirements = LAYER_DIR / "managed-extras.txt"
            wheels = _wheels(arch, python, requirements, log)
            _pip(["install", "--no-index", "--find-links", str(wheels), "--target", str(base), "--no-compile",
                  *_platform_flags(arch, python), "-r", str(requirements)], log)  # fmt: skip
            prune(base)
            target = out / f"loglake-function-with-extras-py{python}-{arch}.zip"
        stage_function(base, ddl_dirs)
        if sources is not None:
            shutil.copy2(sources, base / "sources.toml")
        write_zip(base, target)
    return measure(target)


def stage_function(base: Path, ddl_dirs: Sequence[Path] | None = None) -> list[Path]:
    """Copy the function's code into ``base`` as the zip lays it out: ``handler/*.py`` and
    ``glue_ddl/*.sql``, the same from an installed copy as from a checkout. ``ddl_dirs`` are
    layered into that one ``glue_ddl/`` (a project's tables over the built-in ones), so the
    function reads exactly the tables ``catalog apply`` and the template define."""
    pairs = [
        (p, base / "handler" / p.relative_to(HANDLER_DIR))
        for p in sorted(HANDLER_DIR.rglob("*.py"))
    ]
    pairs += [(p, base / "glue_ddl" / p.name) for p in table_files(ddl_dirs).values()]
    for source, copy in pairs:
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)
    return [copy for _, copy in pairs]


def function_unzipped() -> int:
    """Unzipped size of the function code (what counts against Lambda's limit with the layer)."""
    return sum(p.stat().st_size for p in HANDLER_DIR.rglob("*.py")) + sum(
        p.stat().st_size for p in table_files().values()
    )


def measure(target: Path) -> Report:
    """sha256, zipped and unzipped size, and the largest top-level packages."""
    per_package: dict[str, int] = {}
    unzipped = 0
    with zipfile.ZipFile(target) as archive:
        for info in archive.infolist():
            unzipped += info.file_size
            parts = info.filename.split("/")
            top = parts[1] if parts[0] == "python" and len(parts) > 2 else parts[0]
            top = re.split(r"-\d", top, maxsplit=1)[0] if top.endswith(".dist-info") else top
            per_package[top] = per_package.get(top, 0) + info.file_size
    ranked = sorted(per_package.items(), key=lambda kv: -kv[1])
    return Report(target, _sha256(target), target.stat().st_size, unzipped, ranked)


def check_limits(layer_unzipped: int, layer_zipped: int, function: int) -> list[str]:
    """Fail past Lambda's unzipped limit; warn when the zip needs S3 to be published."""
    total = layer_unzipped + function
    if total > LAMBDA_UNZIPPED_LIMIT:
        raise LayerError(
            f"function + layer unzip to {total:,} bytes, over Lambda's {LAMBDA_UNZIPPED_LIMIT:,}: "
            "prune more (see PRUNE_RULES) or use the managed AWS SDK for pandas layer"
        )
    if layer_zipped > DIRECT_UPLOAD_LIMIT:
        return [
            f"the zip is {layer_zipped / 2**20:.1f} MB, over 50 MB: publish it through S3 (`loglake deploy` does)"
        ]
    return []


# ---------------------------------------------------------------------------------------- verify


def elf_machine(path: Path) -> int | None:
    """The ELF ``e_machine`` of a file, or ``None`` when it is not ELF."""
    with path.open("rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def verify(zip_path: Path, arch: str, log: Log = print) -> list[str]:
    """Check every native library's architecture; for a layer built for this machine's Python and
    architecture, import the handler from it in an isolated interpreter and run one conversion."""
    problems: list[str] = []
    want = ELF_MACHINES[arch]
    with tempfile.TemporaryDirectory(prefix="loglake-verify-") as tmp:
        base = Path(tmp)
        with zipfile.ZipFile(zip_path) as archive:
            _extract(archive, base)
        libraries = [
            p
            for p in base.rglob("*")
            if p.is_file() and not p.is_symlink() and elf_machine(p) is not None
        ]
        wrong = [p for p in libraries if elf_machine(p) != want]
        problems += [
            f"{p.relative_to(base)}: ELF machine {elf_machine(p):#x}, expected {want:#x} ({arch})"
            for p in wrong
        ]
        log(f"{len(libraries)} native libraries checked for {arch}: {len(wrong)} wrong")
        host_arch = {"x86_64": "x86_64", "aarch64": "arm64"}.get(os.uname().machine)
        version = re.search(r"py(\d+\.\d+)", zip_path.name)
        interpreter = find_python(version.group(1)) if version else None
        if host_arch == arch and interpreter:
            problems += _smoke_test(base / "python", interpreter, log)
        else:
            log("import test skipped: no interpreter here for the layer's Python and architecture")
    return problems


def _extract(archive: zipfile.ZipFile, base: Path) -> None:
    for info in archive.infolist():
        target = base / info.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            target.symlink_to(archive.read(info).decode())
        else:
            target.write_bytes(archive.read(info))


SMOKE = r"""
import io, sys, time
started = time.perf_counter()
import handler.app
import awswrangler
seconds = time.perf_counter() - started
from handler.config import Config
from handler.pipeline import Pipeline
from handler.source import local_file
import boto3, pandas as pd, pyarrow.parquet as pq
pipe = Pipeline(Config.from_env({}), boto3.Session(region_name="us-east-1"))
result = pipe.process(local_file(sys.argv[1]), dry_run=True)
assert (result.valid, result.invalid) == (3, 1), result
frame = pd.DataFrame({"event_time": pd.to_datetime(["2025-07-21T10:00:00.123456"]), "level": ["INFO"]})
buffer = io.BytesIO()
frame.to_parquet(buffer, engine="pyarrow", coerce_timestamps="us")
assert pq.read_table(io.BytesIO(buffer.getvalue())).to_pandas().equals(frame)
outside = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)
           and m.__name__.split(".")[0] in {"pandas", "numpy", "pyarrow", "awswrangler", "orjson"}
           and not m.__file__.startswith(sys.argv[2])]
assert not outside, outside[:3]
print(f"import {seconds:.3f}")
"""


def _smoke_test(layer_python: Path, interpreter: str, log: Log) -> list[str]:
    """Import the handler from the layer only (plus boto3, as Lambda provides it) and convert."""
    with (
        tempfile.TemporaryDirectory(prefix="loglake-runtime-") as runtime,
        tempfile.TemporaryDirectory(prefix="loglake-code-") as code_dir,
    ):
        stage_function(Path(code_dir))
        for name in (*RUNTIME_PROVIDED, "dateutil", "six"):
            file = Path(str(__import__(name).__file__))
            source = file.parent if file.name == "__init__.py" else file
            (Path(runtime) / source.name).symlink_to(source)
        path = os.pathsep.join([code_dir, str(layer_python), runtime])
        sample = SAMPLE_LOG
        code = f"import sys; sys.path[:0] = {path.split(os.pathsep)!r}\n" + SMOKE
        result = subprocess.run(
            [interpreter, "-S", "-I", "-c", code, str(sample), str(layer_python)],
            capture_output=True, text=True, env={"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1"},
        )  # fmt: skip
    if result.returncode != 0:
        return [f"handler does not run from the layer: {result.stderr.strip()[-1500:]}"]
    log(
        f"handler imported from the layer by {interpreter} in {result.stdout.strip().split()[-1]} s; sample converted"
    )
    return []


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_elf(path: Path) -> bool:
    try:
        return elf_machine(path) is not None
    except OSError:
        return False


def iter_report(report: Report, top: int = 12) -> Iterator[str]:
    """The size report as lines of a table, in MiB (Lambda's limits are 50 MiB zipped for a direct
    upload and 250 MiB unzipped for function + layers)."""
    yield f"{'package':<32} {'unzipped MiB':>12}"
    for name, size in report.packages[:top]:
        yield f"{name:<32} {size / 2**20:>12.1f}"
    yield f"{'total unzipped':<32} {report.unzipped / 2**20:>12.1f}   ({report.unzipped:,} bytes)"
    yield f"{'zipped':<32} {report.zipped / 2**20:>12.1f}   ({report.zipped:,} bytes)"
