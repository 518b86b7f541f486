import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/organizations" in response.json()["paths"]
