"""The ``assistantd`` command: usage, version, and misconfiguration reported in a line or two, never a
traceback (each case runs the real command)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests._cli import clean_env, run_cli, serving


def _refused(result: object, *expected: str) -> None:
    """Exit status 2, one or two lines on stderr naming the fix, no traceback."""
    code, err = result.returncode, result.stderr  # type: ignore[attr-defined]
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2, err
    for text in expected:
        assert text in err


def test_bare_command_prints_usage() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "serve" in result.stdout and "usage: assistantd" in result.stdout


def test_help_and_version() -> None:
    assert "--data-dir" in run_cli("serve", "--help").stdout
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "assistantd 0.1.0"


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    _refused(run_cli("serve", "--config", str(missing)), str(missing), "does not exist")


def test_unknown_environment_variable_names_the_closest_setting() -> None:
    _refused(run_cli("serve", env=clean_env(ASSISTANTD_API_KEY="sk-x")), "ASSISTANTD_API_KEY", "ASSISTANTD_API_KEYS")


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('api_key = "sk-a"\n', ["'api_key'", "did you mean 'api_keys'"]),
        ('[[upstreams]]\nbase = "http://127.0.0.1:1/v1"\n', ["'base'", "[[upstreams]]", "'base_url'"]),
        ("port = 8000\n[oops\n", ["cannot be read as TOML"]),
        ("port = 70000\n", ["port", "65535"]),
    ],
)
def test_bad_config_file(tmp_path: Path, toml: str, expected: list[str]) -> None:
    config = tmp_path / "assistantd.toml"
    config.write_text(toml)
    _refused(run_cli("serve", "--config", str(config)), *expected)


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_port_out_of_range(port: str) -> None:
    _refused(run_cli("serve", "--port", port), "port", "ASSISTANTD_PORT")


def test_bad_values_in_the_environment() -> None:
    _refused(run_cli("serve", env=clean_env(ASSISTANTD_LOG_LEVEL="loud")), "log_level", "debug")
    _refused(run_cli("serve", env=clean_env(ASSISTANTD_EMBEDDINGS="upstream")), "ASSISTANTD_EMBEDDING_BASE_URL")


def test_unusable_data_dir_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _refused(run_cli("serve", "--data-dir", str(blocker / "data")), str(blocker / "data"), "not usable")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        _refused(run_cli("serve", "--port", port, "--data-dir", str(tmp_path / "d")), f"127.0.0.1:{port}", "--port")


def test_second_server_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data) as first:
        second = run_cli("serve", "--port", "0", "--data-dir", str(data))
        _refused(second, str(data.resolve()), "in use", f"pid {first.proc.pid}")
        assert first.health() == 200
    # Once the first is gone, the lock goes with it.
    with serving(data) as again:
        assert again.health() == 200


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("serve", "--workers", "2"), "--workers"),
        (("serve", "--api-only"), "--api-only"),
        (("worker",), "assistantd worker"),
    ],
)
def test_many_processes_need_postgresql(tmp_path: Path, args: tuple[str, ...], what: str) -> None:
    """One process owns a SQLite database: the roles of a PostgreSQL deployment say so in one line."""
    result = run_cli(*args, "--data-dir", str(tmp_path / "d"))
    _refused(result, what, "needs PostgreSQL", "ASSISTANTD_DATABASE_URL")


def test_workers_must_be_positive(tmp_path: Path) -> None:
    _refused(run_cli("serve", "--workers", "0", "--data-dir", str(tmp_path / "d")), "--workers", "at least 1")
