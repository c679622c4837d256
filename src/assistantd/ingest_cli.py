"""``assistantd ingest DIR --vector-store ID``: load a folder into a vector store of a running server.

It is a client of the HTTP API (the official ``openai`` package), so it works against any assistantd (or
OpenAI itself) it can reach: it walks ``DIR`` (hidden files and folders skipped, ``--glob`` to narrow),
uploads the files a few at a time (``--concurrency``, 8), attaches them in file batches of at most 500 as
the uploads finish (so ingestion overlaps the uploads), and waits for every file to end ``completed``,
``failed`` or ``cancelled``, polling the batches' ``file_counts`` and the store's ``usage_bytes``.

Progress goes to stderr: one line redrawn in place on a terminal, else a plain line per change (at most one
a second, and the last). The API reports no chunk counts, so the rate is in files/s and the volume is the
indexed bytes (chunk text and vectors, the store's ``usage_bytes``). The summary goes to stdout: the store,
the counts, and each file that failed with its ``last_error``.

Exit status: 0 every file completed; 1 some file failed (upload or ingestion) or was still in progress at
``--timeout``; 2 a usage error (no such folder, no file in it, an unknown or expired store, a server that
cannot be reached or refuses the key), before anything is uploaded; 130 interrupted (what was attached
keeps ingesting on the server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fnmatch
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from openai import AsyncOpenAI

USAGE_ERROR = 2
INTERRUPTED = 130
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
ANY_KEY = "assistantd"
"""Sent when no key is configured: a server without ``ASSISTANTD_API_KEYS`` accepts any bearer key."""
BATCH_SIZE = 500
CONCURRENCY = 8
POLL_SECONDS = 0.5
REDRAW_SECONDS = 0.1
LINE_SECONDS = 1.0
MAX_ATTRIBUTE = 512
"""OpenAI's limit on a string attribute: a longer relative path is not recorded as ``path``."""

DESCRIPTION = (
    "Upload the files under DIR (recursively; hidden files and folders skipped) to a running server and "
    "attach them to a vector store in file batches, showing progress on stderr until every file is "
    "ingested. Each file gets the attribute 'path' (its path under DIR). Exit status: 0 all completed, "
    "1 some failed (listed with their last_error), 2 usage error (no such folder or store, server "
    "unreachable or key refused)."
)


class UsageError(Exception):
    """A mistake the operator fixes: reported in a line, exit status 2, nothing uploaded."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="folder whose files to upload")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--vector-store",
        metavar="ID",
        help="vector store to attach to ('new': create one named after DIR)",
    )
    target.add_argument("--create", metavar="NAME", help="create a vector store with this name and attach to it")
    parser.add_argument(
        "--glob",
        action="append",
        metavar="PATTERN",
        help="only files whose path under DIR or name matches (fnmatch, e.g. '*.md'; repeatable)",
    )
    parser.add_argument("--base-url", help=f"the server's API (default $OPENAI_BASE_URL, else {DEFAULT_BASE_URL})")
    parser.add_argument(
        "--api-key",
        help="bearer key (default $OPENAI_API_KEY, else the first of $ASSISTANTD_API_KEYS, else any)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=CONCURRENCY, metavar="N", help=f"uploads at once (default {CONCURRENCY})"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="stop waiting for ingestion after this long (default: wait)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    """The ``ingest`` command."""
    try:
        options = Options.of(args)
        return asyncio.run(Ingest(options, sys.stdout, sys.stderr).run())
    except UsageError as exc:
        print(f"assistantd: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted: files already attached keep ingesting on the server", file=sys.stderr)
        return INTERRUPTED


# --- options and files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    root: Path
    files: list[Path]
    store_id: str | None
    """None: create one named ``create``."""
    create: str | None
    base_url: str
    api_key: str
    concurrency: int
    timeout: float | None
    progress: bool

    @classmethod
    def of(cls, args: argparse.Namespace) -> Options:
        root = Path(args.dir)
        if not root.is_dir():
            raise UsageError(f"{root}: {'not a folder' if root.exists() else 'no such folder'}")
        if not 1 <= args.concurrency <= 64:
            raise UsageError(f"--concurrency {args.concurrency}: must be between 1 and 64")
        if args.timeout is not None and args.timeout <= 0:
            raise UsageError(f"--timeout {args.timeout:g}: must be positive")
        files = find_files(root, args.glob or ())
        if not files:
            narrowed = f" matching {', '.join(args.glob)}" if args.glob else ""
            raise UsageError(f"{root}: no files{narrowed} to ingest (hidden files and folders are skipped)")
        store_id, create = args.vector_store, args.create
        if store_id == "new":
            store_id, create = None, root.resolve().name or "ingest"
        base_url = (args.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"--base-url {base_url!r}: must start with http:// or https:// (e.g. {DEFAULT_BASE_URL})")
        return cls(
            root=root,
            files=files,
            store_id=store_id,
            create=create,
            base_url=base_url,
            api_key=api_key(args.api_key),
            concurrency=args.concurrency,
            timeout=args.timeout,
            progress=not args.no_progress,
        )


def api_key(given: str | None) -> str:
    """``--api-key``, else ``$OPENAI_API_KEY``, else the first of the server's ``$ASSISTANTD_API_KEYS`` (the
    command run where the server runs), else a placeholder that a server without keys accepts."""
    if given:
        return given
    if key := os.environ.get("OPENAI_API_KEY", "").strip():
        return key
    keys = [k.strip() for k in os.environ.get("ASSISTANTD_API_KEYS", "").split(",") if k.strip()]
    return keys[0] if keys else ANY_KEY


def find_files(root: Path, globs: Sequence[str]) -> list[Path]:
    """The regular files under ``root`` (symlinks to files followed, to folders not), sorted by path, none
    hidden (no part of the path under ``root`` starts with ``.``), each matching one of ``globs`` (if any)
    by its path under ``root`` or by its name."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(folder, name)
            if name.startswith(".") or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            if globs and not any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(name, g) for g in globs):
                continue
            found.append(path)
    return found


