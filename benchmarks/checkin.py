"""Check-in throughput and latency against a trivial endpoint, on gunicorn + PostgreSQL.

    .venv/bin/python benchmarks/checkin.py [--duration 32] [--rounds 4] [--connections 32] [--workers 4]
                                           [--worker-class sync] [--threads 1]

What it does (loopback only, bounded in time, stops by itself):
1. creates its own database (`bench_checkin`, dropped and re-created), migrates it, seeds one
   contract with --deployments activated deployments (one token each) and analyzes it;
2. starts gunicorn as docker/Dockerfile runs it (4 sync workers) with production settings (DEBUG off)
   on 127.0.0.1; the rate limits are off, or with --rate-limits counted in Redis as in production
   (ceilings set so that they never answer for the service);
3. loads `GET /api/v1/platform/ping` (trivial: no database) and `POST /api/v1/platform/checkin`
   (cached signature check, then one SQL statement that checks the license, updates the deployment
   and appends the usage report) one after the other at
   --connections concurrent connections, with wrk when installed (`apt-get install wrk`), else with
   a Python load generator (which competes with the server for the same CPUs: expect lower figures);
4. prints requests/s, p50 and p99 of each, and the targets: check-in >= 50 % of the trivial
   endpoint's throughput, p99 < 25 ms.

Needs PostgreSQL on 127.0.0.1:5432 (BENCH_DATABASE_ADMIN_URL to change it), and for --rate-limits
Redis on 127.0.0.1:6379 (BENCH_REDIS_URL).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository root first: benchmarks/portal.py would otherwise shadow the `portal` package.
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(db_name: str, *, rate_limits: bool = False) -> dict[str, str]:
    from cryptography.fernet import Fernet

    base = ADMIN_URL.rsplit("/", 1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LICENSE_"))}
    env.update(
        {
            "DATABASE_URL": f"{base}/{db_name}",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
            "LICENSE_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "LICENSE_RATE_LIMIT_ADDRESS": "off",
            "LICENSE_RATE_LIMIT_ACTIVATE": "off",
            "LICENSE_RATE_LIMIT_DEPLOYMENT": "off",
            **(
                {
                    # Counted in Redis as in production, with ceilings no run reaches.
                    "CACHE_URL": REDIS_URL,
                    "LICENSE_RATE_LIMIT_ADDRESS": "100000000/m",
                    "LICENSE_RATE_LIMIT_DEPLOYMENT": "100000000/h",
                }
                if rate_limits
                else {}
            ),
            "CELERY_BROKER_URL": "memory://",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _recreate_database(db_name: str, *, sync_commit: bool = True) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')
        if not sync_commit:
            conn.execute(f'ALTER DATABASE "{db_name}" SET synchronous_commit = off')


def _analyze(db_name: str) -> None:
    """Statistics for the planner, as autovacuum keeps them on a production server (it may be off
    on a test machine's PostgreSQL; without statistics the planner may pick any index of a table)."""
    import psycopg

    base = ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/{db_name}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _drop_database(db_name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


# --- seeding (runs in a child process with Django set up) ------------------------------------------------


def seed(count: int, out: Path) -> None:
    import django

    django.setup()
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from contracts.models import Contract, ContractStatus
    from customers.models import Organization
    from editions.models import Edition
    from licenses.services import activation_code_create, deployment_activate

    today = timezone.localdate()
    organization = Organization.objects.create(name="Bench Co., Ltd.", industry="manufacturing", country="CN")
    contract = Contract.objects.create(
        number="CT-BENCH-000001",
        organization=organization,
        edition=Edition.objects.get(code="enterprise"),
        status=ContractStatus.ACTIVE,
        start_date=today - dt.timedelta(days=10),
        end_date=today + dt.timedelta(days=355),
        price=Decimal("150000.00"),
        activated_at=timezone.now(),
    )
    _code, plain = activation_code_create(actor=None, contract=contract, max_deployments=count)
    bodies = []
    for i in range(count):
        answer = deployment_activate(code=plain, machine_id=f"bench-{i:05d}", hostname=f"bench-{i}")
        bodies.append(
            json.dumps(
                {"license": answer.license.token, "machine_id": f"bench-{i:05d}", "device_count": 100 + i},
                separators=(",", ":"),
            )
        )
    out.write_text("\n".join(bodies) + "\n")


# --- load generation -------------------------------------------------------------------------------------

_WRK_LUA = """
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/platform/checkin", {["Content-Type"] = "application/json"},
                    bodies[(counter %% #bodies) + 1])
end
"""


def _wrk(url: str, path: str, connections: int, duration: int, script: Path | None) -> dict[str, float]:
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    output = subprocess.run([*cmd, url + path], capture_output=True, text=True, check=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": rps,
        "p50": latency("50"),
        "p99": latency("99"),
        "errors": float(errors.group(1)) if errors else 0.0,
        "socket_errors": socket_errors.group(0) if socket_errors else "",
    }


def _py_worker(args: tuple) -> list[tuple[float, int]]:
    host, port, method, path, bodies, threads, deadline = args
    import threading

    results: list[tuple[float, int]] = []
    lock = threading.Lock()

    def loop(offset: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        local = []
        i = offset
        while time.monotonic() < deadline:
            body = bodies[i % len(bodies)] if bodies else None
            i += 1
            start = time.perf_counter()
            try:
                conn.request(
                    method, path, body=body, headers={"Content-Type": "application/json"} if body else {}
                )
                response = conn.getresponse()
                response.read()
                local.append((time.perf_counter() - start, response.status))
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=5)
                local.append((time.perf_counter() - start, 0))
        with lock:
            results.extend(local)

    pool = [threading.Thread(target=loop, args=(t * 7919,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def _python_load(
    port: int, method: str, path: str, bodies: list[str], connections: int, duration: int
) -> dict[str, float]:
    processes = min(4, connections)
    per_process = connections // processes
    deadline = time.monotonic() + duration
    with multiprocessing.Pool(processes) as pool:
        chunks = pool.map(
            _py_worker, [("127.0.0.1", port, method, path, bodies, per_process, deadline)] * processes
        )
    samples = sorted(s for chunk in chunks for s in chunk)
    latencies = sorted(lat for lat, _status in samples)
    errors = sum(1 for _lat, status in samples if not 200 <= status < 300)
    n = len(latencies)
    return {
        "rps": n / duration,
        "p50": latencies[n // 2] * 1000 if n else float("nan"),
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan"),
        "errors": float(errors),
        "socket_errors": "",
    }


def _wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/platform/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=32,
        help="measured seconds per endpoint, split over the rounds (max 120)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers", type=int, default=4, help="gunicorn worker processes (docker/Dockerfile runs 4)"
    )
    parser.add_argument(
        "--worker-class",
        default="sync",
        help="gunicorn worker class (docker/Dockerfile runs the default, sync)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--deployments", type=int, default=200, help="distinct deployments checking in")
    parser.add_argument("--db", default="bench_checkin")
    parser.add_argument("--rounds", type=int, default=4, help="alternating ping/check-in rounds")
    parser.add_argument("--loader", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--no-sync-commit",
        action="store_true",
        help="diagnostic only: synchronous_commit=off on the bench database, to show the disk's share",
    )
    parser.add_argument(
        "--rate-limits",
        action="store_true",
        help="count the per-address and per-deployment limits in Redis (BENCH_REDIS_URL) as production "
        "does, with ceilings no run reaches; by default they are off",
    )
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        seed(args.seed, Path(args.seed_out))
        return 0
    duration = max(1, min(args.duration, 120))
    loader = args.loader if args.loader != "auto" else ("wrk" if shutil.which("wrk") else "python")

    env = _env(args.db, rate_limits=args.rate_limits)
    workdir = Path(tempfile.mkdtemp(prefix="bench-checkin-"))
    bodies_file = workdir / "bodies.txt"
    print(f"database {args.db}: creating, migrating, seeding {args.deployments} deployments …", flush=True)
    _recreate_database(args.db, sync_commit=not args.no_sync_commit)
    server = None
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        subprocess.run(
            [PYTHON, __file__, "--seed", str(args.deployments), "--seed-out", str(bodies_file)],
            cwd=ROOT,
            env=env,
            check=True,
        )
        bodies = bodies_file.read_text().splitlines()
        _analyze(args.db)
        port = _free_port()
        server = subprocess.Popen(
            [
                str(Path(PYTHON).with_name("gunicorn")),
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--worker-class",
                args.worker_class,
                "--threads",
                str(args.threads),
                "--log-level",
                "warning",
                "--keep-alive",
                "5",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        _wait_ready(port)
        url = f"http://127.0.0.1:{port}"
        lua = workdir / "checkin.lua"
        lua.write_text(_WRK_LUA % {"bodies": bodies_file})

        def run(name: str, seconds: int) -> dict[str, float]:
            if loader == "wrk":
                if name == "ping":
                    return _wrk(url, "/api/v1/platform/ping", args.connections, seconds, None)
                return _wrk(url, "/api/v1/platform/checkin", args.connections, seconds, lua)
            if name == "ping":
                return _python_load(port, "GET", "/api/v1/platform/ping", [], args.connections, seconds)
            return _python_load(port, "POST", "/api/v1/platform/checkin", bodies, args.connections, seconds)

        # Warm every worker (imports, key cache, DB connections) before measuring.
        run("ping", 2)
        run("checkin", 3)
        print(
            f"gunicorn {args.workers} {args.worker_class} workers x {args.threads} threads, "
            f"{args.connections} connections, {duration}s per endpoint in {args.rounds} rounds, loader {loader}"
            f"{', synchronous_commit=off (diagnostic)' if args.no_sync_commit else ''}"
            f", rate limits {'counted in ' + REDIS_URL if args.rate_limits else 'off'}\n",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        # This machine's speed drifts by a factor of two or more within a minute, so the endpoints
        # are measured in alternating rounds and each figure is the median over the rounds.
        rounds: dict[str, list[dict[str, float]]] = {"ping": [], "checkin": []}
        slice_seconds = max(3, duration // args.rounds)
        for _ in range(args.rounds):
            for name in ("ping", "checkin"):
                rounds[name].append(run(name, slice_seconds))
        results = {
            name: {
                key: statistics.median(r[key] for r in runs) if key != "socket_errors" else runs[-1][key]
                for key in runs[0]
            }
            for name, runs in rounds.items()
        }
        ratios = [
            c["rps"] / p["rps"] for p, c in zip(rounds["ping"], rounds["checkin"], strict=True) if p["rps"]
        ]
        load_after = os.getloadavg()[0]
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if not args.keep_db:
            _drop_database(args.db)
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"machine load average (1 min) {load_before:.1f} before, {load_after:.1f} after, {os.cpu_count()} CPUs"
    )
    print(f"{'endpoint':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, label in (("ping", "GET  /api/v1/platform/ping"), ("checkin", "POST /api/v1/platform/checkin")):
        r = results[name]
        print(f"{label:<34}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{int(r['errors']):>10}")
        if r["socket_errors"]:
            print(f"    {r['socket_errors']}")
    print(f"per-round check-in/ping ratios: {', '.join(f'{r:.0%}' for r in ratios)}")
    p99s = ", ".join(f"{r['p99']:.1f}" for r in rounds["checkin"])
    print(f"per-round check-in p99 (ms): {p99s}")
    ratio = statistics.median(ratios) if ratios else 0.0
    ok_ratio = ratio >= 0.5
    ok_p99 = results["checkin"]["p99"] < 25
    print(
        f"\ncheck-in / trivial throughput: {ratio:.0%} (target >= 50 %: {'met' if ok_ratio else 'NOT met'}); "
        f"check-in p99 {results['checkin']['p99']:.1f} ms (target < 25 ms: {'met' if ok_p99 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
