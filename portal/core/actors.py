"""Who a service acts for: `actor` is the first keyword argument of every service.

A signed-in user (staff in the back office, a customer user in the portal, a token's user on the API),
the anonymous user of a public page, or None for the system (beat jobs, webhooks, the outbox).
audit() records the user when there is one."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, cast

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

Actor: TypeAlias = "User | AnonymousUser | None"


def actor_user(actor: Actor) -> User | None:
    """The user to store in a `created_by`-style column: the signed-in user, else None (the anonymous
    user of a public page and the system leave it empty)."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return cast("User", actor)
