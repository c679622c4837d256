"""Sandboxed Python sessions for the code_interpreter tool (see ``base.py`` for the seam)."""

from __future__ import annotations

import logging
from pathlib import Path

from assistantd.sandbox.base import Execution, FileInfo, Sandbox, SandboxSession, SandboxUnavailable
from assistantd.sandbox.bwrap import BwrapSandbox, Limits, SandboxConfig, SubprocessSandbox
from assistantd.sandbox.kernel import OutputLimits
from assistantd.sandbox.pool import Lease, SessionPool
from assistantd.settings import Settings

__all__ = [
    "BwrapSandbox",
    "Execution",
    "FileInfo",
    "Lease",
    "Sandbox",
    "SandboxSession",
    "SandboxUnavailable",
    "SessionPool",
    "SubprocessSandbox",
    "config_from_settings",
    "sandbox_from_settings",
    "sandbox_root",
]

log = logging.getLogger("assistantd.sandbox")


DEFAULT_ROOT = Path("/var/lib/assistantd-sandbox")
"""Session directories when ``code_interpreter_dir`` is unset: outside the data directory, which is private
(0700) and so unreachable by the sandbox uids. Instances sharing it never touch each other's sessions
(their directories carry the instance's uid range, see ``uids.py``)."""


def sandbox_root(settings: Settings) -> Path:
    return settings.code_interpreter_dir.resolve() if settings.code_interpreter_dir else DEFAULT_ROOT


def config_from_settings(settings: Settings) -> SandboxConfig:
    return SandboxConfig(
        python=settings.code_interpreter_python,
        root=sandbox_root(settings),
        uid_base=settings.code_interpreter_uid_base,
        uids=settings.code_interpreter_max_sessions,
        limits=Limits(
            cpu_seconds=settings.code_interpreter_cpu_seconds,
            memory_bytes=settings.code_interpreter_memory_bytes,
            processes=settings.code_interpreter_max_processes,
            file_bytes=settings.code_interpreter_max_file_bytes,
            tmp_bytes=settings.code_interpreter_tmp_bytes,
            output=OutputLimits(
                max_chars=settings.code_interpreter_max_output_chars,
                flood_bytes=settings.code_interpreter_max_output_bytes,
                max_images=settings.code_interpreter_max_output_files,
            ),
        ),
    )


def sandbox_from_settings(settings: Settings) -> Sandbox:
    """The sandbox this machine and these settings allow; raises ``SandboxUnavailable`` with the reason.

    bubblewrap when it works; the unsandboxed subprocess only when it does not *and* the operator set
    ``ASSISTANTD_CODE_INTERPRETER_UNSANDBOXED=true`` (logged loudly)."""
    config = config_from_settings(settings)
    bwrap = BwrapSandbox(config)
    try:
        bwrap.check()
        return bwrap
    except SandboxUnavailable as exc:
        if not settings.code_interpreter_unsandboxed:
            raise
        reason = str(exc)
    fallback = SubprocessSandbox(config)
    fallback.check()
    log.warning(
        "!!! code_interpreter is running UNSANDBOXED (%s): model-written code runs with only a uid switch "
        "and rlimits, and can read the host's files and reach its network. "
        "ASSISTANTD_CODE_INTERPRETER_UNSANDBOXED=true asked for this. !!!",
        reason,
    )
    return fallback
