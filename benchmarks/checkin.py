"""Check-in throughput and latency against a bare django-ninja endpoint, on gunicorn + PostgreSQL.

    .venv/bin/python benchmarks/checkin.py [--duration 32] [--rounds 4] [--connections 32] [--workers 4]
                                           [--worker-class sync] [--threads 1] [--rate-limits] [--ping]

What it does (loopback only, bounded in time, stops by itself):
1. creates its own database (`bench_checkin`, dropped and re-created), migrates it, seeds one
   contract with --deployments activated deployments (one token each) and analyzes it;
2. starts gunicorn as docker/Dockerfile runs it (4 sync workers) with production settings (DEBUG off)
   on 127.0.0.1; the rate limits are off, or with --rate-limits counted in Redis as in production
   (ceilings set so that they never answer for the service);
3. starts a second gunicorn, same settings, on the bare django-ninja project of `benchmarks/bare_ninja/`
   (no app, no middleware, no database, one `GET /ping` operation with a response schema): the
   least any ninja endpoint costs on this machine, so the ratio shows what the check-in adds;
4. loads the bare `GET /ping` and `POST /api/v1/platform/checkin` (cached signature check, the rate
   limits, then one SQL statement that checks the license, updates the deployment and appends the
   usage report), and with --ping the portal's `GET /api/v1/platform/ping` (the whole middleware
   stack, no database), in alternating rounds at --connections concurrent connections, with wrk
   when installed (`apt-get install wrk`), else with a Python load generator (which competes with
   the server for the same CPUs: expect lower figures);
5. prints requests/s, p50 and p99 of each (medians over the rounds), the machine's load average,
   and the targets: check-in >= 50 % of the bare endpoint's throughput, p99 < 25 ms.

Needs PostgreSQL on 127.0.0.1:5432 (BENCH_DATABASE_ADMIN_URL to change it); --rate-limits starts a
private redis-server on a free port (or uses BENCH_REDIS_URL).

The machine's load average is printed before and after; besides req/s and latency it prints the
CPU each endpoint costs per request (gunicorn workers, PostgreSQL backends, Redis, wrk), which
neighbours on a shared machine disturb far less than the wall clock.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
# The repository root first: benchmarks/portal.py would otherwise shadow the `portal` package.
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")  # default: a private redis-server on a free port
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(
    db_name: str, *, rate_limits: bool = False, redis_url: str = "", async_commit: bool = True
) -> dict[str, str]:
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
                    "CACHE_URL": redis_url,
                    "LICENSE_RATE_LIMIT_ADDRESS": "100000000/m",
                    "LICENSE_RATE_LIMIT_DEPLOYMENT": "100000000/h",
                }
                if rate_limits
                else {}
            ),
            "CELERY_BROKER_URL": "memory://",
            "LICENSE_CHECKIN_ASYNC_COMMIT": "1" if async_commit else "0",
            # Connections kept for the whole run (production keeps them 60 s): the CPU accounting
            # reads each PostgreSQL backend's counters, which vanish with a backend that exits.
            "CONN_MAX_AGE": "3600",
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
    requests = re.search(r"(\d+) requests in", output)

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
        "requests": float(requests.group(1)) if requests else float("nan"),
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
        "requests": float(n),
        "p50": latencies[n // 2] * 1000 if n else float("nan"),
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan"),
        "errors": float(errors),
        "socket_errors": "",
    }


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds spent per endpoint by everything that serves it: the gunicorn workers, their
    PostgreSQL backends, the private Redis, and the load generator. On a shared machine the wall
    clock figures move with the neighbours' load; CPU per request moves much less, and on an idle
    2-core machine the throughput ratio of two endpoints is close to the inverse ratio of their
    CPU per request (the cores are the bottleneck)."""

    def __init__(self, servers: dict[str, int], db_name: str, redis_pid: int | None) -> None:
        self.servers = servers  # endpoint -> gunicorn master pid
        self.db_name = db_name
        self.redis_pid = redis_pid

    def _backends(self) -> list[int]:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.db_name],
            ).fetchall()
        return [pid for (pid,) in rows]

    def snapshot(self, endpoint: str) -> dict[str, dict[int, float]]:
        master = self.servers["checkin" if endpoint == "ping" else endpoint]
        return {
            "app": {pid: _cpu_seconds(pid) for pid in _children(master)},
            "postgres": {pid: _cpu_seconds(pid) for pid in self._backends()} if endpoint != "bare" else {},
            "redis": {self.redis_pid: _cpu_seconds(self.redis_pid)} if self.redis_pid else {},
            "loader": {0: _loader_seconds()},
        }

    @staticmethod
    def spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        # A process seen only at the end (a backend that connected during the round) counts from 0.
        return {
            part: sum(seconds - before[part].get(pid, 0.0) for pid, seconds in after[part].items())
            for part in after
        }


