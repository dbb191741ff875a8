"""docs/conductor-api.md lists every route conductor-python 2.0.0 calls (Conductor's and Orkes'),
each as served, served with a difference, or not served; the app agrees with the list."""

from __future__ import annotations

import re
from pathlib import Path

import conductor.client.http.api as sdk_api
from fastapi import FastAPI
from starlette.routing import Route

from podium.app import create_app
from podium.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "conductor-api.md"
ROW = re.compile(r"^\| `(GET|POST|PUT|DELETE|PATCH)` \| `([^`]+)` \| ([^|]+) \|")


def template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def sdk_routes() -> set[tuple[str, str]]:
    """(method, path under /api) of every call in the SDK's generated HTTP clients."""
    found = set()
    for module in Path(sdk_api.__file__).parent.glob("*.py"):
        for path, method in re.findall(r"call_api\(\s*'([^']+)',\s*'(\w+)'", module.read_text()):
            found.add((method, path))
    return found


def documented() -> dict[tuple[str, str], str]:
    rows = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[(match.group(1), match.group(2))] = match.group(3).strip()
    return rows


def app_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """The routes of the fullest app: with `auth = keys` (which adds /api/token and /api/keys)."""
    app: FastAPI = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}", auth="keys"))
    return {(method, template(r.path)) for r in app.routes if isinstance(r, Route) for method in r.methods or ()}


def test_every_sdk_route_is_listed_once_with_what_podium_does() -> None:
    rows = documented()
    missing = sorted(sdk_routes() - set(rows))
    assert not missing, f"{len(missing)} SDK routes are not in docs/conductor-api.md: {missing}"
    for key, status in rows.items():
        assert status.startswith(("served", "not served")), (key, status)


def test_the_list_agrees_with_the_app(tmp_path: Path) -> None:
    routes = app_routes(tmp_path)
    wrong = []
    for (method, path), status in documented().items():
        routed = (method, template("/api" + path)) in routes
        if routed != status.startswith("served"):
            does = "serves" if routed else "does not serve"
            wrong.append(f"{method} {path}: listed '{status}', but the app {does} it")
    assert not wrong, "\n".join(wrong)
