"""The OpenAPI document is the API: every status, media type and body shape that a route
has is declared, and every out-of-range value is a 4xx.

Schemathesis (``--checks all``) runs against a real ``hpo serve``; the plain tests below
pin the fixes it led to, one behaviour each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from hpo.service import create_app, serving_in_thread
from tests.conftest import ROOT

SPACE = {"quality": {"type": "float", "low": 0.1, "high": 1.0}}
TOO_BIG = "11098115315649323517083648"  # past SQLite's 64-bit INTEGER


@pytest.mark.parametrize("guard", ["loopback", "token"])
def test_openapi_schemathesis_finds_nothing_against_a_real_server(
    server, tmp_path, capsys, guard
) -> None:
    """About a thousand requests, every check, a fixed sequence (deterministic generation).

    On loopback the server takes no token (Schemathesis sends this machine's Host and no
    Origin, so the cross-site guard lets it in); with ``--auth`` every request carries the
    token, and the ``ignored_auth`` check sends some without it.
    """
    s = server("--auth") if guard == "token" else server()
    auth = []
    if guard == "token":
        auth = ["-H", f"Authorization: Bearer {(tmp_path / 's.db.token').read_text().strip()}"]
    har = tmp_path / "schemathesis.har"
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli",
         "--config-file", str(ROOT / "tests" / "openapi" / "schemathesis.toml"),
         "run", f"{s.url}/openapi.json", "--checks", "all", "--max-examples", "25",
         "--generation-deterministic", "--workers", "1",
         "--continue-on-failure", "--no-color", "--report", "har", "--report-har-path", str(har),
         *auth],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    statuses: dict[int, int] = {}
    for entry in entries:
        code = entry["response"]["status"]
        statuses[code] = statuses.get(code, 0) + 1
    summary = [line for line in run.stdout.splitlines() if "generated" in line or "passed" in line]
    with capsys.disabled():  # shown in the suite's output, not only when the test fails
        print(f"\nschemathesis ({guard}): {len(entries)} requests, statuses {dict(sorted(statuses.items()))}; "
              f"{summary[-1].strip() if summary else run.stdout[-200:]}")  # fmt: skip
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
    assert len(entries) >= 900
    assert "Traceback" not in s.stop()


# -- what the run found, pinned one by one ---------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[httpx.Client]:
    """A served app in this process, with one study whose first trial is assigned."""
    db = tmp_path_factory.mktemp("openapi") / "s.db"
    with serving_in_thread(create_app(str(db))) as url, httpx.Client(base_url=url) as http:
        created = http.post("/api/studies", json={"name": "s", "space": SPACE,
                                                   "settings": {"max_epochs": 9}})  # fmt: skip
        assert created.status_code == 201, created.text
        yield http


def _refused(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()["error"]


@pytest.mark.parametrize(
    "path",
    [f"/api/studies/s/delta?events={TOO_BIG}", f"/api/studies/s/delta?epochs={TOO_BIG}",
     f"/api/studies/s/trials/{TOO_BIG}", f"/api/studies/s/trials/{TOO_BIG}/checkpoint",
     "/api/studies/s/delta?trials=inf"],
)  # fmt: skip
def test_openapi_out_of_range_numbers_are_refused_not_crashes(api, path) -> None:
    _refused(api.get(path), 422)


def test_openapi_out_of_range_trial_in_a_write_is_refused(api) -> None:
    body = {"lease": "x", "epoch": 1, "metrics": {}}
    _refused(api.post(f"/api/studies/s/trials/{TOO_BIG}/measurements", json=body), 422)
    r = api.put("/api/studies/s/trials/0/checkpoint", params={"lease": "x", "epoch": TOO_BIG},
                content=b"x")  # fmt: skip
    _refused(r, 422)


def test_openapi_undeclared_methods_get_405_with_every_allowed_method(api) -> None:
    r = api.post("/api/studies/s/trials/0/checkpoint")  # no Content-Type: still a 405, not a 403
    assert "Method Not Allowed: POST" in _refused(r, 405)
    assert r.headers["allow"] == "GET, PUT"
    r = api.post("/api/health")
    _refused(r, 405)
    assert r.headers["allow"] == "GET"
    assert api.delete("/api/studies").headers["allow"] == "GET, POST"


def test_openapi_writes_to_real_routes_still_need_a_json_content_type(api) -> None:
    r = api.post("/api/studies/s/stop", content=b"", headers={"Content-Type": "text/plain"})
    assert "Content-Type" in _refused(r, 403)


def test_openapi_a_body_that_is_not_utf8_is_invalid_json(api) -> None:
    r = api.post(
        "/api/studies", content=b"\t=\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in _refused(r, 422)


def test_openapi_integers_are_json_schema_integers(api) -> None:
    """JSON Schema's integer 2.0 is an integer; text and booleans are not."""
    a = api.post("/api/studies/s/suggest", json={"client_id": "c"}).json()
    trial = f"/api/studies/s/trials/{a['trial_id']}/measurements"
    for epoch in ("1", True, 1.5):
        body = {"lease": a["lease"], "epoch": epoch, "metrics": {"val_accuracy": 0.5}}
        _refused(api.post(trial, json=body), 422)
    body = {"lease": a["lease"], "epoch": 1.0, "metrics": {"val_accuracy": 0.5}}
    assert api.post(trial, json=body).status_code == 200


