"""Shared by the benchmark scripts: create the benchmark's own PostgreSQL database when missing."""

from __future__ import annotations


def ensure_database(url: str, *, require_postgres: bool = False) -> None:
    """Create the database named by DATABASE_URL `url` if it does not exist yet. Other engines are
    left alone (SQLite creates its file itself), or refused with `require_postgres`."""
    if not url.startswith("postgres"):
        if require_postgres:
            raise SystemExit("this benchmark runs on PostgreSQL: set DATABASE_URL")
        return
    import environ
    import psycopg
    from psycopg import sql

    config = environ.Env.db_url_config(url)
    admin = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
