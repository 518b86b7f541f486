"""The billing catalog ships complete and compiled, including its context ("billing") entries, and
billing's own words win over same-spelled words of other apps."""

import gettext
import re
from pathlib import Path

from django.utils import translation

from billing.models import CheckoutStatus, ExportStatus, InvoiceStatus, PaymentStatus, TaxCategory

PO = Path(__file__).resolve().parents[2] / "billing" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{\w*\}")


def _unquote(value: str) -> str:
    return value[1:-1].encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def entries() -> list[dict]:
    found, current, field = [], {}, None
    for raw in [*PO.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if current.get("msgid"):
                found.append(current)
            current, field = {}, None
        elif line.startswith("#,") and "fuzzy" in line:
            current["fuzzy"] = True
        elif line.startswith("#"):
            continue
        elif line.split(" ", 1)[0] in {"msgctxt", "msgid", "msgid_plural", "msgstr", "msgstr[0]"}:
            key, _, value = line.partition(" ")
            field = {"msgstr[0]": "msgstr"}.get(key, key)
            current[field] = _unquote(value)
        elif line.startswith('"') and field:
            current[field] += _unquote(line)
    return found


def test_catalog_complete_with_placeholders_and_compiled():
    items = entries()
    assert len(items) > 300
    assert not [e["msgid"] for e in items if not e.get("msgstr")]
    assert not [e["msgid"] for e in items if e.get("fuzzy")]
    for entry in items:
        assert sorted(PLACEHOLDER.findall(entry["msgid"])) == sorted(PLACEHOLDER.findall(entry["msgstr"])), (
            entry
        )
    with open(PO.with_suffix(".mo"), "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for entry in items:
        if "msgid_plural" in entry:
            continue
        got = (
            compiled.pgettext(entry["msgctxt"], entry["msgid"])
            if "msgctxt" in entry
            else compiled.gettext(entry["msgid"])
        )
        assert got == entry["msgstr"], f".mo out of date for {entry['msgid']!r}"


def test_billing_words_in_chinese():
    with translation.override("zh-hans"):
        assert str(InvoiceStatus.ISSUED.label) == "已开具"
        assert str(PaymentStatus.PARTIAL.label) == "部分付款"
        assert str(TaxCategory.MAINTENANCE.label) == "运维服务"
        assert str(CheckoutStatus.OPEN.label) == "未结"
        assert str(ExportStatus.FAILED.label) == "失败"
        assert translation.pgettext("billing", "Name") == "名称"