# --- progress ------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    total: int
    uploaded: int = 0
    upload_failed: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    usage_bytes: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.cancelled + self.upload_failed

    @property
    def not_completed(self) -> int:
        return self.failed + self.cancelled + self.upload_failed

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


class Progress:
    """``tty``: one line redrawn in place (with a bar); ``lines``: a line when the counts change, at most one a
    second and always the last; ``off``: nothing."""

    def __init__(self, stream: TextIO, mode: Literal["tty", "lines", "off"]) -> None:
        self.stream = stream
        self.mode = mode
        self._drawn = 0.0
        self._width = 0
        self._last_key: tuple[int, ...] | None = None

    @classmethod
    def on(cls, stream: TextIO, enabled: bool) -> Progress:
        if not enabled:
            return cls(stream, "off")
        return cls(stream, "tty" if stream.isatty() else "lines")

    def show(self, t: Tally, final: bool = False) -> None:
        now = time.monotonic()
        key = (t.uploaded, t.upload_failed, t.completed, t.failed, t.cancelled, t.usage_bytes)
        if self.mode == "off":
            return
        if self.mode == "tty":
            if final or now - self._drawn >= REDRAW_SECONDS:
                self._drawn = now
                self._redraw(self._bar(t) + self._text(t))
                if final:
                    self.stream.write("\n")
                    self.stream.flush()
            return
        if (key != self._last_key and now - self._drawn >= LINE_SECONDS) or (final and key != self._last_key):
            self._drawn, self._last_key = now, key
            self.stream.write(f"ingest: {self._text(t)}\n")
            self.stream.flush()

    def _text(self, t: Tally) -> str:
        parts = [f"{t.done}/{t.total} files done", f"{t.not_completed} failed"]
        if t.uploaded + t.upload_failed < t.total:
            parts.append(f"{t.uploaded}/{t.total} uploaded")
        parts.append(f"{size(t.usage_bytes)} indexed")
        parts.append(f"{t.rate():.1f} files/s")
        return ", ".join(parts)

    def _bar(self, t: Tally, width: int = 20) -> str:
        filled = width * t.done // t.total if t.total else width
        return "[" + "#" * filled + "." * (width - filled) + "] "

    def _redraw(self, line: str) -> None:
        columns = shutil.get_terminal_size((100, 24)).columns
        line = line[: max(columns - 1, 10)]
        self.stream.write("\r" + line + " " * max(self._width - len(line), 0))
        self.stream.flush()
        self._width = len(line)


# --- the ingest ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    path: str
    code: str
    message: str


def _error_text(exc: Exception) -> tuple[str, str]:
    """An API error's (code, message), from OpenAI's error body when there is one."""
    from openai import APIStatusError

    if isinstance(exc, APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("message") or exc.message)
        return str(body.get("code") or exc.code or f"http_{exc.status_code}"), message
    return type(exc).__name__, str(exc) or type(exc).__name__


