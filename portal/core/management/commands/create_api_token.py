from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.services import api_token_create


class Command(BaseCommand):
    help = "Create an integration API token for a staff user and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--write", action="store_true", help="read and write scope (default: read)")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'ERP sync'")

    def handle(self, *args: Any, username: str, write: bool, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_staff:
            raise CommandError(
                f"{username!r} is not a staff user; API tokens are for staff and integrations."
            )
        token, secret = api_token_create(user=user, name=name or f"{username} token", write=write)
        self.stderr.write(f"Created {token.scope} token {token.token_prefix}… for {username}.")
        self.stdout.write(secret)
