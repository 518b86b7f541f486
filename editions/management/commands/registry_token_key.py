"""Registry token key: generate it, or print what the registry's `auth.token` configuration needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from editions import registry


class Command(BaseCommand):
    help = (
        "Print the certificate bundle (default), the JWKS, or a registry auth.token snippet for the "
        "registry token signing key (REGISTRY_TOKEN_KEY_FILE); --generate creates the key file."
    )

    def add_arguments(self, parser: Any) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--generate", action="store_true", help="create the key file if it does not exist")
        group.add_argument("--jwks", action="store_true", help="print the JWKS (auth.token.jwks)")
        group.add_argument("--config", action="store_true", help="print an auth.token snippet")
        parser.add_argument("--realm", default=f"{settings.SITE_URL}/api/v1/registry/token")

    def handle(self, *args: Any, **options: Any) -> None:
        if not registry.is_configured():
            raise CommandError("REGISTRY_TOKEN_KEY_FILE is not set.")
        path = Path(settings.REGISTRY_TOKEN_KEY_FILE)
        if options["generate"]:
            if path.exists():
                raise CommandError(f"{path} exists; refusing to overwrite it.")
            registry.generate_key_file(path)
            self.stdout.write(f"Wrote {path}; key ID {registry.signing_key().kid}")
        elif options["jwks"]:
            self.stdout.write(json.dumps(registry.jwks(), indent=2))
        elif options["config"]:
            self.stdout.write(
                "auth:\n  token:\n"
                f"    realm: {options['realm']}\n"
                f"    service: {settings.REGISTRY_SERVICE}\n"
                f"    issuer: {settings.REGISTRY_ISSUER}\n"
                "    rootcertbundle: /etc/docker/registry/token-cert.pem  # manage.py registry_token_key\n"
                "    # jwks: /etc/docker/registry/token-jwks.json        # manage.py registry_token_key --jwks\n"
            )
        else:
            self.stdout.write(registry.certificate_pem(), ending="")
