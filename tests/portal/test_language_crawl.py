"""Every page in both languages (issue 22, item 6): the demo data, then every portal page and every admin
changelist and change page, as staff and as a customer, in Simplified Chinese and in English. A page fails
on text in the other language that is not user data, on a raw business code where its label belongs, and
on a time printed in UTC.

The pages come from the URL resolver (every pattern without arguments), the admin registry (each model's
changelist and the change page of one of its rows) and the links of the pages visited (the pages with
arguments: a contract, a ticket, an article…), so pages added later are crawled without editing this file.
"""

from __future__ import annotations

import re
import zoneinfo
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch
from django.utils import translation

from portal.pages.accounts import LANGUAGE_SESSION_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e]")
ENGLISH_WORDS = re.compile(r"(?<![\w-])[A-Za-z]{2,}(?:[ '][A-Za-z]{2,})+(?![\w-])")  # two English words
UTC_TIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\+00:00|Z)|\bUTC\b(?![+\-]\d)"
)
DOTTED_CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")  # an audit action such as invoice.issue
JSON_TEXT = re.compile(r'^\s*[\[{]\s*"[^"]+"\s*:')

# Words either language shows as they are: product and company names, units, formats, standards.
ALLOWED_ENGLISH = {
    "IoT Platform",
    "Powered by",
    "Swagger UI",
    "Bearer token",
    "Stripe Checkout",
    "WeChat Pay",
    "Google Authenticator",
    "Microsoft Authenticator",
    "Docker Hub",
    "X-Request-ID",
    # allauth's session and authenticator models give their fields no verbose_name: the admin derives these
    # labels from the field names, which no catalog can translate.
    "Created at",
    "Last seen at",
    "Last used at",
    "User agent",
}
# Glosses kept in both languages on purpose (the Chinese term a foreign customer meets on a fapiao).
ALLOWED_CHINESE = {"普票", "专票", "数电票", "发票", "人民币", "增值税", "发票流水号", "发票号码"}
# A short Chinese term in brackets after its English name is a gloss: "business calendar (工作日历)".
GLOSS = re.compile(r"[(（][^()（）]{0,12}[)）]")
# The language switch names each language in itself.
LANGUAGE_NAMES = {"简体中文", "English"}

TIME_ZONES = zoneinfo.available_timezones()
SKIP_PATH = re.compile(
    # django-celery-beat's admin: most of its labels are plain strings, not marked for translation, so no
    # catalog can translate them (a technical table of the system section).
    r"^/admin/django_celery_beat/|"
    r"^/(api|static|media|__)/|/logout/|/delete/|/download/|/get/|\.(key|pdf|csv|xlsx|zip|json|txt)$|"
    r"/i18n/|/language/|/jsi18n/|/autocomplete/"
)
MAX_PAGES = 700


class _Text(HTMLParser):
    """The visible text of a page (one entry per text node) and the text of the attributes people read."""

    SKIP = {"script", "style", "code", "pre", "textarea", "template", "kbd", "samp"}
    READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self.links: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if values.get("translate") == "no" or "user-data" in (values.get("class") or ""):
            self._skipping += 1 if tag not in self.SKIP else 0
        for name in self.READ_ATTRIBUTES & set(values):
            if values[name]:
                self.nodes.append(values[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skipping:
            self.nodes.append(text)


@dataclass
class Crawl:
    language: str
    user_data: list[str]
    codes: set[str]
    problems: list[str] = field(default_factory=list)
    exact_data: set[str] = field(default_factory=set)
    visited: set[str] = field(default_factory=set)

    def _explained(self, text: str, pattern: re.Pattern[str]) -> bool:
        """True when every offending piece of `text` is user data, allowed, or (in English) a gloss."""
        return self._removed(self._allowed_removed(text), pattern) or self._removed(text, pattern)

    def _allowed_removed(self, text: str) -> str:
        for allowed in sorted((*ALLOWED_ENGLISH, *ALLOWED_CHINESE, *LANGUAGE_NAMES), key=len, reverse=True):
            text = text.replace(allowed, " ")
        return text

    def _removed(self, rest: str, pattern: re.Pattern[str]) -> bool:
        for value in self.user_data:
            if not pattern.search(rest):
                return True
            if value in rest:
                rest = rest.replace(value, " ")
        rest = self._allowed_removed(rest)
        if self.language == "en":
            rest = GLOSS.sub(" ", rest)
        return not pattern.search(rest)

    def check(self, path: str, nodes: list[str]) -> None:
        for text in nodes:
            if text in TIME_ZONES or text.replace(" ", "_") in TIME_ZONES:
                continue  # a time zone's name (the IANA database's, in every language)
            if self.language == "en" and CJK.search(text) and not self._explained(text, CJK):
                self.problems.append(f"{path} [en] Chinese text: {text[:120]!r}")
            if (
                self.language == "zh-hans"
                and ENGLISH_WORDS.search(text)
                and not CJK.search(text)
                and not self._explained(text, ENGLISH_WORDS)
            ):
                self.problems.append(f"{path} [zh] English text: {text[:120]!r}")
            if text in self.codes and text not in self.exact_data:
                self.problems.append(f"{path} [{self.language}] raw code: {text!r}")
            if DOTTED_CODE.match(text) and text not in self.user_data:
                self.problems.append(f"{path} [{self.language}] raw code: {text!r}")
            if JSON_TEXT.match(text):
                self.problems.append(f"{path} [{self.language}] raw JSON: {text[:80]!r}")
            if UTC_TIME.search(text):
                self.problems.append(f"{path} [{self.language}] UTC time: {text[:80]!r}")


def _patterns(resolvers: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def start_paths(staff: bool) -> list[str]:
    """Every page without arguments the resolver knows; for staff, every admin changelist and one change
    page of each model that has a row."""
    paths = []
    for route, pattern in _patterns(get_resolver().url_patterns):
        if pattern.pattern.regex.groups or "<" in route or "^" in route or route.startswith("admin/"):
            continue
        paths.append("/" + route.replace("$", ""))
    if staff:
        for model, model_admin in admin.site._registry.items():
            prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
            row = model_admin.get_queryset(_StaffRequest()).order_by("-pk").first()
            for name, args in (("changelist", []), ("change", [row]), ("history", [row])):
                try:  # a report registered as a model has a changelist only
                    if None not in args:
                        paths.append(reverse(f"{prefix}_{name}", args=[a.pk for a in args]))
                except NoReverseMatch:
                    pass
        paths.append(reverse("admin:index"))
    return [p for p in paths if not SKIP_PATH.search(p)]


class _StaffRequest:
    """Enough of a request for ModelAdmin.get_queryset (a superuser)."""

    class user:
        is_superuser = True
        is_staff = True
        is_active = True
        is_authenticated = True

    GET: dict[str, str] = {}


def user_data() -> list[str]:
    """Every text stored in the database (names, subjects, addresses…), longest first: text that comes
    from users is shown as it is, whatever the language."""
    values: set[str] = set()
    for model in apps.get_models():
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField))
            and not getattr(f, "choices", None)
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields)[:2000]:
            for value in row:
                values.update(_texts(value))
    return sorted(values, key=len, reverse=True)


