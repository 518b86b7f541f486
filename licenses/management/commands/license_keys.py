"""Signing keys from the command line: list, create, rotate, export for platform builds, re-encrypt.

    manage.py license_keys list
    manage.py license_keys create [--algorithm RS256|EdDSA] [--if-missing] [--next]
    manage.py license_keys rotate [--algorithm RS256|EdDSA]
    manage.py license_keys export [--kid KID] [--out DIR]     # PEM to stdout, or <kid>.pem + jwks.json
    manage.py license_keys reencrypt                          # after LICENSE_KEY_ENCRYPTION_KEY=new,old

Private keys are never printed or written by any of these.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from licenses import keys, selectors, services
from licenses.models import KeyAlgorithm, KeyState, SigningKey


class Command(BaseCommand):
    help = "Manage license signing keys (create, rotate, export public keys and JWKS, re-encrypt)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Keys with their state and publication")
        create = sub.add_parser("create", help="Create the active key of an algorithm")
        create.add_argument("--algorithm", choices=KeyAlgorithm.values, default=KeyAlgorithm.RS256)
        create.add_argument("--if-missing", action="store_true", help="Do nothing when one is active")
        create.add_argument(
            "--next", action="store_true", help="Stage the key the next rotation activates (published now)"
        )
        rotate = sub.add_parser("rotate", help="New active key; the old one is retired but still published")
        rotate.add_argument("--algorithm", choices=KeyAlgorithm.values, default=KeyAlgorithm.RS256)
        export = sub.add_parser("export", help="Public keys for platform builds")
        export.add_argument("--kid", help="One key (default: every published key)")
        export.add_argument("--out", help="Directory for <kid>.pem files and jwks.json (default: stdout)")
        sub.add_parser("reencrypt", help="Re-encrypt private material with the first encryption key")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _list(self, options: dict[str, Any]) -> None:
        published = {k.kid for k in selectors.keys_publishable()}
        key: Any  # license_count, last_license_expires_at: annotated by signing_key_queryset
        for key in selectors.signing_key_queryset().order_by("created_at"):
            self.stdout.write(
                f"{key.kid}\t{key.algorithm}\t{key.state}\tlicenses={key.license_count}\t"
                f"last_exp={key.last_license_expires_at or '-'}\t"
                f"{'published' if key.kid in published else 'not published'}"
            )

    def _create(self, options: dict[str, Any]) -> None:
        algorithm = options["algorithm"]
        if options["next"]:
            key = services.signing_key_create(actor=None, algorithm=algorithm, next_key=True)
            self.stdout.write(
                self.style.SUCCESS(f"staged {key.kid} ({key.algorithm}); export it for platform builds")
            )
            return
        existing = SigningKey.objects.filter(algorithm=algorithm, state=KeyState.ACTIVE).first()
        if existing is not None:
            if options["if_missing"]:
                self.stdout.write(f"{existing.kid} already active")
                return
            raise CommandError(f"{existing.kid} is already active for {algorithm}; use `rotate`.")
        key = services.signing_key_create(actor=None, algorithm=algorithm)
        self.stdout.write(self.style.SUCCESS(f"created {key.kid} ({key.algorithm})"))

    def _rotate(self, options: dict[str, Any]) -> None:
        key = services.signing_key_rotate(actor=None, algorithm=options["algorithm"])
        self.stdout.write(self.style.SUCCESS(f"rotated: {key.kid} ({key.algorithm}) is now active"))

    def _export(self, options: dict[str, Any]) -> None:
        if options["kid"]:
            chosen = list(SigningKey.objects.filter(kid=options["kid"]).defer("private_key_encrypted"))
            if not chosen:
                raise CommandError(f"no key {options['kid']}")
        else:
            chosen = selectors.keys_publishable()
        if not chosen:
            raise CommandError("no signing key yet; run `license_keys create` first")
        if not options["out"]:
            for key in chosen:
                self.stdout.write(key.public_key_pem.rstrip("\n"))
            return
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        for key in chosen:
            _write_atomic(out / f"{key.kid}.pem", key.public_key_pem)
        active = [k for k in chosen if k.state == KeyState.ACTIVE and k.algorithm == KeyAlgorithm.RS256]
        if active:  # the single file the seed's LicenseManager loads
            _write_atomic(out / "public_key.pem", active[0].public_key_pem)
        _write_atomic(out / "jwks.json", json.dumps({"keys": [keys.jwk(k) for k in chosen]}, indent=2))
        self.stdout.write(self.style.SUCCESS(f"wrote {len(chosen)} key(s) and jwks.json to {out}"))

    def _reencrypt(self, options: dict[str, Any]) -> None:
        count = services.signing_keys_reencrypt(actor=None)
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {count} key(s)"))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
