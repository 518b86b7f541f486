"""The fault suite's harness: the real app, served by gunicorn, on services the test owns and breaks.

Nothing here touches the machine's shared PostgreSQL or Redis (other people use them): each test
gets a PostgreSQL 15 cluster of its own (Debian's /usr/lib/postgresql/15/bin, or FAULT_PG_BIN) and,
when it asks, a private redis-server, both on random loopback ports, stopped and removed afterwards.

Fixtures (all function-scoped unless said otherwise):

- ``pg_template`` (session): a stopped cluster, migrated and seeded once per test process with one
  active enterprise contract and ``DEPLOYMENTS`` activated deployments; ``pg_template.bodies`` are
  their check-in bodies (token, machine_id) and ``pg_template.env`` the settings they were made with
  (the Fernet key that encrypts the signing key).
- ``pg``: a running copy of that template (``PgCluster``): ``.url``, ``.crash()`` (pg_ctl stop -m
  immediate: no shutdown checkpoint, unflushed WAL buffers are lost, as in a power cut of the
  server process), ``.stop()`` (fast, clean), ``.start()`` (crash recovery when needed),
  ``.query(sql)`` (psql -At, for assertions).
- ``redis_server``: a private ``RedisServer`` (no persistence): ``.url(db)``, ``.stop()``, ``.start()``.
- ``portal``: a factory ``portal(pg, **env) -> Gunicorn``: gunicorn serving portal.wsgi with
  production settings (DEBUG off) on the given cluster; keyword arguments override environment
  variables (CACHE_URL, CELERY_BROKER_URL, EMAIL_URL, LICENSE_…). ``.url``, ``.log()`` (its stderr:
  the app's log lines), ``.stop()``. Stopped at the end of the test.
- ``CheckinLoad(url, bodies, connections=…)``: a bounded load generator in threads; every check-in
  carries a unique ``device_count``, so each answer can be matched with the usage row it stored.
  ``.start()``, ``.stop()``, ``.answers`` [(device_count, status, monotonic time)], ``.statuses()``.

Running as root (CI, this machine) the cluster runs as the ``postgres`` OS user through runuser
(created as a system user if missing); as another user it runs as that user. A test of another
failure (broker, mail server) builds on the same pieces: start what it needs, point the app at it
with ``portal(pg, CELERY_BROKER_URL=…)``, break it, assert on the answers and on the database.

Each module sets ``pytestmark = FAULT``: marked ``fault`` and ``xdist_group("fault")`` (with
``--dist loadgroup``, as ``make test`` runs, every fault test runs in one worker, one after the
other: they load the machine's two cores, and the template cluster is built once). In CI a missing
PostgreSQL 15 or redis-server fails the run instead of skipping it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("FAULT_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
GUNICORN = Path(sys.executable).with_name("gunicorn")
DEPLOYMENTS = 60
PG_OS_USER = "postgres"


# Every test module here sets: pytestmark = FAULT
FAULT = [pytest.mark.fault, pytest.mark.xdist_group("fault")]


def _missing_tools() -> list[str]:
    missing = [
        str(PG_BIN / tool)
        for tool in ("initdb", "pg_ctl", "postgres", "psql")
        if not (PG_BIN / tool).exists()
    ]
    if not Path(REDIS_SERVER).exists():
        missing.append("redis-server")
    return missing


@pytest.fixture(scope="session", autouse=False)
def fault_tools() -> None:
    missing = _missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(
                f"the fault suite needs {', '.join(missing)} (postgresql-15, redis-server); CI must run it"
            )
        pytest.skip(f"needs {', '.join(missing)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# --- PostgreSQL --------------------------------------------------------------------------------------


def _cluster_user() -> pwd.struct_passwd | None:
    """The OS user the cluster runs as: None (ourselves) unless we are root, which initdb refuses."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER],
            check=True,
        )
        return pwd.getpwnam(PG_OS_USER)


def _as_cluster_user(cmd: list[str]) -> list[str]:
    user = _cluster_user()
    return cmd if user is None else ["runuser", "-u", user.pw_name, "--", *cmd]


