"""A real Docker registry (Debian's docker-registry, distribution 2.8) configured for token auth against
the live back office: the vendor's CI service account pushes a small image with skopeo, an entitled
customer's credential pulls its manifest, another organization's credential is refused.

Needs /usr/bin/docker-registry and skopeo (Makefile SYSTEM_PACKAGES_TEST); skipped without them except
in CI, where it must run."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from editions import registry
from editions.services import registry_credential_create
from tests.editions.factories import image_artifact, member

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REGISTRY_BIN = shutil.which("docker-registry") or (
    "/usr/bin/docker-registry" if Path("/usr/bin/docker-registry").exists() else None
)
SKOPEO_BIN = shutil.which("skopeo")
REPOSITORY = "iot/enterprise"


@pytest.fixture(autouse=True)
def _binaries() -> None:
    if REGISTRY_BIN and SKOPEO_BIN:
        return
    if os.environ.get("CI"):
        pytest.fail("docker-registry and skopeo must be installed in CI (make system-deps-test)")
    pytest.skip("docker-registry and/or skopeo not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def blob(directory: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (directory / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def oci_layout(directory: Path, tag: str = "v1") -> str:
    """A one-layer OCI image layout, built by hand; returns the manifest digest."""
    (directory / "blobs" / "sha256").mkdir(parents=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as layer_tar:
        content = b"hello from the back office test\n"
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(content), 1_700_000_000, 0o644
        layer_tar.addfile(info, io.BytesIO(content))
    uncompressed = raw.getvalue()
    layer = blob(directory, gzip.compress(uncompressed, mtime=0))
    config = blob(
        directory,
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {},
                "rootfs": {
                    "type": "layers",
                    "diff_ids": [f"sha256:{hashlib.sha256(uncompressed).hexdigest()}"],
                },
            }
        ).encode(),
    )
    manifest_bytes = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
        }
    ).encode()
    manifest = blob(directory, manifest_bytes)
    (directory / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        **manifest,
                        "annotations": {"org.opencontainers.image.ref.name": tag},
                    }
                ],
            }
        )
    )
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return manifest["digest"]


@pytest.fixture
def real_registry(live_server: Any, settings: Any, tmp_path: Path) -> Any:
    settings.REGISTRY_SERVICE = "registry.test"
    settings.REGISTRY_ISSUER = "backoffice-test"
    cert = tmp_path / "token-cert.pem"
    cert.write_text(registry.certificate_pem())
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: integration-test-secret\n"
        "auth:\n  token:\n"
        f"    realm: {live_server.url}/api/v1/registry/token\n"
        f"    service: {settings.REGISTRY_SERVICE}\n"
        f"    issuer: {settings.REGISTRY_ISSUER}\n"
        f"    rootcertbundle: {cert}\n"
    )
    log = (tmp_path / "registry.log").open("wb")
    process = subprocess.Popen(
        [REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/v2/", timeout=1).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("registry did not start:\n" + (tmp_path / "registry.log").read_text())
            time.sleep(0.2)
        yield {"url": url, "host": f"127.0.0.1:{port}", "log": tmp_path / "registry.log"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def skopeo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
    }
    return subprocess.run(
        [SKOPEO_BIN, "--policy", str(policy), *args], capture_output=True, text=True, timeout=120, env=env
    )


def bearer_token(challenge: str, auth: tuple[str, str]) -> str:
    """Follow a `Www-Authenticate: Bearer realm=…,service=…,scope=…` challenge with HTTP Basic."""
    assert challenge.startswith("Bearer ")
    params = dict(part.split("=", 1) for part in challenge[len("Bearer ") :].split(","))
    params = {k: v.strip('"') for k, v in params.items()}
    response = httpx.get(
        params.pop("realm"),
        params={"service": params["service"], "scope": params["scope"]},
        auth=auth,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_customers_pull_what_they_are_entitled_to_from_a_real_registry(real_registry, settings, tmp_path):
    settings.REGISTRY_PUSH_USERS = ["ci-publisher"]
    image_artifact(repository=REPOSITORY, editions=["enterprise"])
    _ci, ci_secret = registry_credential_create(
        actor=None, organization=None, name="CI", username="ci-publisher"
    )
    customer = member(edition_code="enterprise")
    entitled, entitled_secret = registry_credential_create(
        actor=customer, organization=customer.organization, name="k8s"
    )
    other = member(edition_code="standard")
    outsider, outsider_secret = registry_credential_create(
        actor=other, organization=other.organization, name="k8s"
    )
    digest = oci_layout(tmp_path / "oci")
    target = f"docker://{real_registry['host']}/{REPOSITORY}:v1"

    # A customer cannot push, even into a repository it may pull.
    refused_push = skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{entitled.username}:{entitled_secret}",
        f"oci:{tmp_path / 'oci'}:v1",
        target,
    )
    assert refused_push.returncode != 0
    assert "denied" in refused_push.stderr

    pushed = skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"ci-publisher:{ci_secret}",
        f"oci:{tmp_path / 'oci'}:v1",
        target,
    )
    assert pushed.returncode == 0, pushed.stderr + real_registry["log"].read_text()

    inspected = skopeo(
        tmp_path,
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        f"{entitled.username}:{entitled_secret}",
        target,
    )
    assert inspected.returncode == 0, inspected.stderr
    assert hashlib.sha256(inspected.stdout.encode()).hexdigest() == digest.removeprefix("sha256:")

    denied = skopeo(
        tmp_path,
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        f"{outsider.username}:{outsider_secret}",
        target,
    )
    assert denied.returncode != 0
    assert "requested access to the resource is denied" in denied.stderr

    wrong_password = skopeo(
        tmp_path, "inspect", "--raw", "--tls-verify=false", "--creds", f"{entitled.username}:nope", target
    )
    assert wrong_password.returncode != 0
    assert "invalid username/password" in wrong_password.stderr

    # The same flow by hand: challenge, token from our realm, manifest.
    manifest_url = f"{real_registry['url']}/v2/{REPOSITORY}/manifests/v1"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    challenge = httpx.get(manifest_url, headers=accept, timeout=10)
    assert challenge.status_code == 401
    www_authenticate = challenge.headers["www-authenticate"]
    assert (
        "/api/v1/registry/token" in www_authenticate
        and f'scope="repository:{REPOSITORY}:pull"' in www_authenticate
    )

    token = bearer_token(www_authenticate, (entitled.username, entitled_secret))
    ok = httpx.get(manifest_url, headers={**accept, "Authorization": f"Bearer {token}"}, timeout=10)
    assert ok.status_code == 200 and ok.headers["docker-content-digest"] == digest

    token = bearer_token(www_authenticate, (outsider.username, outsider_secret))
    refused = httpx.get(manifest_url, headers={**accept, "Authorization": f"Bearer {token}"}, timeout=10)
    assert refused.status_code in (401, 403)

    catalog = httpx.get(
        f"{real_registry['url']}/v2/_catalog", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert catalog.status_code in (401, 403)
