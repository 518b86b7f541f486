"""Every operation of the OpenAPI schema documents its error answers (issue 22), and the schema is
still a valid OpenAPI 3.1 document."""

from __future__ import annotations

import pytest
import schemathesis

from portal.api import api

# Operations that take nothing from the client (no parameter, no body, no credentials) cannot answer a
# client error; they document the outage answer (503) only.
NO_INPUT = {
    "GET /api/v1/health",
    "GET /api/v1/registry/jwks",
    "GET /api/v1/registry/cert.pem",
    "GET /api/v1/platform/ping",
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return api.get_openapi_schema(path_prefix="/api/v1/")


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", method, operation


def test_every_operation_documents_its_errors(schema):
    missing = []
    for name, _method, operation in _operations(schema):
        statuses = {str(status) for status in operation["responses"]}
        client_errors = {s for s in statuses if s.startswith("4")}
        takes_input = operation.get("parameters") or "requestBody" in operation or operation.get("security")
        if (takes_input or name not in NO_INPUT) and not client_errors:
            missing.append(name)
        if "503" not in statuses:
            missing.append(f"{name} (503)")
        if operation.get("security") and not {"401", "403"} <= statuses:
            missing.append(f"{name} (401/403)")
        if any(p.get("in") == "path" for p in operation.get("parameters", [])) and "404" not in statuses:
            missing.append(f"{name} (404)")
    assert not missing
    assert len(list(_operations(schema))) > len(NO_INPUT) * 5


def test_documented_errors_have_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "code"]
    for name, _method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if str(status).startswith("4") and "content" in response:
                body = response["content"]["application/json"]["schema"]
                assert body, name


def test_the_schema_is_a_valid_openapi_document(client):
    served = client.get("/api/v1/openapi.json").json()
    assert {"400", "404", "409", "422"} <= set(
        served["paths"]["/api/v1/invoices/{invoice_id}/issue"]["post"]["responses"]
    )
    loaded = schemathesis.openapi.from_dict(served)
    loaded.validate()  # against the OpenAPI meta-schema schemathesis ships (offline)
    assert len(list(loaded.get_all_operations())) == sum(len(ops) for ops in served["paths"].values())
