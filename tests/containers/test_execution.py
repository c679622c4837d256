"""Code in a container through the service API the Responses code_interpreter tool calls (real bubblewrap), with
its files seen through the official client."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI
from openai.types.responses.response_code_interpreter_tool_call import OutputImage, OutputLogs
from pydantic import TypeAdapter

from assistantd.containers.service import Containers
from assistantd.errors import InvalidRequest
from tests._support import make_file

pytestmark = pytest.mark.anyio

SALES = b"month,amount\n2024-01,100\n2024-01,50\n2024-02,70\n"
CODE = """
import pandas as pd, matplotlib.pyplot as plt
df = pd.read_csv('/mnt/data/sales.csv')
total = df.amount.sum()
print('total', total)
df.groupby('month').amount.sum().to_csv('/mnt/data/monthly.csv')
df.amount.plot(); plt.show()
"""


@pytest.fixture
def service(containers: Containers) -> Containers:
    if containers.runner.pool is None:
        pytest.skip(f"no sandbox here: {containers.runner.unavailable}")
    return containers


async def test_code_writes_files_recorded_as_assistant_files(client: AsyncOpenAI, service: Containers) -> None:
    sales = await make_file(client, SALES, "sales.csv")
    c = await client.containers.create(name="run", file_ids=[sales.id])
    result = await service.execute(c.id, CODE)
    assert result.status == "ok", result.logs
    assert "total 220" in result.logs
    assert [(f.path, f.filename) for f in result.files] == [("/mnt/data/monthly.csv", "monthly.csv")]
    assert len(result.images) == 1 and result.images[0].path == f"/mnt/data/{result.images[0].file_id}.png"

    by_path = {f.path: f async for f in client.containers.files.list(c.id)}
    assert by_path["/mnt/data/sales.csv"].source == "user"
    monthly = by_path["/mnt/data/monthly.csv"]
    assert monthly.source == "assistant" and monthly.id == result.files[0].file_id
    content = await client.containers.files.content.retrieve(monthly.id, container_id=c.id)
    assert content.content == b"month,amount\n2024-01,150\n2024-02,70\n"
    image = await client.containers.files.content.retrieve(result.images[0].file_id, container_id=c.id)
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n" and by_path[result.images[0].path].source == "assistant"
    found = await service.file_at_path(c.id, "/mnt/data/monthly.csv")
    assert found is not None and found.id == monthly.id  # what a container_file_citation points at

    logs, img = result.outputs()
    TypeAdapter(OutputLogs).validate_python(logs)
    assert TypeAdapter(OutputImage).validate_python(img).url.startswith("data:image/png;base64,")


async def test_state_survives_and_files_follow_the_api(client: AsyncOpenAI, service: Containers) -> None:
    c = await client.containers.create(name="state")
    assert (await service.execute(c.id, "x = 41")).status == "ok"
    late = await client.containers.files.create(c.id, file=("late.txt", b"arrived"))
    result = await service.execute(c.id, "print(x + 1, open('/mnt/data/late.txt').read())")
    assert result.logs == "42 arrived" and result.files == []  # an unchanged input is not copied back out
    await client.containers.files.delete(late.id, container_id=c.id)
    result = await service.execute(c.id, "import os; print(os.listdir('/mnt/data'))")
    assert result.logs == "[]"
    same = await service.execute(c.id, "open('/mnt/data/a.txt', 'w').write('a')")
    again = await service.execute(c.id, "open('/mnt/data/a.txt', 'w').write('a')")
    assert len(same.files) == 1 and again.files == []  # rewritten with the same bytes: not copied again
    after = await client.containers.retrieve(c.id)
    assert after.last_active_at is not None and after.last_active_at >= c.created_at


async def test_execution_errors_are_outputs(client: AsyncOpenAI, service: Containers) -> None:
    c = await client.containers.create(name="err")
    result = await service.execute(c.id, "1/0")
    assert result.status == "error" and "ZeroDivisionError" in result.logs


async def test_ensure_auto_makes_a_container_with_the_files(client: AsyncOpenAI, service: Containers) -> None:
    f = await make_file(client, b"abc", "in.txt")
    container_id = await service.ensure_auto([f.id], "4g", param="tools[0].container.")
    c = await client.containers.retrieve(container_id)
    assert c.id.startswith("cntr_") and c.memory_limit == "4g" and c.status == "running"
    assert (await service.execute(container_id, "print(open('/mnt/data/in.txt').read())")).logs == "abc"
    with pytest.raises(InvalidRequest) as exc:
        await service.ensure_auto(["file-nope"], param="tools[0].container.")
    assert exc.value.param == "tools[0].container.file_ids[0]"
    with pytest.raises(InvalidRequest) as exc:
        await service.ensure_auto([], "2g", param="tools[0].container.")
    assert exc.value.param == "tools[0].container.memory_limit" and "'2g'" in exc.value.message


async def test_unknown_container_is_not_found(service: Containers) -> None:
    from assistantd.errors import NotFound

    with pytest.raises(NotFound) as exc:
        await service.execute("cntr_" + "z" * 24, "1", param="tools[0].container")
    assert exc.value.param == "tools[0].container"
