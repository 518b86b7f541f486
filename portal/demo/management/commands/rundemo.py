"""Run the demo: the web server in the foreground with a Celery worker and beat beside it, all on the
embedded defaults (SQLite, filesystem broker). Ctrl-C stops all three."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal.demo.management.commands.seed_demo import CUSTOMER, STAFF


class Command(BaseCommand):
    help = "Run web server, Celery worker and beat together for the demo."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port: str, host: str, **options) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        log_dir = settings.VAR_DIR / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
        children = []
        for name, argv in (
            ("worker", [celery, "-A", "portal", "worker", "--pool", "solo", "--loglevel", "INFO"]),
            ("beat", [celery, "-A", "portal", "beat", "--loglevel", "INFO"]),
        ):
            log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
            children.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))  # noqa: S603
            self.stdout.write(
                f"Started Celery {name} (pid {children[-1].pid}), log: {log_dir / (name + '.log')}"
            )
        base = f"http://{host}:{port}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nIoT Platform back office demo at {base}/\n"
                f"  Back office: {base}/admin/  email {STAFF[1]} / password {STAFF[2]}\n"
                f"  Portal:      {base}/         email {CUSTOMER[0]} / password {CUSTOMER[1]}\n"
                f"  Pricing:     {base}/pricing/    (public: editions, trials, buying online)\n"
                f"  API docs:    {base}/api/v1/docs    health: {base}/api/v1/health\n"
            )
        )
        # SIGTERM (e.g. from a process manager) must stop the children too, like Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