class Ingest:
    def __init__(self, options: Options, out: TextIO, err: TextIO) -> None:
        self.o = options
        self.out = out
        self.err = err
        self.tally = Tally(len(options.files))
        self.progress = Progress.on(err, options.progress)
        self.failures: list[Failure] = []
        self.paths: dict[str, str] = {}
        """file id → path under DIR."""
        self.batches: dict[str, int] = {}
        """batch id → how many files it holds."""
        self._counts: dict[str, tuple[int, int, int]] = {}
        """batch id → its last (completed, failed, cancelled)."""
        self._pending: list[str] = []
        self._usage_before = 0

    async def run(self) -> int:
        from openai import APIError, AsyncOpenAI

        async with AsyncOpenAI(base_url=self.o.base_url, api_key=self.o.api_key, max_retries=3) as client:
            store_id, name = await self._store(client)
            self.tally.started = time.monotonic()
            try:
                await self._upload_all(client, store_id)
                timed_out = await self._wait(client, store_id)
                await self._final_counts(client, store_id)
            except APIError as exc:
                self.progress.show(self.tally, final=True)
                code, message = _error_text(exc)
                print(
                    f"assistantd: error: {self.o.base_url} failed while ingesting ({code}: {message}); "
                    f"{len(self.paths)} of {self.tally.total} files were uploaded, those attached keep ingesting",
                    file=self.err,
                )
                return 1
        self.progress.show(self.tally, final=True)
        return self._report(store_id, name, timed_out)

    async def _upload_all(self, client: AsyncOpenAI, store_id: str) -> None:
        poller = asyncio.create_task(self._poll_while_uploading(client, store_id))
        try:
            gate = asyncio.Semaphore(self.o.concurrency)
            await asyncio.gather(*(self._upload(client, store_id, gate, path) for path in self.o.files))
            await self._attach(client, store_id, self._take(len(self._pending)))
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    async def _store(self, client: AsyncOpenAI) -> tuple[str, str]:
        """The store to attach to (created if asked), checked before anything is uploaded."""
        from openai import APIConnectionError, AuthenticationError, NotFoundError, PermissionDeniedError

        try:
            if self.o.store_id is None:
                assert self.o.create is not None
                store = await client.vector_stores.create(name=self.o.create)
                self.err.write(f"created vector store {store.id} ({store.name})\n")
            else:
                store = await client.vector_stores.retrieve(self.o.store_id)
        except APIConnectionError as exc:
            raise UsageError(
                f"cannot reach {self.o.base_url}: {exc.__cause__ or exc} "
                "(is 'assistantd serve' running there? set --base-url or OPENAI_BASE_URL)"
            ) from None
        except (AuthenticationError, PermissionDeniedError) as exc:
            raise UsageError(
                f"{self.o.base_url} refused the key ({_error_text(exc)[1]}): pass --api-key or set OPENAI_API_KEY"
            ) from None
        except NotFoundError:
            raise UsageError(
                f"no vector store {self.o.store_id!r} at {self.o.base_url} (check the id, or create one with "
                "--create NAME or --vector-store new)"
            ) from None
        if store.status == "expired":
            raise UsageError(f"vector store {store.id} has expired: attach to another one, or --create NAME")
        self._usage_before = store.usage_bytes
        return store.id, store.name or ""

    async def _upload(self, client: AsyncOpenAI, store_id: str, gate: asyncio.Semaphore, path: Path) -> None:
        from openai import APIError

        rel = path.relative_to(self.o.root).as_posix()
        async with gate:
            try:
                data = await asyncio.to_thread(path.read_bytes)
                uploaded = await client.files.create(file=(path.name, data), purpose="assistants")
            except OSError as exc:
                self._failed(rel, "unreadable", exc.strerror or str(exc))
                return
            except APIError as exc:
                self._failed(rel, *_error_text(exc))
                return
        self.paths[uploaded.id] = rel
        self._pending.append(uploaded.id)
        self.tally.uploaded += 1
        if len(self._pending) >= BATCH_SIZE:
            await self._attach(client, store_id, self._take(BATCH_SIZE))
        self.progress.show(self.tally)

    def _failed(self, rel: str, code: str, message: str) -> None:
        self.failures.append(Failure(rel, code, message))
        self.tally.upload_failed += 1
        self.progress.show(self.tally)

    def _take(self, n: int) -> list[str]:
        taken, self._pending = self._pending[:n], self._pending[n:]
        return taken

    async def _attach(self, client: AsyncOpenAI, store_id: str, file_ids: list[str]) -> None:
        from openai import APIError
        from openai.types.vector_stores import file_batch_create_params

        if not file_ids:
            return
        files: list[file_batch_create_params.File] = []
        for file_id in file_ids:
            entry: file_batch_create_params.File = {"file_id": file_id}
            if len(self.paths[file_id]) <= MAX_ATTRIBUTE:
                entry["attributes"] = {"path": self.paths[file_id]}
            files.append(entry)
        try:
            batch = await client.vector_stores.file_batches.create(store_id, files=files)
        except APIError as exc:
            code, message = _error_text(exc)
            for file_id in file_ids:
                self._failed(self.paths[file_id], code, f"not attached: {message}")
            return
        self.batches[batch.id] = len(file_ids)

    async def _poll_while_uploading(self, client: AsyncOpenAI, store_id: str) -> None:
        from openai import APIError

        while True:
            await asyncio.sleep(POLL_SECONDS)
            with contextlib.suppress(APIError):  # only the display waits for the next poll
                await self._poll(client, store_id)
            self.progress.show(self.tally)

    async def _poll(self, client: AsyncOpenAI, store_id: str) -> int:
        """Refresh the counts from the batches and the store; how many files are still in progress."""
        in_progress = 0
        for batch_id in list(self.batches):
            batch = await client.vector_stores.file_batches.retrieve(batch_id, vector_store_id=store_id)
            c = batch.file_counts
            self._counts[batch_id] = (c.completed, c.failed, c.cancelled)
            in_progress += c.in_progress
        self.tally.completed = sum(c[0] for c in self._counts.values())
        self.tally.failed = sum(c[1] for c in self._counts.values())
        self.tally.cancelled = sum(c[2] for c in self._counts.values())
        store = await client.vector_stores.retrieve(store_id)
        self.tally.usage_bytes = max(store.usage_bytes - self._usage_before, 0)
        return in_progress

    async def _wait(self, client: AsyncOpenAI, store_id: str) -> bool:
        """Poll until no file is in progress (False) or ``--timeout`` passes (True)."""
        deadline = None if self.o.timeout is None else time.monotonic() + self.o.timeout
        while await self._poll(client, store_id):
            self.progress.show(self.tally)
            if deadline is not None and time.monotonic() >= deadline:
                return True
            await asyncio.sleep(POLL_SECONDS)
        return False

    async def _final_counts(self, client: AsyncOpenAI, store_id: str) -> None:
        """Each attached file's own status (``vector_stores.file_batches.list_files``): the failures with their
        ``last_error``, the ones still in progress, and the bytes indexed for these files."""
        completed = failed = cancelled = usage = 0
        for batch_id in self.batches:
            pages = client.vector_stores.file_batches.list_files(batch_id, vector_store_id=store_id, limit=100)
            async for f in pages:
                rel = self.paths.get(f.id, f.id)
                usage += f.usage_bytes
                if f.status == "completed":
                    completed += 1
                elif f.status == "in_progress":
                    self.failures.append(Failure(rel, "in_progress", "still being ingested when --timeout ran out"))
                else:
                    failed += f.status == "failed"
                    cancelled += f.status == "cancelled"
                    error = f.last_error
                    code, message = (error.code, error.message) if error else (f.status, "")
                    self.failures.append(Failure(rel, code, message))
        self.tally.completed, self.tally.failed, self.tally.cancelled = completed, failed, cancelled
        self.tally.usage_bytes = usage

    def _report(self, store_id: str, name: str, timed_out: bool) -> int:
        t = self.tally
        elapsed = time.monotonic() - t.started
        counts = [f"{t.completed} completed"]
        counts += [f"{n} {label}" for n, label in ((t.failed, "failed"), (t.cancelled, "cancelled")) if n]
        if t.upload_failed:
            counts.append(f"{t.upload_failed} not uploaded")
        still = sum(1 for f in self.failures if f.code == "in_progress")
        if still:
            counts.append(f"{still} still in progress")
        label = f"{store_id} ({name})" if name else store_id
        print(
            f"vector store {label}: {t.total} files, {', '.join(counts)}; {size(t.usage_bytes)} indexed "
            f"in {elapsed:.1f} s ({t.done / elapsed if elapsed > 0 else 0.0:.1f} files/s)",
            file=self.out,
        )
        if self.failures:
            print(f"failed ({len(self.failures)}):", file=self.out)
            for f in sorted(self.failures, key=lambda f: f.path):
                print(f"  {f.path}: {f.code}: {f.message}" if f.message else f"  {f.path}: {f.code}", file=self.out)
        if timed_out:
            print(f"stopped waiting after {self.o.timeout:g} s: the rest keeps ingesting on the server", file=self.out)
        return 1 if self.failures else 0
