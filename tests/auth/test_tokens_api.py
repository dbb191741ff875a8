"""Tokens: POST /api/token, and what a missing, bad, expired or revoked token gets in each dialect."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest

from podium.auth.principal import Role
from tests.auth.support import Secured, secured_app


@pytest.fixture
async def secured(db_url: str) -> AsyncIterator[Secured]:
    async with secured_app(db_url) as found:
        yield found


async def test_a_key_gets_a_token_that_opens_the_api(secured: Secured) -> None:
    key_id, secret = secured.secrets[Role.VIEWER]
    response = await secured.client.post("/api/token", json={"keyId": key_id, "keySecret": secret})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert (await secured.client.get("/api/metadata/taskdefs", headers={"X-Authorization": token})).status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await secured.client.get("/api/metadata/taskdefs", headers=bearer)).status_code == 200


async def test_wrong_secret_and_unknown_key_get_the_same_answer(secured: Secured) -> None:
    key_id, _ = secured.secrets[Role.ADMIN]
    wrong = await secured.client.post("/api/token", json={"keyId": key_id, "keySecret": "nope"})
    unknown = await secured.client.post("/api/token", json={"keyId": "no-such-key", "keySecret": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert {k: v for k, v in wrong.json().items() if k != "instance"} == \
        {k: v for k, v in unknown.json().items() if k != "instance"}
    assert wrong.json()["error"] not in ("INVALID_TOKEN", "EXPIRED_TOKEN")  # the SDK would loop refreshing


@pytest.mark.parametrize("headers", [{}, {"X-Authorization": "not-a-jwt"}, {"Authorization": "Bearer x.y.z"}])
async def test_no_token_or_a_malformed_one_is_a_401(secured: Secured, headers: dict[str, str]) -> None:
    response = await secured.client.get("/api/metadata/workflow", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and body["message"]
    if headers:
        assert body["error"] == "INVALID_TOKEN"


async def test_forged_tokens_are_refused(secured: Secured) -> None:
    claims = {"iss": "podium", "sub": secured.secrets[Role.ADMIN][0], "name": "x", "role": "admin",
              "iat": int(time.time()), "exp": time.time() + 60}
    other_secret = jwt.encode(claims, "another-signing-key-of-enough-length-000", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (other_secret, unsigned):
        response = await secured.client.get("/api/metadata/workflow", headers={"X-Authorization": token})
        assert response.status_code == 401 and response.json()["error"] == "INVALID_TOKEN"


async def test_an_expired_token_says_so_in_the_word_the_sdks_read(db_url: str) -> None:
    async with secured_app(db_url, token_ttl_s=1) as secured:
        time.sleep(1.1)
        response = await secured.client.get("/api/metadata/workflow", headers=secured.as_role(Role.ADMIN))
        assert response.status_code == 401
        assert response.json()["error"] == "EXPIRED_TOKEN"


async def test_a_revoked_keys_token_stops_working(secured: Secured) -> None:
    key_id, _ = secured.secrets[Role.OPERATOR]
    headers = secured.as_role(Role.OPERATOR)
    assert (await secured.client.get("/api/metadata/workflow", headers=headers)).status_code == 200
    revoked = await secured.client.delete(f"/api/keys/{key_id}", headers=secured.as_role(Role.ADMIN))
    assert revoked.status_code == 200
    response = await secured.client.get("/api/metadata/workflow", headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "INVALID_TOKEN"
    secret = secured.secrets[Role.OPERATOR][1]
    again = await secured.client.post("/api/token", json={"keyId": key_id, "keySecret": secret})
    assert again.status_code == 401


async def test_a_role_without_the_right_gets_a_403(secured: Secured) -> None:
    response = await secured.client.post("/api/metadata/taskdefs", json=[{"name": "t"}],
                                         headers=secured.as_role(Role.VIEWER))
    assert response.status_code == 403
    assert "viewer" in response.json()["message"]


@pytest.mark.parametrize(("method", "path", "shape"), [
    ("POST", "/v1/tasks/list.r3", lambda b: b["error"]["type"] and b["error"]["message"]),
    ("GET", "/api/containers", lambda b: b["status"] == 401 and b["message"]),
    ("GET", "/processes", lambda b: b["id"] == "unauthorized" and b["message"]),
    ("GET", "/api/processes", lambda b: b["localizedMessage"] and b["url"] == "/api/processes"),
])
async def test_each_dialect_refuses_in_its_own_shape(secured: Secured, method: str, path: str, shape: object) -> None:
    response = await secured.client.request(method, path, headers={"X-Authorization": "bad"}, json={})
    assert response.status_code == 401
    assert shape(response.json())  # type: ignore[operator]


async def test_login_attempts_are_slowed_per_address(db_url: str) -> None:
    async with secured_app(db_url, login_attempts=3) as secured:
        for _ in range(3):
            response = await secured.client.post("/api/token", json={"keyId": "k", "keySecret": "s"})
            assert response.status_code == 401
        response = await secured.client.post("/api/token", json={"keyId": "k", "keySecret": "s"})
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
        key_id, secret = secured.secrets[Role.ADMIN]  # even the right secret waits
        response = await secured.client.post("/api/token", json={"keyId": key_id, "keySecret": secret})
        assert response.status_code == 429


async def test_health_and_docs_need_no_token(secured: Secured) -> None:
    for path in ("/health", "/api/health", "/openapi.json"):
        assert (await secured.client.get(path)).status_code == 200, path


async def test_with_auth_off_the_token_route_is_absent(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/token", json={"keyId": "k", "keySecret": "s"})
    assert response.status_code == 404


async def test_a_database_that_cannot_be_read_gets_a_503_not_a_bare_500(tmp_path: Path) -> None:
    async with secured_app(f"sqlite:///{tmp_path}/podium.db") as secured:
        await secured.app.state.store.close()  # the key's state can no longer be read
        response = await secured.client.get("/api/metadata/workflow", headers=secured.as_role(Role.ADMIN))
        assert response.status_code == 503, response.text
        assert response.json()["retryable"] is True


async def test_the_key_api_refuses_bad_input_in_conductors_shape(secured: Secured) -> None:
    admin = secured.as_role(Role.ADMIN)
    unknown_role = await secured.client.post("/api/keys", json={"role": "root"}, headers=admin)
    assert unknown_role.status_code == 400 and "Unknown role" in unknown_role.json()["message"]
    no_role = await secured.client.post("/api/keys", json={"name": "x"}, headers=admin)
    assert no_role.status_code == 400 and no_role.json()["validationErrors"]
    missing = await secured.client.delete("/api/keys/no-such-key", headers=admin)
    assert missing.status_code == 404 and missing.json()["message"] == "No API key no-such-key"
    not_json = await secured.client.post("/api/token", content=b"keyId=a", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415
