"""OpenAI's list query parameters → ``PageParams``. Dependencies are ``async def`` so FastAPI runs them
on the loop rather than in its threadpool."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query

from assistantd.store._crud import PageParams


async def _page(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
    before: str | None = None,
) -> PageParams:
    return PageParams(limit=limit, order=order, after=after or None, before=before or None)


async def _files_page(
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> PageParams:
    return PageParams(limit=limit, order=order, after=after or None)


Page = Annotated[PageParams, Depends(_page)]
FilesPage = Annotated[PageParams, Depends(_files_page)]


async def _include(
    include_brackets: Annotated[list[str] | None, Query(alias="include[]")] = None,
    include: Annotated[list[str] | None, Query()] = None,
) -> list[str]:
    return [*(include_brackets or []), *(include or [])]


Include = Annotated[list[str], Depends(_include)]
"""``include[]`` in the SDK's bracket form, or plain repeated ``include``."""
