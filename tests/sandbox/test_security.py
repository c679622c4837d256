"""Escape attempts against the bubblewrap sandbox. Everything stays on this machine: the only network
target is a listener this test opens on 127.0.0.1, outside the sandbox."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from assistantd.sandbox import BwrapSandbox
from assistantd.sandbox.kernel import KernelSession
from tests.sandbox.conftest import bwrap_sandbox

pytestmark = pytest.mark.anyio


async def run(session: KernelSession, code: str, timeout: float = 20) -> str:
    result = await session.execute(code, timeout)
    assert result.status in ("ok", "error"), result
    return result.stdout + (result.error or "")


async def test_no_network_even_to_the_hosts_loopback(jail: KernelSession) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        out = await run(
            jail,
            "import socket\n"
            f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('CONNECTED')\n"
            "except OSError as e:\n    print('refused', type(e).__name__)\n"
            "try:\n    socket.getaddrinfo('example.com', 80)\n    print('RESOLVED')\n"
            "except OSError as e:\n    print('no dns')\n"
            "print(sorted(name for _, name in socket.if_nameindex()))",
        )
        assert "CONNECTED" not in out and "refused" in out
        assert "RESOLVED" not in out and "no dns" in out
        assert "eth0" not in out
        with pytest.raises(BlockingIOError):
            listener.accept()  # the listener saw nothing


async def test_host_files_are_not_there(jail: KernelSession, tmp_path: Path, sandbox_root: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    beside = sandbox_root / "other-session-secret.txt"
    beside.write_text("host secret")
    beside.chmod(0o644)
    paths = [str(secret), str(beside), "/root", "/etc/passwd", "/etc/shadow", "/work", "/home", str(Path.cwd())]
    out = await run(
        jail,
        "import os\n"
        f"for p in {paths!r}:\n"
        "    try:\n        open(p).read()\n        print('READ', p)\n"
        "    except OSError as e:\n        print('blocked', p, type(e).__name__)\n"
        "print(sorted(os.listdir('/')))\nprint(sorted(os.listdir('/etc')))",
    )
    assert "READ" not in out and "host secret" not in out
    assert out.count("blocked") == len(paths)
    assert "['bin', 'dev', 'etc', 'lib', 'lib64', 'mnt', 'opt', 'proc', 'sbin', 'tmp', 'usr']" in out
    assert "['fonts']" in out


async def test_writes_outside_mnt_data_fail(jail: KernelSession) -> None:
    targets = ["/x", "/usr/x", "/etc/fonts/x", "/opt/x", "/proc/x", "/mnt/x", "/dev/x"]
    out = await run(
        jail,
        f"for p in {targets!r}:\n"
        "    try:\n        open(p, 'w').write('x')\n        print('WROTE', p)\n"
        "    except OSError as e:\n        print('denied', p, e.strerror)\n"
        "open('/mnt/data/ok.txt', 'w').write('ok')\nopen('/tmp/scratch.txt', 'w').write('ok')\nprint('mnt ok')",
    )
    assert "WROTE" not in out and out.count("denied") == len(targets)
    assert "mnt ok" in out
    assert (jail.data_dir / "ok.txt").read_text() == "ok"
    assert not Path("/tmp/scratch.txt").exists()  # the sandbox's /tmp is its own
    # the session's socket folder path exists inside (on the private /tmp when the root is under /tmp), but
    # nothing written next to it reaches the host
    await jail.execute(f"open({str(jail.run_dir.parent / 'x')!r}, 'w').write('x')", 10)
    assert not (jail.run_dir.parent / "x").exists()


async def test_no_privileges_and_no_namespaces_to_escape_with(jail: KernelSession) -> None:
    out = await run(
        jail,
        "import os\nprint(os.getuid(), os.getgid())\n"
        "print([l for l in open('/proc/self/status') if l.startswith('CapEff')][0].split()[1])\n"
        "try:\n    os.unshare(os.CLONE_NEWUSER)\n    print('UNSHARED')\nexcept OSError as e:\n    print('no userns')\n",
    )
    assert out.startswith("65534 65534\n0000000000000000\n")
    assert "no userns" in out


async def test_the_server_process_and_data_dir_are_invisible(jail: KernelSession) -> None:
    out = await run(
        jail,
        "import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "cmds = [open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\\0', b' ').decode() for p in pids]\n"
        "print(len(pids))\nprint(cmds)\n"
        f"print(os.listdir({str(jail.run_dir.parent)!r}))",
    )
    assert "pytest" not in out and str(os.getpid()) + "\n" not in out.split("\n")[0]
    count = int(out.split("\n")[0])
    assert count <= 4  # bwrap's init, the kernel and its helpers; the host has far more
    assert "['run']" in out  # of the session directory only the socket folder is mounted; no data, no db


async def test_fork_bomb_is_contained(jail: KernelSession) -> None:
    out = await run(
        jail,
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(60)\n            os._exit(0)\n        n += 1\n"
        "except OSError as e:\n    print('stopped after', n, type(e).__name__)",
    )
    assert "stopped after" in out
    assert int(out.split()[2]) < 64
    started = time.monotonic()
    result = await jail.execute("import os\nwhile True:\n    os.fork()", 5)  # a real bomb: children fork too
    assert result.status in ("timeout", "crashed", "error")
    assert time.monotonic() - started < 30


async def test_memory_bomb_is_contained(jail: KernelSession) -> None:
    result = await jail.execute("x = bytearray(8 * 1024**3)", 20)
    assert result.status == "error" and "MemoryError" in (result.error or "")
    result = await jail.execute("chunks = []\nwhile True:\n    chunks.append(bytearray(100 * 1024**2))", 30)
    assert result.status in ("error", "crashed")
    if result.status == "error":
        assert "MemoryError" in (result.error or "")
        assert (await jail.execute("del chunks\nprint('alive')", 10)).stdout == "alive\n"


async def test_infinite_loop_is_contained(jail: KernelSession) -> None:
    started = time.monotonic()
    result = await jail.execute("while True:\n    pass", 2)
    assert result.status == "timeout" and time.monotonic() - started < 10
    assert (await jail.execute("print('next')", 10)).stdout == "next\n"


async def test_a_gigabyte_of_output_is_contained(jail: KernelSession) -> None:
    started = time.monotonic()
    result = await jail.execute(
        "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)", 60
    )
    assert result.status == "output_limit", result.detail
    assert len(result.stdout) < 3000 and "output limit exceeded" in (result.error or "")
    assert time.monotonic() - started < 60
    big = await jail.execute("print('y' * (1 << 30))", 60)  # one gigabyte-sized message
    assert big.status in ("ok", "error", "output_limit", "timeout", "crashed")
    assert len(big.stdout) < 3000
    assert (await jail.execute("print('still here')", 20)).stdout.endswith("still here\n") or not jail.alive()


async def test_disk_writes_are_limited(jail: KernelSession) -> None:
    out = await run(
        jail,
        "try:\n    open('/mnt/data/big', 'wb').write(b'0' * (200 * 1024**2))\n    print('WROTE')\n"
        "except OSError as e:\n    print('limited', e.errno)\n"
        "try:\n    open('/tmp/big', 'wb').write(b'0' * (300 * 1024**2))\n    print('TMP WROTE')\n"
        "except OSError as e:\n    print('tmp limited', e.errno)",
        60,
    )
    assert "WROTE" not in out.replace("TMP WROTE", "") and "limited 27" in out  # EFBIG at the file size limit
    assert "TMP WROTE" not in out


async def test_one_session_cannot_see_another(bwrap: BwrapSandbox) -> None:
    a, b = await bwrap.start_session(), await bwrap.start_session()
    try:
        await run(a, "open('/mnt/data/mine.txt', 'w').write('thread A secret')\nopen('/tmp/t', 'w').write('A')")
        out = await run(
            b,
            "import os\nprint(os.listdir('/mnt/data'), os.path.exists('/tmp/t'))\n"
            f"print(os.path.exists({str(a.data_dir)!r}), os.path.exists({str(a.run_dir)!r}))\n"
            "print(len([p for p in os.listdir('/proc') if p.isdigit()]))",
        )
        assert out.startswith("[] False\nFalse False\n")
        assert "thread A secret" not in out
    finally:
        await a.shutdown()
        await b.shutdown()


async def test_planted_symlinks_do_not_leak_host_files(jail: KernelSession, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret")
    target = tmp_path / "victim.txt"
    target.write_text("untouched")
    await run(
        jail,
        f"import os\nos.symlink({str(secret)!r}, '/mnt/data/leak.txt')\nos.symlink('/etc/passwd', '/mnt/data/pw')\n"
        f"os.symlink({str(target)!r}, '/mnt/data/data.csv')\nos.mkfifo('/mnt/data/fifo')",
    )
    files = await jail.list_files()
    assert set(files) == set()  # symlinks and FIFOs are not files
    for name in ("leak.txt", "pw", "fifo"):
        with pytest.raises((OSError, ValueError)):
            await jail.get_file(name, 1000)
    await jail.put_file("data.csv", b"input")  # replaces the link, never writes through it
    assert target.read_text() == "untouched"
    assert await jail.get_file("data.csv", 100) == b"input"


def test_sandbox_refuses_to_start_without_a_reachable_root(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "root").mkdir()
    with pytest.raises(pytest.skip.Exception):
        bwrap_sandbox(private / "root")
