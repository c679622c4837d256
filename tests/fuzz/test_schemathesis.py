"""Schemathesis over the server's own OpenAPI document (both APIs and the Administration API), against a
real ``assistantd serve`` on loopback: no request it generates gets a 5xx, and every 4xx carries OpenAI's
error envelope. ``FUZZ_EXAMPLES`` sets the cases per operation (default 30: a few thousand in all)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests._cli import clean_env, run_cli, serving

ADMIN = "sk-admin-fuzz-0123456789"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE") == "postgresql",
    reason="the fuzzed server is SQLite's; the routes' behaviour is the same on both (the PostgreSQL pass "
    "runs every other test)",
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    env = clean_env(ASSISTANTD_ADMIN_KEY=ADMIN, ASSISTANTD_UPSTREAM_BASE_URL="scripted")
    made = run_cli("keys", "create", "--project", "fuzz", "--data-dir", str(data), env=env)
    assert made.returncode == 0, made.stderr
    with serving(data, env=env) as server:
        yield {"url": server.url, "key": made.stdout.strip(), "server": server}


def _check(case: Any, served: dict[str, Any], session: requests.Session) -> int:
    key = ADMIN if case.path.startswith("/v1/organization") else served["key"]
    headers = {"Authorization": f"Bearer {key}", "OpenAI-Beta": "assistants=v2"}
    response = case.call(base_url=served["url"], session=session, headers=headers, timeout=30)
    where = f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    assert response.status_code < 500, where
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == {"error"}, where
        assert {"message", "type", "param", "code"} <= set(body["error"]), where
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], where
    return int(response.status_code)


def test_no_request_gets_a_5xx_and_every_4xx_has_the_envelope(served: dict[str, Any]) -> None:
    """Every operation of the document, ``EXAMPLES`` generated cases each (hypothesis, derandomized so a
    failure repeats); every operation's failure is collected before the test fails."""
    api = schemathesis.openapi.from_url(served["url"] + "/openapi.json")
    failures: list[str] = []
    operations = 0
    statuses: list[int] = []
    with requests.Session() as session:
        for result in api.get_all_operations():
            operation = result.ok()
            operations += 1

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
            def fuzz(case: Any) -> None:
                statuses.append(_check(case, served, session))

            try:
                fuzz()
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0][:400])
    assert operations > 80
    assert len(statuses) > 10 * operations, len(statuses)
    print(f"{len(statuses)} cases over {operations} operations: {sorted(set(statuses))}")
    assert not failures, "\n".join(failures)


def test_the_server_survived(served: dict[str, Any]) -> None:
    assert requests.get(served["url"] + "/health", timeout=5).status_code == 200
    assert "Traceback" not in served["server"].log, served["server"].log[-3000:]