def _loader_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk runs as a child and is waited for
    return usage.ru_utime + usage.ru_stime


def _start_redis() -> tuple[Any, str]:
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def _wait_ready(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn on port {port} did not become ready")


def _gunicorn(app: str, port: int, args: argparse.Namespace, *, cwd: Path, env: dict[str, str]) -> Any:
    """gunicorn as docker/Dockerfile runs it (the same command for the portal and the bare project)."""
    return subprocess.Popen(
        [
            str(Path(PYTHON).with_name("gunicorn")),
            app,
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
        cwd=cwd,
        env=env,
        start_new_session=True,
    )


def _bare_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LICENSE_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bare_ninja.settings",
            "PYTHONPATH": str(BENCHMARKS),
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


LABELS = {
    "bare": "GET  /ping (bare django-ninja)",
    "ping": "GET  /api/v1/platform/ping",
    "checkin": "POST /api/v1/platform/checkin",
}


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
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds over the endpoints")
    parser.add_argument("--loader", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--ping",
        action="store_true",
        help="also load the portal's own GET /api/v1/platform/ping (the whole middleware stack)",
    )
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
    parser.add_argument(
        "--sync-checkin",
        action="store_true",
        help="LICENSE_CHECKIN_ASYNC_COMMIT=0: the check-in's commit waits for the WAL flush",
    )
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        seed(args.seed, Path(args.seed_out))
        return 0
    duration = max(1, min(args.duration, 120))
    loader = args.loader if args.loader != "auto" else ("wrk" if shutil.which("wrk") else "python")
    endpoints = ["bare", *(["ping"] if args.ping else []), "checkin"]

    redis_process, redis_url = None, REDIS_URL
    if args.rate_limits and not redis_url:
        redis_process, redis_url = _start_redis()
    env = _env(args.db, rate_limits=args.rate_limits, redis_url=redis_url, async_commit=not args.sync_checkin)
    workdir = Path(tempfile.mkdtemp(prefix="bench-checkin-"))
    bodies_file = workdir / "bodies.txt"
    print(f"database {args.db}: creating, migrating, seeding {args.deployments} deployments …", flush=True)
    _recreate_database(args.db, sync_commit=not args.no_sync_commit)
    servers: list[Any] = []
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
        port, bare_port = _free_port(), _free_port()
        servers.append(_gunicorn("portal.wsgi:application", port, args, cwd=ROOT, env=env))
        servers.append(
            _gunicorn("bare_ninja.wsgi:application", bare_port, args, cwd=BENCHMARKS, env=_bare_env())
        )
        _wait_ready(port, "/api/v1/platform/ping")
        _wait_ready(bare_port, "/ping")
        url, bare_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
        lua = workdir / "checkin.lua"
        lua.write_text(_WRK_LUA % {"bodies": bodies_file})

        def run(name: str, seconds: int) -> dict[str, float]:
            if loader == "wrk":
                if name == "bare":
                    return _wrk(bare_url, "/ping", args.connections, seconds, None)
                if name == "ping":
                    return _wrk(url, "/api/v1/platform/ping", args.connections, seconds, None)
                return _wrk(url, "/api/v1/platform/checkin", args.connections, seconds, lua)
            if name == "bare":
                return _python_load(bare_port, "GET", "/ping", [], args.connections, seconds)
            if name == "ping":
                return _python_load(port, "GET", "/api/v1/platform/ping", [], args.connections, seconds)
            return _python_load(port, "POST", "/api/v1/platform/checkin", bodies, args.connections, seconds)

        # Warm every worker (imports, key cache, DB connections) before measuring.
        for name in endpoints:
            run(name, 3 if name == "checkin" else 2)
        print(
            f"gunicorn {args.workers} {args.worker_class} workers x {args.threads} threads, "
            f"{args.connections} connections, {duration}s per endpoint in {args.rounds} rounds, loader {loader}"
            f"{', synchronous_commit=off (diagnostic)' if args.no_sync_commit else ''}"
            f", rate limits {'counted in ' + redis_url if args.rate_limits else 'off'}"
            f", check-in commit {'synchronous' if args.sync_checkin else 'asynchronous'}\n",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        # This machine's speed drifts by a factor of two or more within a minute, so the endpoints
        # are measured in alternating rounds and each figure is the median over the rounds.
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in endpoints}
        cpu: dict[str, list[dict[str, float]]] = {name: [] for name in endpoints}
        meter = CpuMeter(
            {"bare": servers[1].pid, "checkin": servers[0].pid},
            args.db,
            redis_process.pid if redis_process is not None else None,
        )
        slice_seconds = max(3, duration // args.rounds)
        for _ in range(args.rounds):
            for name in endpoints:
                before = meter.snapshot(name)
                result = run(name, slice_seconds)
                spent = meter.spent(before, meter.snapshot(name))
                rounds[name].append(result)
                cpu[name].append(
                    {part: seconds / result["requests"] * 1e6 for part, seconds in spent.items()}
                )
        results = {
            name: {
                key: statistics.median(r[key] for r in runs) if key != "socket_errors" else runs[-1][key]
                for key in runs[0]
            }
            for name, runs in rounds.items()
        }
        ratios = [
            c["rps"] / b["rps"] for b, c in zip(rounds["bare"], rounds["checkin"], strict=True) if b["rps"]
        ]
        load_after = os.getloadavg()[0]
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            server.wait(timeout=30)
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
        if not args.keep_db:
            _drop_database(args.db)
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"machine load average (1 min) {load_before:.1f} before, {load_after:.1f} after, {os.cpu_count()} CPUs"
    )
    print(f"{'endpoint':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name in endpoints:
        r = results[name]
        print(f"{LABELS[name]:<34}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{int(r['errors']):>10}")
        if r["socket_errors"]:
            print(f"    {r['socket_errors']}")
    if args.ping:
        ping_ratios = [
            c["rps"] / p["rps"] for p, c in zip(rounds["ping"], rounds["checkin"], strict=True) if p["rps"]
        ]
        print(f"per-round check-in/portal-ping ratios: {', '.join(f'{r:.0%}' for r in ping_ratios)}")
    print(f"per-round check-in/bare-ninja ratios: {', '.join(f'{r:.0%}' for r in ratios)}")
    print(
        f"\nCPU per request, µs (median over the rounds){'':<4}{'app':>8}{'postgres':>10}{'redis':>8}{'loader':>8}{'total':>8}"
    )
    totals = {}
    for name in endpoints:
        parts = {part: statistics.median(r[part] for r in cpu[name]) for part in cpu[name][0]}
        totals[name] = statistics.median(sum(r.values()) for r in cpu[name])
        print(
            f"{LABELS[name]:<48}{parts['app']:>8.0f}{parts['postgres']:>10.0f}{parts['redis']:>8.0f}"
            f"{parts['loader']:>8.0f}{totals[name]:>8.0f}"
        )
    print(
        f"CPU-based estimate of check-in / bare-ninja throughput on an idle machine: "
        f"{totals['bare'] / totals['checkin']:.0%}"
    )
    p99s = ", ".join(f"{r['p99']:.1f}" for r in rounds["checkin"])
    print(f"per-round check-in p99 (ms): {p99s}")
    ratio = statistics.median(ratios) if ratios else 0.0
    ok_ratio = ratio >= 0.5
    ok_p99 = results["checkin"]["p99"] < 25
    print(
        f"\ncheck-in / bare-ninja throughput: {ratio:.0%} (target >= 50 %: {'met' if ok_ratio else 'NOT met'}); "
        f"check-in p99 {results['checkin']['p99']:.1f} ms (target < 25 ms: {'met' if ok_p99 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
