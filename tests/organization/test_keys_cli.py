"""``assistantd keys create --project NAME``: a key from the command line, used against a served server."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from tests._cli import clean_env, run_cli, serving

ADMIN = "sk-admin-cli-test-0123456789"


@pytest.mark.skipif(
    __import__("os").environ.get("TEST_DATABASE") == "postgresql", reason="the served server here is SQLite's"
)
def test_a_cli_key_works_confined_to_its_project_and_unknown_keys_do_not(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = clean_env(ASSISTANTD_ADMIN_KEY=ADMIN, ASSISTANTD_UPSTREAM_BASE_URL="scripted")
    made = run_cli("keys", "create", "--project", "support bot", "--data-dir", str(data), env=env)
    assert made.returncode == 0, made.stderr
    key_a = made.stdout.strip()
    assert key_a.startswith("sk-proj-") and "support bot" in made.stderr
    again = run_cli("keys", "create", "--project", "support bot", "--data-dir", str(data), env=env)
    other = run_cli("keys", "create", "--project", "analyst", "--data-dir", str(data), env=env)
    key_a2, key_b = again.stdout.strip(), other.stdout.strip()

    with serving(data, env=env) as server:
        a = openai.OpenAI(base_url=server.url + "/v1", api_key=key_a, max_retries=0)
        a2 = openai.OpenAI(base_url=server.url + "/v1", api_key=key_a2, max_retries=0)
        b = openai.OpenAI(base_url=server.url + "/v1", api_key=key_b, max_retries=0)
        assistant = a.beta.assistants.create(model="m", name="ours")
        assert a2.beta.assistants.retrieve(assistant.id).name == "ours"  # same project, second key
        with pytest.raises(openai.NotFoundError):
            b.beta.assistants.retrieve(assistant.id)
        assert b.beta.assistants.list().data == []
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=server.url + "/v1", api_key="sk-proj-guess", max_retries=0).models.list()
        assert ADMIN not in server.log and key_a not in server.log
