"""The docs are a contract: settings, routes and the public surface are all documented and pinned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts

import assistantd
from assistantd import Settings, create_app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SETTINGS_DOC = ROOT / "docs" / "settings.md"
STATUSES = {"supported", "partial", "not yet"}
# | GET | `/v1/threads/{thread_id}/messages` | supported | notes |
ROW = re.compile(r"^\|\s*(GET|POST|DELETE|PUT|PATCH)\s*\|\s*`([^`]+)`\s*\|\s*([a-z ]+?)\s*\|")


def normalise(path: str) -> str:
    """Drop Starlette converters: ``/v1/models/{model:path}`` → ``/v1/models/{model}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def compatibility_table() -> dict[tuple[str, str], str]:
    rows: dict[tuple[str, str], str] = {}
    for line in README.read_text().splitlines():
        m = ROW.match(line)
        if m:
            method, path, status = m.groups()
            assert status in STATUSES, f"README row {method} {path}: unknown status {status!r}"
            assert (method, path) not in rows, f"README lists {method} {path} twice"
            rows[method, path] = status
    assert rows, "README.md has no compatibility table"
    return rows


def mounted_routes(tmp_path: Path) -> set[tuple[str, str]]:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or not (path.startswith("/v1/") or path == "/health"):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                routes.add((method, normalise(path)))
    return routes


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_documented(field: str) -> None:
    assert f"`ASSISTANTD_{field.upper()}`" in SETTINGS_DOC.read_text(), (
        f"Settings.{field} is not documented in docs/settings.md as `ASSISTANTD_{field.upper()}`"
    )


def test_every_mounted_route_is_in_the_compatibility_table(tmp_path: Path) -> None:
    table = compatibility_table()
    missing = sorted(mounted_routes(tmp_path) - table.keys())
    assert not missing, f"mounted but missing from README's compatibility table: {missing}"


def test_every_supported_row_is_mounted(tmp_path: Path) -> None:
    mounted = mounted_routes(tmp_path)
    claimed = {key for key, status in compatibility_table().items() if status != "not yet"}
    unmounted = sorted(claimed - mounted)
    assert not unmounted, f"README says supported/partial, but no such route is mounted: {unmounted}"


def test_mounted_routes_are_found(tmp_path: Path) -> None:
    """Guards the route walk itself: if FastAPI's route tree changes shape, the checks above go blind."""
    mounted = mounted_routes(tmp_path)
    assert ("POST", "/v1/assistants") in mounted
    assert ("GET", "/v1/threads/{thread_id}/messages") in mounted
    assert ("GET", "/health") in mounted


def test_public_surface_is_pinned() -> None:
    assert sorted(assistantd.__all__) == ["BlobStore", "Embedder", "SearchIndex", "Settings", "create_app"]
    for name in assistantd.__all__:
        assert getattr(assistantd, name) is not None