def _owned_tempdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    user = _cluster_user()
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


class PgCluster:
    """A PostgreSQL cluster in `base` (data in base/data) on a random loopback port."""

    def __init__(self, base: Path, *, dbname: str = "portal") -> None:
        self.base = base
        self.data = base / "data"
        self.logfile = base / "server.log"
        self.port = free_port()
        self.dbname = dbname
        self.running = False

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.dbname}"

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_cluster_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]),
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def initdb(self) -> None:
        subprocess.run(
            _as_cluster_user(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
            "-c max_connections=50 -c shared_buffers=32MB -c log_min_messages=warning"
        )
        self._pg_ctl("-l", str(self.logfile), "-o", options, "-w", "-t", "60", "start")
        self.running = True

    def stop(self) -> None:
        """A clean shutdown (fast mode: sessions are ended, a checkpoint is written)."""
        self._pg_ctl("-m", "fast", "-w", "stop")
        self.running = False

    def crash(self) -> None:
        """pg_ctl stop -m immediate: every server process quits at once, without a checkpoint and
        without writing the WAL buffers; the next start runs crash recovery."""
        self._pg_ctl("-m", "immediate", "-w", "stop")
        self.running = False

    def query(self, sql: str, *, dbname: str | None = None) -> str:
        url = self.url if dbname is None else self.url.rsplit("/", 1)[0] + f"/{dbname}"
        return subprocess.run(
            [str(PG_BIN / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql, url],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()

    def close(self) -> None:
        if self.running:
            self._pg_ctl("-m", "immediate", "-w", "stop", check=False)
            self.running = False
        shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class Template:
    base: Path
    bodies: list[dict[str, Any]]
    env: dict[str, str]


def app_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of the app in production mode (DEBUG off), as docker/compose.yaml sets it."""
    from cryptography.fernet import Fernet

    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LICENSE_", "PYTEST", "CACHE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "fault-suite-only-secret-key-0123456789-0123456789-0123456789",
            "LICENSE_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "CELERY_BROKER_URL": "memory://",
            "LICENSE_RATE_LIMIT_ADDRESS": "off",
            "LICENSE_RATE_LIMIT_ACTIVATE": "off",
            "LICENSE_RATE_LIMIT_DEPLOYMENT": "off",
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": str(ROOT),
            "PYTHONWARNINGS": "ignore",
        }
    )
    env.update(overrides)
    return env


_SEED = """
import json, sys, datetime as dt
from decimal import Decimal
import django
django.setup()
from django.utils import timezone
from contracts.models import Contract, ContractStatus
from customers.models import Organization
from editions.models import Edition
from licenses.services import activation_code_create, deployment_activate

count = int(sys.argv[1])
today = timezone.localdate()
organization = Organization.objects.create(name="Fault Co., Ltd.", industry="manufacturing", country="CN")
contract = Contract.objects.create(
    number="CT-FAULT-000001", organization=organization, edition=Edition.objects.get(code="enterprise"),
    status=ContractStatus.ACTIVE, start_date=today - dt.timedelta(days=10), end_date=today + dt.timedelta(days=355),
    price=Decimal("150000.00"), activated_at=timezone.now(),
)
_code, plain = activation_code_create(actor=None, contract=contract, max_deployments=count)
bodies = []
for i in range(count):
    machine = f"fault-{i:04d}"
    answer = deployment_activate(code=plain, machine_id=machine, hostname=machine)
    bodies.append({"license": answer.license.token, "machine_id": machine})
print(json.dumps(bodies))
"""


@pytest.fixture(scope="session")
def pg_template(fault_tools: None) -> Iterator[Template]:
    """Built once per test process: initdb, migrate, seed, clean stop; each test copies it."""
    cluster = PgCluster(_owned_tempdir("fault-pg-template-"))
    cluster.initdb()
    cluster.start()
    cluster.query(f"CREATE DATABASE {cluster.dbname}", dbname="postgres")
    env = app_env(cluster.url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    seeded = subprocess.run(
        [sys.executable, "-c", _SEED, str(DEPLOYMENTS)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    bodies = json.loads(seeded.stdout.strip().splitlines()[-1])
    cluster.query("VACUUM ANALYZE")
    cluster.stop()
    yield Template(base=cluster.base, bodies=bodies, env=env)
    shutil.rmtree(cluster.base, ignore_errors=True)


@pytest.fixture
def pg(pg_template: Template) -> Iterator[PgCluster]:
    """A running copy of the template cluster, owned by this test."""
    base = _owned_tempdir("fault-pg-")
    subprocess.run(["cp", "-a", f"{pg_template.base / 'data'}", str(base / "data")], check=True, timeout=60)
    cluster = PgCluster(base)
    cluster.start()
    yield cluster
    cluster.close()


# --- Redis -------------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, 10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash: no goodbye to the clients
            self.process.wait(timeout=10)
            self.process = None

    def command(self, *args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()


@pytest.fixture
def redis_server(fault_tools: None) -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


# --- the app -----------------------------------------------------------------------------------------


class Gunicorn:
    """portal.wsgi under gunicorn, with sync workers as docker/Dockerfile runs it."""

    def __init__(self, env: dict[str, str], *, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logfile = Path(tempfile.mkstemp(prefix="fault-gunicorn-", suffix=".log")[1])
        with self.logfile.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(GUNICORN),
                    "portal.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(workers),
                    "--keep-alive",
                    "5",
                    "--timeout",
                    "30",
                    "--graceful-timeout",
                    "5",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/platform/ping")
                if conn.getresponse().status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"gunicorn not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.logfile.unlink(missing_ok=True)


@pytest.fixture
def portal(pg_template: Template) -> Iterator[Any]:
    servers: list[Gunicorn] = []

    def start(cluster: PgCluster, *, workers: int = 2, **overrides: str) -> Gunicorn:
        env = {**pg_template.env, "DATABASE_URL": cluster.url, **overrides}
        server = Gunicorn(env, workers=workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- load --------------------------------------------------------------------------------------------


@dataclass
class CheckinLoad:
    """Check-ins from `connections` keep-alive connections until stop() (or `limit` seconds)."""

    url: str
    bodies: list[dict[str, Any]]
    connections: int = 8
    limit: float = 60.0
    answers: list[tuple[int, int, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _next: Any = None

    def start(self) -> CheckinLoad:
        import itertools

        self._next = itertools.count(1).__next__  # the unique device_count of each check-in
        lock = threading.Lock()
        host, port = self.url.removeprefix("http://").split(":")
        deadline = time.monotonic() + self.limit

        def loop(offset: int) -> None:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            i = offset
            while not self._stop.is_set() and time.monotonic() < deadline:
                with lock:
                    number = self._next()
                body = json.dumps({**self.bodies[i % len(self.bodies)], "device_count": number})
                i += 1
                try:
                    conn.request(
                        "POST", "/api/v1/platform/checkin", body, {"Content-Type": "application/json"}
                    )
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    if response.getheader("Connection", "").lower() == "close":
                        conn.close()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    status = 0  # no answer (connection reset): the client would retry
                with lock:
                    self.answers.append((number, status, time.monotonic()))
                if status in (0, 503):
                    time.sleep(0.02)  # as a client backing off, without waiting a whole Retry-After

        for t in range(self.connections):
            thread = threading.Thread(target=loop, args=(t * 7,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> CheckinLoad:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        return self

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> Counter[int]:
        return Counter(status for _n, status, at in list(self.answers) if since <= at < until)

    def answered(self, status: int) -> set[int]:
        return {n for n, s, _at in self.answers if s == status}


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


RESULTS = ROOT / "var" / "fault-results.jsonl"


def record_result(**row: Any) -> None:
    """One line per fault run in var/fault-results.jsonl (the table of the closing note)."""
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as f:
        f.write(json.dumps({"at": time.strftime("%Y-%m-%d %H:%M:%S"), **row}) + "\n")
    print(json.dumps(row))
