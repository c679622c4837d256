"""What one execution and one session may add to the Files store: a number of Files per execution, bytes per
session counted as stored (sparse files included), and no second copy of a file that did not change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from fastapi import FastAPI

from assistantd import Settings
from assistantd.tools.code_interpreter import CodeInterpreter
from tests.tools.test_code_interpreter import Calls, logs, setup

pytestmark = pytest.mark.anyio
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
"""A 1x1 PNG."""


@pytest.fixture
async def tool(settings: Settings) -> AsyncIterator[CodeInterpreter]:
    limited = settings.model_copy(
        update={"code_interpreter_session_output_bytes": 4 << 20, "code_interpreter_max_output_files": 20}
    )
    t = await CodeInterpreter.open(limited)
    if t.pool is None:
        pytest.skip(f"no sandbox here: {t.unavailable}")
    yield t
    await t.close()


async def stored(client: openai.AsyncOpenAI) -> tuple[int, int]:
    """How many output Files there are, and their bytes."""
    page = await client.files.list(purpose="assistants_output")
    return len(page.data), sum(f.bytes for f in page.data)


async def test_sparse_files_do_not_inflate_the_store(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter
) -> None:
    t, a, _ = await setup(client)
    calls = Calls(fastapi_app, tool, t, a)
    out = logs(
        await calls(
            "for i in range(32):\n"
            "    with open(f'/mnt/data/sparse{i}.bin', 'wb') as f:\n"
            "        f.truncate(50 << 20)\n"  # 50 MiB apparent, nothing on disk
            "open('/mnt/data/small.csv', 'w').write('a,b\\n1,2\\n')"
        )
    )
    count, size = await stored(client)
    assert count == 1 and size == 8  # only small.csv: 32 x 50 MiB would have cost 1.6 GB of store
    assert "Not saved: sparse0.bin (50.0 MiB, a sparse file" in out
    assert "sparse31.bin" in out and "may store 4.0 MiB of output files in total" in out
    # the quota is per session: once used up, a real file past it is refused too
    out = logs(await calls("open('/mnt/data/real.bin', 'wb').write(b'x' * (5 << 20))"))
    assert "Not saved: real.bin (5.0 MiB)" in out
    assert await stored(client) == (1, 8)


async def test_touching_files_does_not_copy_them_again(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter
) -> None:
    t, a, _ = await setup(client, ("input.csv", b"x,y\n"))
    calls = Calls(fastapi_app, tool, t, a)
    await calls("open('/mnt/data/out.csv', 'w').write('1,2\\n')")
    assert (await stored(client))[0] == 1
    await calls(
        "import os, time\nfor n in ('out.csv', 'input.csv'):\n"
        "    data = open(n).read()\n    open(n, 'w').write(data)\n    os.utime(n, (time.time() + 5,) * 2)"
    )
    assert (await stored(client))[0] == 1  # same content: no second copy of either
    await calls("open('/mnt/data/out.csv', 'a').write('3,4\\n')")
    assert (await stored(client))[0] == 2  # a real change is a new File


async def test_one_execution_makes_at_most_max_output_files(
    fastapi_app: FastAPI, client: openai.AsyncOpenAI, tool: CodeInterpreter
) -> None:
    t, a, _ = await setup(client)
    calls = Calls(fastapi_app, tool, t, a)
    call = await calls(
        "import base64\nfrom IPython.display import Image, display\n"
        f"png = base64.b64decode({PIXEL!r})\n"
        "for i in range(5):\n    open(f'/mnt/data/table{i}.csv', 'w').write(str(i))\n"
        "for i in range(100):\n    display(Image(data=png))"
    )
    outputs = call["code_interpreter"]["outputs"]
    images = [o for o in outputs if o["type"] == "image"]
    assert len(images) == 15  # 20 in all: the 5 files first, then 15 of the 100 images
    assert (await stored(client))[0] == 20
    assert "85 more images were not kept" in logs(call)
    annotated = await tool.annotate(calls.ctx, "done", [call])
    assert len(annotated.extra_parts) == 15  # the message gets 15 image parts, not 100
