"""The customers catalog is complete: every msgid translated, nothing fuzzy, the .mo compiled from it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PO = Path(__file__).resolve().parents[2] / "customers" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[str]:
    return [block for block in re.split(r"\n\s*\n", text) if "msgid" in block]


def _value(block: str, keyword: str) -> str:
    match = re.search(rf'^{keyword} ((?:".*"\n?)+)', block + "\n", re.MULTILINE)
    if not match:
        return ""
    return "".join(re.findall(r'"(.*)"', match.group(1)))


def test_every_message_is_translated_and_none_is_fuzzy():
    untranslated, fuzzy = [], []
    for block in _entries(PO.read_text(encoding="utf-8")):
        if block.lstrip().startswith("#~"):
            continue  # obsolete
        msgid = _value(block, "msgid")
        if not msgid:
            continue  # the header
        if "#, fuzzy" in block or re.search(r"^#,.*\bfuzzy\b", block, re.MULTILINE):
            fuzzy.append(msgid)
        values = [_value(block, r"msgstr\[0\]")] if "msgid_plural" in block else [_value(block, "msgstr")]
        if not all(values):
            untranslated.append(msgid)
    assert untranslated == [] and fuzzy == []


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="gettext tools not installed")
def test_the_compiled_catalog_is_up_to_date(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(PO)], check=True)
    assert compiled.read_bytes() == PO.with_suffix(".mo").read_bytes()
