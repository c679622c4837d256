"""Limits that hold for a session as a whole and for the host: memory across all of a session's processes
(cgroups), uid ranges two instances never share, and session directories a crashed server left behind."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistantd.sandbox import BwrapSandbox, uids
from assistantd.sandbox.bwrap import SandboxConfig
from tests.sandbox.conftest import bwrap_sandbox, make_config

pytestmark = pytest.mark.anyio
PRIVATE_BASE = 29000
"""Tests with their own lock directory use uids no other test process claims in ``/run/assistantd``: an
instance treats the cgroups and directories of its own uid range as its own (and, at start-up, as leftovers)."""


def private(config: SandboxConfig, locks: Path) -> SandboxConfig:
    return dataclasses.replace(config, lock_dir=locks, uid_base=PRIVATE_BASE)


THREE_HOGS = """
import subprocess, sys
code = "x = bytearray(400 << 20)\\nimport time\\ntime.sleep(1)"
procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
print([p.wait() for p in procs])
"""


async def test_memory_is_bounded_per_session_across_its_processes(sandbox_root: Path) -> None:
    sandbox = bwrap_sandbox(sandbox_root, memory_bytes=1 << 30)
    try:
        if sandbox._cgroups.unavailable is not None:
            pytest.skip(f"no cgroups here: {sandbox._cgroups.unavailable}")
        assert "per session across all its processes" in sandbox.describe_limits()
        session = await sandbox.start_session()
        try:
            result = await session.execute(THREE_HOGS, 30)
            assert result.status == "ok", result
            codes = [int(c) for c in result.stdout.strip().strip("[]").split(",")]
            assert -9 in codes  # the OOM killer ended at least one: 3 x 400 MB do not fit in 1 GiB
            assert session.cgroup is not None
            peak = session.cgroup.peak_bytes()
            assert peak is not None and peak <= 1 << 30
            assert (await session.execute("print('kernel alive')", 10)).stdout == "kernel alive\n"
        finally:
            await session.shutdown()
        assert session.cgroup is not None and not any(d.exists() for d in session.cgroup.dirs)
    finally:
        sandbox.close()


def test_without_cgroups_the_log_line_says_memory_is_per_process(sandbox_root: Path) -> None:
    sandbox = BwrapSandbox(dataclasses.replace(make_config(sandbox_root), cgroups=False))
    sandbox.prepare()
    try:
        line = sandbox.describe_limits()
        assert "per PROCESS only" in line and "128 GiB" in line  # 2 GiB x 64 tasks, said honestly
    finally:
        sandbox.close()


def test_two_instances_on_one_host_get_disjoint_uid_ranges(sandbox_root: Path, tmp_path: Path) -> None:
    config = private(make_config(sandbox_root), tmp_path / "locks")
    first, second = BwrapSandbox(config), BwrapSandbox(config)
    first.prepare()
    second.prepare()
    try:
        assert first.uids == range(29000, 29008)
        assert second.uids == range(29008, 29016)
        assert "held by another instance" in second.describe_limits()
        # another process on the host (not just another object here) sees both claims
        probe = (  # uids.py alone, without importing the server
            f"import runpy\nfrom pathlib import Path\nclaim = runpy.run_path({uids.__file__!r})['claim']\n"
            f"print(claim(29004, 8, Path({str(tmp_path / 'locks')!r})).start)"
        )
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "29016"
    finally:
        first.close()
        second.close()
    third = BwrapSandbox(config)
    third.prepare()  # released claims are free again
    assert third.uids == range(29000, 29008)
    third.close()


async def test_a_crashed_servers_session_directories_are_removed(sandbox_root: Path, tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    crashed = tmp_path / "crashed.py"
    crashed.write_text(
        textwrap.dedent(f"""
            import asyncio, dataclasses, os
            from pathlib import Path
            from assistantd.sandbox.bwrap import BwrapSandbox
            from tests.sandbox.conftest import make_config

            async def main():
                config = make_config(Path({str(sandbox_root)!r}))
                config = dataclasses.replace(config, lock_dir=Path({str(locks)!r}), uid_base={PRIVATE_BASE})
                s = BwrapSandbox(config)
                s.check()
                session = await s.start_session()
                await session.put_file("users-file.csv", b"private")
                print(session.home, *session.cgroup.dirs, flush=True)
                os._exit(1)  # dies without cleaning up, as a crash would

            asyncio.run(main())
        """)
    )
    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": repo}
    done = subprocess.run([sys.executable, str(crashed)], capture_output=True, text=True, cwd=repo, env=env)
    if done.returncode != 1 or not done.stdout.strip():
        pytest.skip(f"no sandbox here: {done.stderr[-300:]}")
    left, *cgroups = map(Path, done.stdout.split())
    assert (left / "data" / "users-file.csv").exists()  # what the crash left behind

    (sandbox_root / "notes").mkdir()
    config = private(make_config(sandbox_root), locks)
    restarted = BwrapSandbox(config)
    restarted.prepare()
    try:
        assert not left.exists() and not any(c.exists() for c in cgroups)
        assert (sandbox_root / "notes").exists()  # only session directories are removed
    finally:
        restarted.close()


def test_session_directories_are_private(sandbox_root: Path) -> None:
    from assistantd.sandbox.bwrap import _make_home

    home = sandbox_root / "u21000-0123456789abcdef"
    _make_home(sandbox_root, home, 21000)
    assert (sandbox_root.stat().st_mode & 0o777) == 0o711
    st = home.stat()
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o710, 0, 21000)
    for sub in ("data", "run"):
        st = (home / sub).stat()
        assert (st.st_mode & 0o777, st.st_uid) == (0o700, 21000)


async def test_works_with_a_private_data_dir_and_the_default_root(tmp_path: Path) -> None:
    from assistantd.sandbox import DEFAULT_ROOT, config_from_settings
    from assistantd.settings import Settings

    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # as the server creates it: private to the server's user
    config = config_from_settings(Settings(data_dir=data))
    assert config.root == DEFAULT_ROOT and not config.root.is_relative_to(tmp_path)
    sandbox = bwrap_sandbox(config.root)
    try:
        session = await sandbox.start_session()
        try:
            assert (await session.execute("open('/mnt/data/x', 'w').write('ok')", 10)).status == "ok"
            assert await session.get_file("x", 10) == b"ok"
        finally:
            await session.shutdown()
    finally:
        sandbox.close()