@pytest.mark.parametrize(
    "change",
    [{"managed": "yes"}, {"settings": {"stop_only": "no"}}, {"settings": {"metric": 5}},
     {"settings": {"trial_timeout": True}}, {"space": 5}, {"settings": {"stopping": [{"rule": {}}]}}],
)  # fmt: skip
def test_openapi_study_fields_of_the_wrong_type_are_refused(api, change) -> None:
    body = {"name": "typed", "space": SPACE, "settings": {"max_epochs": 3}, **change}
    _refused(api.post("/api/studies", json=body), 422)


def test_openapi_document_declares_statuses_and_media_types(api) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    export = paths["/api/studies/{name}/export"]["get"]["responses"]
    assert {"text/csv", "application/vnd.apache.parquet"} <= set(export["200"]["content"])
    checkpoint = paths["/api/studies/{name}/trials/{trial_id}/checkpoint"]
    assert set(checkpoint["get"]["responses"]["200"]["content"]) == {"application/octet-stream"}
    assert "application/octet-stream" in checkpoint["put"]["requestBody"]["content"]
    suggest = paths["/api/studies/{name}/suggest"]["post"]["responses"]
    assert {"200", "204", "403", "404", "409", "410", "422"} <= set(suggest)
    error = suggest["410"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorOut"}
    space = api.get("/openapi.json").json()["components"]["schemas"]["StudyIn"]["properties"]
    assert space["space"]["anyOf"][1]["minProperties"] == 1
    assert space["settings"]["additionalProperties"] is False


def test_openapi_declares_the_token_only_when_the_server_has_one(tmp_path) -> None:
    with serving_in_thread(create_app(str(tmp_path / "s.db"), token="secret")) as url:
        document = httpx.get(
            url + "/openapi.json", headers={"Authorization": "Bearer secret"}
        ).json()
    studies = document["paths"]["/api/studies"]["get"]
    assert studies["security"] == [{"bearer": []}] and "401" in studies["responses"]
    health = document["paths"]["/api/health"]["get"]
    assert "security" not in health and "401" not in health["responses"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    with serving_in_thread(create_app(str(tmp_path / "t.db"))) as url:
        document = httpx.get(url + "/openapi.json").json()
    assert "securitySchemes" not in document["components"]
    assert "401" not in document["paths"]["/api/studies"]["get"]["responses"]


def test_openapi_settings_schema_names_every_setting_and_takes_what_the_server_takes() -> None:
    """The document's settings are SearchSettings' own: nothing missing, nothing extra, and
    what the server accepts (a conditional space, min_resources 'exhaust') is valid."""
    import dataclasses

    import jsonschema
    import yaml

    from hpo.service._schemas import SETTING_SCHEMAS, SETTINGS_SCHEMA
    from hpo.settings import SearchSettings

    assert set(SETTING_SCHEMAS) == {f.name for f in dataclasses.fields(SearchSettings)}
    space = yaml.safe_load((ROOT / "search_spaces" / "mlp_conditional.yaml").read_text())["space"]
    settings = {"space": space, "min_resources": "exhaust", "resource": "samples",
                "working_dir": None, "wait_for_workers": 5}  # fmt: skip
    jsonschema.validate(settings, SETTINGS_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"min_resources": "most"}, SETTINGS_SCHEMA)
