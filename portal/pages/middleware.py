"""Request-wide rules of the portal: the user's language, two-factor authentication where an
organization's contract requires it, and throttled session-activity tracking."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from portal.core.mfa import staff_mfa_required
from portal.pages.accounts import LANGUAGE_SESSION_KEY, mfa_missing, partner_mfa_required


class UserLanguageMiddleware:
    """Apply the language remembered for the logged-in user (copied into the session at login and
    when they switch), and keep the language cookie in step so it survives logout on this device."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        language = session.get(LANGUAGE_SESSION_KEY) if session is not None else None
        if language and language != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if session is not None:  # set at login or by the language switch during this request
            language = session.get(LANGUAGE_SESSION_KEY)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response


class RequireMFAMiddleware:
    """Staff, and owners of organizations with an active enterprise or source contract, set up an
    authenticator app before they see any portal or admin page; account pages (login, 2FA setup,
    logout) stay reachable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(tuple(settings.PORTAL_MFA_EXEMPT_PATHS))
            and mfa_missing(user)
        ):
            messages.warning(
                request,
                _(
                    "Staff accounts require two-factor authentication. Set up an authenticator app to continue."
                )
                if staff_mfa_required(user)
                else _(
                    "Partner accounts require two-factor authentication. "
                    "Set up an authenticator app to continue."
                )
                if partner_mfa_required(user)
                else _(
                    "Your organization's contract requires two-factor authentication. "
                    "Set up an authenticator app to continue."
                ),
            )
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


class UserSessionsMiddleware:
    """allauth.usersessions' activity tracking (last seen, address, browser of each session), written
    at most every PORTAL_SESSION_ACTIVITY_SECONDS per session instead of on every request: the
    session list stays current to the minute without a write transaction on each page view. Login
    itself records the session (allauth's login signal), so new sessions show at once."""

    SESSION_KEY = "portal_session_seen"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from allauth.usersessions import app_settings
        from allauth.usersessions.models import UserSession

        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if (
            app_settings.TRACK_ACTIVITY
            and session is not None
            and session.session_key
            and user is not None
            and user.is_authenticated
        ):
            now = int(time.time())
            if now - session.get(self.SESSION_KEY, 0) >= settings.PORTAL_SESSION_ACTIVITY_SECONDS:
                UserSession.objects.create_from_request(request)
                session[self.SESSION_KEY] = now
        return self.get_response(request)
