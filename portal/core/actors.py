"""Who a service acts for: `actor` is the first keyword argument of every service.

A signed-in user (staff in the back office, a customer user in the portal, a token's user on the API),
the anonymous user of a public page, or None for the system (beat jobs, webhooks, the outbox).
audit() records the user when there is one."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

Actor: TypeAlias = "AbstractBaseUser | AnonymousUser | None"