MARKDOWN = re.compile(r"^\s*(?:[-*+]|\d+\.|#+)\s+|\*\*|__|`")


def _texts(value: Any) -> Iterator[str]:
    """The strings in a stored value (JSON included), whole and line by line, Markdown marks removed."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, str) and (len(value.strip()) >= 2 or CJK.search(value)):
        yield value.strip()
        for line in value.splitlines():
            line = MARKDOWN.sub("", line).strip()
            if len(line) >= 2:
                yield line


def business_codes(language: str) -> set[str]:
    """The stored values of every choice field whose label in `language` differs from the value (e.g.
    `refresh`, `platform`, `paid`), unless the value is also some label: on a page, the label belongs."""
    codes: set[str] = set()
    labels: set[str] = set()
    with translation.override(language):
        for model in apps.get_models():
            for f in model._meta.concrete_fields:
                for value, label in f.flatchoices or []:
                    labels.add(str(label))
                    if isinstance(value, str) and value and str(label) != value and not value.isupper():
                        codes.add(value)
    codes |= {code for code, _name in settings.LANGUAGES if code != "en"}  # zh-hans
    return codes - labels


def crawl(client: Client, language: str, staff: bool, data: list[str], codes: set[str]) -> Crawl:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    session = client.session
    session[LANGUAGE_SESSION_KEY] = language
    session.save()
    result = Crawl(language=language, user_data=data, codes=codes, exact_data=set(data))
    queue = deque(start_paths(staff))
    while queue and len(result.visited) < MAX_PAGES:
        path = queue.popleft()
        if path in result.visited:
            continue
        result.visited.add(path)
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        if response.status_code in (301, 302, 303, 307):
            target = urlsplit(response["Location"]).path
            if target and target not in result.visited and not SKIP_PATH.search(target):
                queue.append(target)
            continue
        if response.status_code >= 500:
            result.problems.append(f"{path} [{language}] answers {response.status_code}")
            continue
        if "text/html" not in response.get("Content-Type", "") or response.status_code != 200:
            continue
        parser = _Text()
        parser.feed(response.content.decode())
        result.check(path, parser.nodes)
        for href in parser.links:
            target, _fragment = urldefrag(href)
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.query:
                continue
            if SKIP_PATH.search(parts.path) or parts.path in result.visited:
                continue
            if parts.path.startswith("/admin/") and not staff:
                continue
            queue.append(parts.path)
    return result


@pytest.fixture
def demo() -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user_model = get_user_model()
    return {
        "staff": user_model.objects.get(username="admin"),
        "customer": user_model.objects.get(username="customer"),
    }


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_speaks_one_language(demo: dict[str, Any], language: str) -> None:
    data, codes = user_data(), business_codes(language)
    problems: list[str] = []
    for role in ("staff", "customer"):
        client = Client()
        client.force_login(demo[role])
        result = crawl(client, language, role == "staff", data, codes)
        assert len(result.visited) > (100 if role == "staff" else 15), sorted(result.visited)
        problems += [f"{role}: {p}" for p in result.problems]
    unique = sorted(set(problems))
    # One line per distinct text, with the number of pages and the first page it was seen on.
    seen: dict[str, list[str]] = {}
    for problem in unique:
        where, _sep, what = problem.partition(" [")
        seen.setdefault("[" + what, []).append(where)
    report = [f"{what}  ({len(pages)}x, e.g. {pages[0]})" for what, pages in sorted(seen.items())]
    assert not report, f"{len(report)} problems:\n" + "\n".join(report[:500])
