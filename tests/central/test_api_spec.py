"""docs/central-api.yaml is a valid OpenAPI document, and every request the station's client
sends and every answer the local central gives in a full session conforms to it."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource

from kiosk.store import RecordState
from kiosk.sync.client import CentralRefused, CentralUnavailable
from kiosk.sync.worker import request_deletion
from tests.central.conftest import enroll
from tests.conftest import ROOT, resident

SPEC_PATH = ROOT / "docs" / "central-api.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["info"]["version"].startswith("1.") and all(p.startswith(("/v1/", "/admin/")) for p in spec["paths"])


class Conformance:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry = Registry().with_resource("urn:spec", Resource.opaque(spec))
        self.routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in spec["paths"]]
        self.seen: set[tuple[str, str, int]] = set()

    def schema(self, ref_holder: dict[str, Any]) -> Draft202012Validator:
        if "$ref" in ref_holder and ref_holder["$ref"].startswith("#/components/responses/"):
            ref_holder = self.spec["components"]["responses"][ref_holder["$ref"].rsplit("/", 1)[1]]
        return ref_holder

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        text = json.dumps(schema).replace('"#/components', '"urn:spec#/components')
        return Draft202012Validator(json.loads(text), registry=self.registry)

    def check(self, request: httpx.Request, response: httpx.Response) -> None:
        path = request.url.path
        template = next((t for rx, t in self.routes if rx.match(path)), None)
        assert template is not None, f"{path} not in the spec"
        op = self.spec["paths"][template].get(request.method.lower())
        assert op is not None, f"{request.method} {template} not in the spec"
        for param in op.get("parameters", []) + self.spec["paths"][template].get("parameters", []):
            if param["in"] == "query" and param.get("required"):
                assert param["name"] in request.url.params, f"{template}: query {param['name']} missing"
            if param["in"] == "header" and param.get("required"):
                assert param["name"] in request.headers, f"{template}: header {param['name']} missing"
        if "requestBody" in op:
            ctype = request.headers.get("Content-Type", "")
            content = op["requestBody"]["content"]
            assert ctype in content, f"{template}: request content type {ctype}"
            if ctype == "application/json":
                self.validator(content[ctype]["schema"]).validate(json.loads(request.content))
        status = str(response.status_code)
        assert status in op["responses"], f"{request.method} {template}: status {status} not documented"
        answer = self.schema(op["responses"][status])
        for name, header in answer.get("headers", {}).items():
            if header.get("required"):
                assert name in response.headers, f"{template}: response header {name} missing"
        if request.method != "HEAD" and "content" in answer:
            self.validator(answer["content"]["application/json"]["schema"]).validate(response.json())
        self.seen.add((request.method, template, response.status_code))


def test_client_and_local_central_conform_to_the_spec(spec, make_station, central) -> None:  # type: ignore[no-untyped-def]
    conf = Conformance(spec)
    a = make_station("ST-A", on_exchange=conf.check)
    b = make_station("ST-B", on_exchange=conf.check)
    first = enroll(a.store, resident(21))
    rejected = enroll(a.store, resident(22, occupation=""))
    a.worker.run_once()
    second = enroll(b.store, resident(21))
    b.worker.run_once()
    assert b.store.get(second).state is RecordState.DUPLICATE
    request_deletion(b.store, second, reason="moved", actor="op")
    b.worker.run_once()
    b.worker.run_once()
    assert b.store.get(second).state is RecordState.APPROVED
    assert a.store.get(rejected).state is RecordState.REJECTED
    b.client.request_reprint(second, "ribbon broke")
    # resume and replay paths
    resumed = enroll(a.store, resident(23))
    row = a.worker.ensure_packet(resumed)
    up = a.client.create_upload(resumed, 1, row.length, row.sha256)
    a.client.create_upload(resumed, 1, row.length, row.sha256)  # 200: exists
    a.client.send_chunk(up.url, 0, row.packet[:100])
    a.client.upload_offset(up.url)
    with pytest.raises(CentralRefused) as err:
        a.client.send_chunk(up.url, 0, row.packet[:100])
    assert err.value.code == "upload.offset_mismatch" and err.value.params["offset"] == 100
    a.worker.run_once()
    assert a.client.create_upload(first, 1, 10, "0" * 64).complete  # re-sealed replay: already complete
    with pytest.raises(CentralRefused) as err:
        b.client.create_upload(first, 1, 10, "0" * 64)  # another station's record id
    assert (err.value.code, err.value.status) == ("upload.forbidden", 403)
    central.faults.set(rate=1.0, kinds=["5xx"])
    with pytest.raises(CentralUnavailable):
        a.client.decisions(0)
    central.faults.set(rate=0.0)
    seen = {(m, t) for m, t, _ in conf.seen}
    assert {("POST", "/v1/uploads"), ("HEAD", "/v1/uploads/{record_id}/{submission}"),
            ("PATCH", "/v1/uploads/{record_id}/{submission}"), ("GET", "/v1/decisions"),
            ("POST", "/v1/deletion-requests"), ("GET", "/v1/deletion-requests/{request_id}"),
            ("POST", "/v1/reprint-requests")} <= seen
    assert {409, 503, 201, 200} <= {s for _, _, s in conf.seen}


def test_conformance_check_catches_an_answer_that_breaks_the_spec(spec, make_station) -> None:  # type: ignore[no-untyped-def]
    import copy

    from jsonschema import ValidationError

    stricter = copy.deepcopy(spec)
    stricter["components"]["schemas"]["UploadInfo"]["required"].append("expires_at")
    conf = Conformance(stricter)
    st = make_station(on_exchange=conf.check)
    rid = enroll(st.store, resident(31))
    row = st.worker.ensure_packet(rid)
    with pytest.raises(ValidationError):
        st.client.create_upload(rid, 1, row.length, row.sha256)


def test_admin_fault_endpoint_conforms_and_takes_effect(spec, central) -> None:  # type: ignore[no-untyped-def]
    conf = Conformance(spec)
    with httpx.Client(base_url=central.url, event_hooks={"response": [lambda r: (r.read(), conf.check(r.request, r))]}) as c:
        r = c.put("/admin/faults", json={"rate": 1.0, "kinds": ["5xx"], "latency_s": 0.0})
        assert r.status_code == 200 and r.json()["rate"] == 1.0
        assert c.get("/v1/decisions?station=x").status_code == 503  # every request fails now
        assert c.get("/admin/faults").json()["injected"]["5xx"] == 1
        assert httpx.put(f"{central.url}/admin/faults", json={"kinds": ["meteor"]}).status_code == 400
        assert "BEGIN PUBLIC KEY" in c.get("/admin/keys").json()["signing_key"]
        assert c.get("/admin/counts").json()["records"] == 0
        c.put("/admin/faults", json={"rate": 0.0, "outage_s": 30})
    with pytest.raises(httpx.TransportError):  # total outage: connections are reset
        httpx.get(f"{central.url}/v1/health", timeout=2)
