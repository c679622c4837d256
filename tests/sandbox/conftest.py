"""Sandbox fixtures: real sessions (bubblewrap, or the rlimit-only subprocess) in a throwaway directory.

Sessions need the sandbox venv (``assistantd setup-sandbox``, which ``scripts/test`` runs), root, and for
bubblewrap the ``bwrap`` binary. Where one is missing the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from assistantd.sandbox import BwrapSandbox, SandboxUnavailable, SubprocessSandbox
from assistantd.sandbox.bwrap import Limits, SandboxConfig
from assistantd.sandbox.kernel import KernelSession, OutputLimits
from assistantd.settings import Settings

PYTHON = Settings().code_interpreter_python


@pytest.fixture
def sandbox_root() -> Iterator[Path]:
    """A session root the sandbox uids can reach (pytest's own tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="assistantd-sbx-", dir="/tmp"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def make_config(root: Path, **limits: object) -> SandboxConfig:
    output = OutputLimits(max_chars=2000, flood_bytes=8 << 20)
    return SandboxConfig(
        python=PYTHON,
        root=root,
        uid_base=21000,
        uids=8,
        limits=Limits(output=output, **limits),  # type: ignore[arg-type]
        preload=False,
    )


def bwrap_sandbox(root: Path, **limits: object) -> BwrapSandbox:
    sandbox = BwrapSandbox(make_config(root, **limits))
    try:
        sandbox.check()
    except SandboxUnavailable as exc:
        pytest.skip(f"bubblewrap sandbox unavailable here: {exc}")
    return sandbox


@pytest.fixture(params=["bubblewrap", "subprocess"])
def any_sandbox(request: pytest.FixtureRequest, sandbox_root: Path) -> Iterator[BwrapSandbox | SubprocessSandbox]:
    """Every ``Sandbox`` implementation, for the contract tests."""
    if request.param == "bubblewrap":
        sandbox: BwrapSandbox | SubprocessSandbox = bwrap_sandbox(sandbox_root)
    else:
        sandbox = SubprocessSandbox(make_config(sandbox_root))
        try:
            sandbox.check()
        except SandboxUnavailable as exc:
            pytest.skip(f"subprocess sandbox unavailable here: {exc}")
    yield sandbox
    sandbox.close()


@pytest.fixture
async def session(any_sandbox: BwrapSandbox | SubprocessSandbox) -> AsyncIterator[KernelSession]:
    s = await any_sandbox.start_session()
    try:
        yield s
    finally:
        await s.shutdown()


@pytest.fixture
def bwrap(sandbox_root: Path) -> Iterator[BwrapSandbox]:
    sandbox = bwrap_sandbox(sandbox_root)
    yield sandbox
    sandbox.close()


@pytest.fixture
async def jail(bwrap: BwrapSandbox) -> AsyncIterator[KernelSession]:
    """A bubblewrap session, for the escape tests."""
    s = await bwrap.start_session()
    try:
        yield s
    finally:
        await s.shutdown()
