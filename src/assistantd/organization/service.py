"""Projects, service accounts and keys (the Administration API), and resolving a bearer key to its project.

Who may do what: the admin key (``ASSISTANTD_ADMIN_KEY`` or ``ASSISTANTD_ADMIN_KEY_FILE``) reaches only
``/v1/organization``; a project key, or a key of ``ASSISTANTD_API_KEYS`` (the default project), reaches
everything else, confined to its project (``store/scope.py``). With neither an admin key nor
``ASSISTANTD_API_KEYS`` set the server is open: any bearer key is the default project (single-tenant
mode, warned about at start-up), though a project key still means its own project.

Process-local: a small cache of resolved keys (``CACHE_SECONDS``), so a request costs no database read; a
key revoked in this process is dropped from it at once, one revoked in another process within that time.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistantd import ids
from assistantd.errors import InvalidRequest, NotFound, Unauthorized
from assistantd.organization import keys
from assistantd.organization import protocol as wire
from assistantd.organization.limits import Limits
from assistantd.settings import Settings
from assistantd.store import projects as q
from assistantd.store._crud import PageParams
from assistantd.store.db import Database
from assistantd.store.scope import DEFAULT_PROJECT
from assistantd.wire.common import list_page

CACHE_SECONDS = 2.0
TOUCH_SECONDS = 60
"""``last_used_at`` is written at most this often per key (a read must not become a write every time)."""
_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["admin", "project"]
    project_id: str | None
    key_id: str | None = None


ADMIN = Principal("admin", None)
DEFAULT = Principal("project", DEFAULT_PROJECT)


def admin_key(settings: Settings) -> str:
    """The admin key: the setting, else the first line of the file it names; empty when neither is set."""
    if settings.admin_key:
        return settings.admin_key.strip()
    if settings.admin_key_file is not None:
        return Path(settings.admin_key_file).read_text().strip()
    return ""


def _incorrect(token: str) -> Unauthorized:
    shown = token[:3] + "*" * 4 + token[-4:] if len(token) > 8 else "*" * len(token)
    return Unauthorized(
        f"Incorrect API key provided: {shown}. You can find your API key in your project's settings.",
        code="invalid_api_key",
    )


class Organization:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.admin = admin_key(settings)
        self.legacy = tuple(settings.api_key_set)
        self.open = not self.admin and not self.legacy
        self.limits = Limits(db, settings)
        self._cache: dict[str, tuple[q.KeyOwner | None, float]] = {}
        self._touched: dict[str, float] = {}

    # -- who a key is ---------------------------------------------------------------------------------

    async def resolve(self, token: str) -> Principal:
        """The principal a bearer key stands for, or a 401. Every comparison with a configured key is
        constant-time; stored keys are found by their digest."""
        if self.admin and hmac.compare_digest(token.encode(), self.admin.encode()):
            return ADMIN
        legacy = False
        for key in self.legacy:  # every key compared, whichever matches
            legacy |= hmac.compare_digest(token.encode(), key.encode())
        if legacy:
            return DEFAULT
        if token.startswith(keys.PREFIX):
            owner = await self._owner(keys.digest(token))
            if owner is not None:
                if owner.archived:
                    raise Unauthorized(
                        "The project this API key belongs to is archived: its keys no longer work.",
                        code="invalid_api_key",
                    )
                await self._touch(owner)
                return Principal("project", owner.project_id, owner.key_id)
        if self.open:
            return DEFAULT
        raise _incorrect(token)

    async def _owner(self, digest: str) -> q.KeyOwner | None:
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self.db.read() as conn:
            owner = await q.owner_of(conn, digest)
        if owner is not None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[digest] = (owner, now + CACHE_SECONDS)
        return owner

    async def _touch(self, owner: q.KeyOwner) -> None:
        now = time.time()
        last = self._touched.get(owner.key_id, owner.last_used_at or 0)
        if now - last < TOUCH_SECONDS:
            return
        self._touched[owner.key_id] = now
        async with self.db.write() as conn:
            await q.touch(conn, owner.key_id, int(now))

    def _forget(self) -> None:
        self._cache.clear()

    # -- projects -------------------------------------------------------------------------------------

    async def create_project(self, name: str) -> dict[str, Any]:
        project = q.ProjectRecord(ids.new_id("project"), name, int(time.time()), None)
        async with self.db.write() as conn:
            await q.projects.insert(conn, _fields(project))
        return wire.project(project)

    async def list_projects(self, page: PageParams, include_archived: bool) -> dict[str, Any]:
        async with self.db.read() as conn:
            found, more = await q.page_projects(conn, page, include_archived)
        return list_page([wire.project(p) for p in found], more)

    async def _project(self, project_id: str) -> q.ProjectRecord:
        async with self.db.read() as conn:
            found = await q.projects.get(conn, project_id)
        if found is None:
            raise NotFound(f"No project found with id '{project_id}'.", param="project_id")
        return found

    async def retrieve_project(self, project_id: str) -> dict[str, Any]:
        return wire.project(await self._project(project_id))

    async def modify_project(self, project_id: str, name: str) -> dict[str, Any]:
        found = await self._project(project_id)
        async with self.db.write() as conn:
            await q.projects.update(conn, project_id, {"name": name})
        return wire.project(q.ProjectRecord(found.id, name, found.created_at, found.archived_at))

    async def archive_project(self, project_id: str) -> dict[str, Any]:
        found = await self._project(project_id)
        if found.id == DEFAULT_PROJECT:
            raise InvalidRequest("The default project cannot be archived.", param="project_id")
        archived_at = found.archived_at or int(time.time())
        async with self.db.write() as conn:
            await q.projects.update(conn, project_id, {"archived_at": archived_at})
        self._forget()
        return wire.project(q.ProjectRecord(found.id, found.name, found.created_at, archived_at))

    # -- service accounts and their keys --------------------------------------------------------------

    async def create_service_account(self, project_id: str, name: str) -> dict[str, Any]:
        project = await self._project(project_id)
        if project.archived_at is not None:
            raise InvalidRequest(f"Project '{project_id}' is archived.", param="project_id")
        now = int(time.time())
        account = q.ServiceAccountRecord(ids.new_id("service_account"), project_id, name, "member", now, None)
        value = keys.new_key()
        key = q.ApiKeyRecord(ids.new_id("api_key"), project_id, account.id, name, keys.redacted(value), now, None, None)
        async with self.db.write() as conn:
            await q.service_accounts.insert(conn, {**_fields(account)})
            await q.api_keys.insert(conn, {**_fields(key), "digest": keys.digest(value)})
        return wire.created_service_account(account, key, value)

    async def _account(self, project_id: str, account_id: str) -> q.ServiceAccountRecord:
        await self._project(project_id)
        async with self.db.read() as conn:
            found = await q.service_accounts.get(conn, account_id)
        if found is None or found.project_id != project_id or found.deleted_at is not None:
            raise NotFound(f"No service account found with id '{account_id}'.", param="service_account_id")
        return found

    async def list_service_accounts(self, project_id: str, page: PageParams) -> dict[str, Any]:
        await self._project(project_id)
        async with self.db.read() as conn:
            found, more = await q.page_accounts(conn, page, project_id)
        return list_page([wire.service_account(a) for a in found], more)

    async def retrieve_service_account(self, project_id: str, account_id: str) -> dict[str, Any]:
        return wire.service_account(await self._account(project_id, account_id))

    async def delete_service_account(self, project_id: str, account_id: str) -> dict[str, Any]:
        await self._account(project_id, account_id)
        now = int(time.time())
        async with self.db.write() as conn:
            await q.service_accounts.update(conn, account_id, {"deleted_at": now})
            await q.revoke_account_keys(conn, account_id, now)
        self._forget()
        return wire.deleted("service_account", account_id)

    async def _key(self, project_id: str, key_id: str) -> q.ApiKeyRecord:
        await self._project(project_id)
        async with self.db.read() as conn:
            found = await q.api_keys.get(conn, key_id)
        if found is None or found.project_id != project_id or found.revoked_at is not None:
            raise NotFound(f"No API key found with id '{key_id}'.", param="key_id")
        return found

    async def list_keys(self, project_id: str, page: PageParams) -> dict[str, Any]:
        await self._project(project_id)
        async with self.db.read() as conn:
            found, more = await q.page_keys(conn, page, project_id)
            owners = {k.service_account_id: await q.service_accounts.get(conn, k.service_account_id) for k in found}
        return list_page([wire.api_key(k, owners[k.service_account_id]) for k in found], more)

    async def retrieve_key(self, project_id: str, key_id: str) -> dict[str, Any]:
        key = await self._key(project_id, key_id)
        async with self.db.read() as conn:
            owner = await q.service_accounts.get(conn, key.service_account_id)
        return wire.api_key(key, owner)

    async def delete_key(self, project_id: str, key_id: str) -> dict[str, Any]:
        await self._key(project_id, key_id)
        async with self.db.write() as conn:
            await q.api_keys.update(conn, key_id, {"revoked_at": int(time.time())})
        self._forget()
        return wire.deleted("api_key", key_id)

    # -- the CLI's ``keys create`` ---------------------------------------------------------------------

    async def create_key_for(self, project_name: str, account_name: str) -> tuple[str, str]:
        """A new service account and key in the unarchived project named ``project_name`` (made if there is
        none): ``(project_id, key)``."""
        project_id = await self.project_named(project_name)
        created = await self.create_service_account(project_id, account_name)
        return project_id, str(created["api_key"]["value"])

    async def project_named(self, name: str) -> str:
        """The ID of the unarchived project named ``name``, made if there is none (the CLI's ``--project``)."""
        async with self.db.read() as conn:
            found = await q.by_name(conn, name)
        return found.id if found is not None else str((await self.create_project(name))["id"])


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}
