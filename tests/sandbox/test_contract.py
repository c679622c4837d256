"""The ``Sandbox`` contract, run against every implementation: state, outputs, errors, files, limits, crashes."""

from __future__ import annotations

import pytest

from assistantd.sandbox.kernel import KernelSession

pytestmark = pytest.mark.anyio


async def test_state_persists_between_executions(session: KernelSession) -> None:
    assert (await session.execute("x = 41", 10)).status == "ok"
    result = await session.execute("x += 1\nprint(x)\nx * 2", 10)
    assert result.status == "ok"
    assert result.stdout == "42\n84\n"


async def test_stdout_stderr_and_errors_are_separate(session: KernelSession) -> None:
    result = await session.execute("import sys\nprint('out')\nprint('err', file=sys.stderr)\n1/0", 10)
    assert result.status == "error"
    assert result.stdout == "out\n" and result.stderr == "err\n"
    assert result.error is not None and "ZeroDivisionError" in result.error
    assert "\x1b[" not in result.error  # plain text, no terminal colours


async def test_matplotlib_figure_becomes_a_png(session: KernelSession) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('t')\nplt.show()"
    result = await session.execute(code, 60)
    assert result.status == "ok", result
    [png] = result.images
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert "Fontconfig" not in result.stderr


async def test_files_in_and_out(session: KernelSession) -> None:
    await session.put_file("in.csv", b"a,b\n1,2\n")
    result = await session.execute(
        "import os\nprint(open('in.csv').read().strip())\nos.makedirs('out', exist_ok=True)\n"
        "open('out/r.txt', 'w').write('done')",
        10,
    )
    assert result.status == "ok" and result.stdout.startswith("a,b\n1,2")
    files = await session.list_files()
    assert set(files) == {"in.csv", "out/r.txt"}
    assert files["out/r.txt"].size == 4
    assert await session.get_file("out/r.txt", 100) == b"done"
    assert await session.get_file("in.csv", 3) == b"a,b"


async def test_input_files_are_writable_by_the_code(session: KernelSession) -> None:
    await session.put_file("data.csv", b"old")
    assert (await session.execute("open('data.csv', 'w').write('new')", 10)).status == "ok"
    assert await session.get_file("data.csv", 10) == b"new"


async def test_timeout_interrupts_and_keeps_the_session(session: KernelSession) -> None:
    await session.execute("kept = 'yes'", 10)
    result = await session.execute("while True:\n    pass", 1.5)
    assert result.status == "timeout"
    assert result.detail is not None and "timed out after 1.5 seconds" in result.detail
    assert session.alive()
    assert (await session.execute("print(kept)", 10)).stdout == "yes\n"


async def test_code_that_swallows_the_interrupt_gets_the_session_restarted(session: KernelSession) -> None:
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    result = await session.execute(code, 1.0)
    assert result.status == "timeout"
    assert result.detail is not None and "restarted" in result.detail
    assert not session.alive()


async def test_segfault_is_reported_as_a_crash(session: KernelSession) -> None:
    result = await session.execute("import ctypes\nctypes.string_at(0)", 10)
    assert result.status == "crashed"
    assert result.detail is not None and "segmentation fault" in result.detail
    assert not session.alive()
    again = await session.execute("print(1)", 5)
    assert again.status == "crashed"


async def test_long_output_keeps_head_and_tail(session: KernelSession) -> None:
    result = await session.execute("for i in range(20000):\n    print(i)", 30)
    assert result.status == "ok"
    assert result.stdout.startswith("0\n1\n2\n") and result.stdout.rstrip().endswith("19999")
    assert result.truncated_chars > 0 and "characters of output truncated" in result.stdout
    assert len(result.stdout) < 2200


async def test_binary_output_is_text(session: KernelSession) -> None:
    result = await session.execute("import sys\nprint(bytes(range(256)))\nsys.stdout.write('\\x00\\xff\\n')", 10)
    assert result.status == "ok" and "\\x00\\x01" in result.stdout


async def test_shutdown_removes_the_files(session: KernelSession) -> None:
    await session.put_file("a.txt", b"x")
    await session.shutdown()
    assert not session.home.exists()
    assert not session.alive()
