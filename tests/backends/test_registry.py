"""Model routing: ``[[upstreams]]`` tables send each model name to its upstream; unrouted models are a 400."""

from __future__ import annotations

import openai
import pytest

from assistantd import Settings
from assistantd.settings import UpstreamRoute
from tests._support import assert_api_error, db_count
from tests.backends._fake_upstream import FakeUpstream, stream, text_chunks

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings, upstream_url: str) -> Settings:
    route = UpstreamRoute(base_url=upstream_url, api_key="sk-route", models=["routed", "also-routed"])
    return settings.model_copy(update={"upstream_base_url": "", "upstreams": [route]})


async def test_models_are_routed(client: openai.AsyncOpenAI, upstream: FakeUpstream, settings: Settings) -> None:
    upstream.scenarios["routed"] = lambda n: stream(text_chunks("via route"))
    upstream.scenarios["also-routed"] = lambda n: stream(text_chunks("also"))
    a = await client.beta.assistants.create(model="routed")
    t = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, model="unrouted")
    assert assert_api_error(exc.value, 400, param="model")["code"] == "model_not_found"
    assert db_count(settings, "runs") == 0

    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "completed", run.last_error
    run = await client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, model="also-routed")
    assert run.status == "completed", run.last_error
    assert [r["model"] for r in upstream.requests] == ["routed", "also-routed"]
    assert {h["authorization"] for h in upstream.headers} == {"Bearer sk-route"}

    unserved = await client.beta.assistants.create(model="unrouted")
    with pytest.raises(openai.BadRequestError) as exc:
        await client.beta.threads.runs.create(thread_id=t.id, assistant_id=unserved.id)
    assert assert_api_error(exc.value, 400, param="assistant_id")["code"] == "model_not_found"
