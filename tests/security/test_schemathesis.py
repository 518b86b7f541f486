"""Schemathesis over the whole OpenAPI schema, against the live server, as part of every CI run (issue 20).

Every operation of /api/v1/openapi.json (the integration API with a staff write token, the platform
API, the registry token server, health) gets the schema's examples, the coverage phase (boundary and
hostile values derived from each parameter: huge integers, nulls, wrong types, Unicode digits, missing
fields) and a bounded fuzzing phase, from a fixed seed, so a run is reproducible. The one check is the
one the issue asks for: no response is a server error. The database holds a little of everything, so
generated ids sometimes hit real rows (contracts 1…, invoices, a license), not only 404s.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from portal.api import api
from tests.conftest import requires_postgres

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, requires_postgres]

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")  # seed, phases, examples per operation, the check


@pytest.fixture
def api_data(write_token: str, staff_user: Any) -> dict[str, Any]:
    """A little of everything the API addresses: organizations, draft and active contracts, an
    activation code, a deployment with its license, draft and issued invoices, a payment."""
    from decimal import Decimal

    from billing import services as billing
    from tests.billing.factories import chinese_organization, draft_invoice, issued_invoice
    from tests.factories import ContractFactory
    from tests.licenses.factories import activate, active_contract

    organization = chinese_organization()
    ContractFactory(organization=organization, status="draft", activated_at=None)
    contract = active_contract(organization=organization)
    license = activate(contract).license
    draft_invoice(organization=organization)
    issued = issued_invoice(organization=organization)
    billing.payment_record(
        actor=staff_user,
        method="bank_transfer",
        amount=Decimal("100.00"),
        currency="CNY",
        received_at=None,
        payer_name=organization.name,
        payer_account="",
        reference="",
        memo="",
        allocations=[(issued, Decimal("100.00"))],
    )
    return {"token": write_token, "contract": contract, "license": license}


@pytest.fixture
def configured(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Production's configuration, third parties at their seam: Stripe on (its API faked where the
    checkout calls it; webhooks verified for real, so generated ones fail the signature), the registry
    token server with a key, and no rate limits (they would turn most platform requests into 429s
    after the first few; the run is about what each operation does with its input)."""
    from django.utils import timezone

    from billing import stripe_gateway
    from editions import registry

    settings.STRIPE_SECRET_KEY = "sk_test_schemathesis"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_schemathesis"

    def checkout_session(**kwargs: Any) -> stripe_gateway.CheckoutSessionData:
        return stripe_gateway.CheckoutSessionData(
            id=f"cs_test_{kwargs['invoice_id']}",
            url=f"https://checkout.stripe.com/c/pay/cs_test_{kwargs['invoice_id']}",
            status="open",
            payment_status="unpaid",
            amount_total=kwargs["amount_minor"],
            currency=kwargs["currency"],
            expires_at=timezone.now() + dt.timedelta(hours=24),
        )

    monkeypatch.setattr(stripe_gateway, "create_checkout_session", checkout_session)
    monkeypatch.setattr(stripe_gateway, "expire_checkout_session", lambda session_id: None)
    settings.REGISTRY_TOKEN_KEY_FILE = str(tmp_path / "registry-token-key.pem")
    registry.generate_key_file(Path(settings.REGISTRY_TOKEN_KEY_FILE))
    settings.LICENSE_RATE_LIMIT_ADDRESS = "off"
    settings.LICENSE_RATE_LIMIT_ACTIVATE = "off"
    settings.LICENSE_RATE_LIMIT_DEPLOYMENT = "off"


def test_no_operation_answers_a_server_error(
    live_server: Any, api_data: dict[str, Any], configured: None, tmp_path: Path
) -> None:
    junit = tmp_path / "schemathesis.xml"
    command = [
        str(SCHEMATHESIS),
        f"--config-file={CONFIG}",
        "run",
        f"{live_server.url}/api/v1/openapi.json",
        f"--header=Authorization: Bearer {api_data['token']}",
        "--report=junit",
        f"--report-junit-path={junit}",
        "--no-color",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    # The run really covered the schema: one JUnit case per operation, none failed.
    report = ElementTree.parse(junit).getroot()
    cases = list(report.iter("testcase"))
    operations = {
        f"{method.upper()} {path}"
        for path, methods in api.get_openapi_schema(path_prefix="/api/v1/")["paths"].items()
        for method in methods
    }
    assert {case.get("name") for case in cases} == operations
    assert not [
        case.get("name")
        for case in cases
        if case.find("failure") is not None or case.find("error") is not None
    ]
