"""Schemathesis over the server's own OpenAPI document (both APIs and the Administration API), against a
real ``assistantd serve`` on loopback. For every generated request:

* no 5xx, and every 4xx carries OpenAI's error envelope;
* the document tells the truth: the status code is documented, the body has the documented content type
  and conforms to the documented schema (the official SDK's type), and a request valid under the document
  is not refused, unless it breaks one of the rules the document states in prose (``RULES``: a body naming
  an object that does not exist, a cross-field rule), which are checked by their error message.

``FUZZ_EXAMPLES`` sets the cases per operation (default 30: a few thousand in all). The cases this found are
kept, as requests, in ``test_regressions.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi import checks as st_checks

from tests._cli import clean_env, run_cli, serving

ADMIN = "sk-admin-fuzz-0123456789"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))

CHECKS = [
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    st_checks.positive_data_acceptance,
]
RULES = re.compile(
    "|".join(
        [
            r"^No file found with id ",  # a body naming a file that does not exist
            r"^No \w[\w ]* found with id ",
            r"expected an integer, but got a decimal instead",  # strict types: 100, not 100.0
            r"^Missing required parameter: 'model'\.$",  # POST /v1/responses without model or prompt
            r"^There is nothing to compact",
            r"^Previous response with id .* not found\.$",
            r"^end_time must be after start_time\.$",
            r"^An 'item_reference' cannot be added to a conversation",
            r"^Invalid page cursor\.$",  # a cursor must be one the server gave
            r"^Mutually exclusive parameters: ",  # previous_response_id or conversation, not both
            r"^An item with id .* already exists in another conversation",  # item ids are unique
            r"^Duplicate item id .* in '\w+'\.$",
            r"is out of range \(64 bits\)\.$",
            r"the overlap must not exceed half of max_chunk_size_tokens",
            r"^Invalid 'filters[^']*\.value': '\w+' expects (an array value|a single value|a number or a string)\.$",
            r"^limit must be between 1 and \d+ for bucket_width=",
        ]
    )
)
"""The document's prose rules (``assistantd.api.openapi.DESCRIPTION``): a schema-valid request refused for one
of these reasons is the document telling the truth."""

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
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        left = [f for f in group.exceptions if not _stated_rule(f, response)]
        assert not left, f"{where}\n" + "\n".join(f"{f.code} {f.title}: {str(f.message)[:300]}" for f in left)
    return int(response.status_code)


def _stated_rule(failure: Failure, response: requests.Response) -> bool:
    """A schema-valid request refused for a rule the document states in prose."""
    if not isinstance(failure, st_checks.RejectedPositiveData) or response.status_code != 400:
        return False
    return bool(RULES.search(response.json()["error"]["message"]))


def test_no_request_gets_a_5xx_and_every_4xx_has_the_envelope(served: dict[str, Any]) -> None:
    """Every operation of the document, ``EXAMPLES`` generated cases each (hypothesis, derandomized so a
    failure repeats); every operation's failure is collected before the test fails."""
    api = schemathesis.openapi.from_url(served["url"] + "/openapi.json")
    api.config.generation.allow_x00 = False  # the document states the NUL rule in prose
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
            except (AssertionError, BaseExceptionGroup) as exc:  # a group: hypothesis found several
                found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
                failures.extend(str(e).splitlines()[0][:400] for e in found)
    assert operations > 80
    assert len(statuses) > 10 * operations, len(statuses)
    print(f"{len(statuses)} cases over {operations} operations: {sorted(set(statuses))}")
    assert not failures, "\n".join(failures)


def test_the_server_survived(served: dict[str, Any]) -> None:
    assert requests.get(served["url"] + "/health", timeout=5).status_code == 200
    log = served["server"].log
    at = log.find("Traceback")
    assert at < 0, log[max(0, at - 1500) : at + 5000]
