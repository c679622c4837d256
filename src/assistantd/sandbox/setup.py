"""``assistantd setup-sandbox``: build the sandbox's Python (a venv outside /root) once per machine.

The venv is made from Debian's ``/usr/bin/python3`` (pyenv's interpreters live under ``/root``, which the
sandbox uids cannot read), gets ipykernel, numpy, pandas and matplotlib, a prebuilt matplotlib font
cache (``<venv>/mplcache``, copied into each session so the first plot does not rebuild it), and is made
world-readable. Running it again with the same requirements does nothing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REQUIREMENTS = ("ipykernel==7.4.0", "numpy==2.4.6", "pandas==3.1.1", "matplotlib==3.11.2")
BASE_PYTHON = Path("/usr/bin/python3")
_MARKER = ".assistantd-sandbox"


def setup_sandbox(venv: Path, base_python: Path = BASE_PYTHON, *, force: bool = False) -> bool:
    """Create or update the venv; returns False when it was already up to date."""
    marker = venv / _MARKER
    wanted = "\n".join(REQUIREMENTS)
    if not force and marker.exists() and marker.read_text() == wanted:
        return False
    if not (venv / "bin" / "python").exists():
        subprocess.run([str(base_python), "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    cache = venv / "mplcache"
    cache.mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "MPLCONFIGDIR": str(cache), "HOME": str(cache)}
    subprocess.run([str(venv / "bin" / "python"), "-c", "import matplotlib.font_manager"], check=True, env=env)
    for path in [venv, *venv.parents]:
        if path == path.parent:
            break
        mode = path.stat().st_mode
        if path == venv:
            _make_readable(venv)
        elif not mode & 0o001:
            raise SystemExit(f"{path} is not world-traversable: the sandbox uids could not reach {venv}")
    marker.write_text(wanted)
    return True


def _make_readable(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
