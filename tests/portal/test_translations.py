"""Simplified Chinese ships complete: every catalog has a translation for every message, the compiled
.mo matches the .po, and placeholders survive translation."""

import gettext
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted(ROOT.glob("*/locale/zh_Hans/LC_MESSAGES/django.po"))
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{\w*\}")


def _entries(po_path: Path) -> list[tuple[str, str, bool]]:
    """(key, msgstr, fuzzy) of each entry: the key is the msgid, prefixed by its context if it has one;
    plural entries give msgid and msgstr[0]."""
    entries, current, fuzzy, field = [], {}, False, None

    def flush() -> None:
        nonlocal current, fuzzy
        if current.get("msgid"):
            # gettext keys a message with context as "context\x04msgid" (what pgettext looks up).
            key = f"{current['msgctxt']}\x04{current['msgid']}" if "msgctxt" in current else current["msgid"]
            entries.append((key, current.get("msgstr", ""), fuzzy))
        current, fuzzy = {}, False

    for raw in po_path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
            field = None
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith(("msgctxt ", "msgid ", "msgid_plural ", "msgstr ", "msgstr[0] ", "msgstr[1] ")):
            key, _, value = line.partition(" ")
            field = {"msgstr[0]": "msgstr", "msgid_plural": None, "msgstr[1]": None}.get(key, key)
            if field:
                current[field] = _unquote(value)
        elif line.startswith('"') and field:
            current[field] += _unquote(line)
    flush()
    return entries


def _unquote(value: str) -> str:
    return value[1:-1].encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def test_there_are_catalogs():
    assert {p.parts[-5] for p in CATALOGS} >= {"portal", "customers", "editions", "contracts"}


@pytest.mark.parametrize("po_path", CATALOGS, ids=lambda p: p.parts[-5])
def test_catalog_is_complete_and_compiled(po_path: Path):
    entries = _entries(po_path)
    assert entries
    untranslated = [msgid for msgid, msgstr, _f in entries if not msgstr]
    fuzzy = [msgid for msgid, _s, f in entries if f]
    assert not untranslated, f"untranslated in {po_path}: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy in {po_path}: {fuzzy[:10]}"
    for msgid, msgstr, _f in entries:
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid
    with open(po_path.with_suffix(".mo"), "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = [
        msgid
        for msgid, msgstr, _f in entries
        if "\x00" not in msgid and compiled.gettext(msgid) == msgid != msgstr
    ]
    assert not stale, f"{po_path.with_suffix('.mo')} is out of date (run make messages): {stale[:5]}"
