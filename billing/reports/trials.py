"""Trial-to-paid conversion: trials started in the period and how many became paid."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from billing.reports.figures import Figure
from billing.reports.report_data import ReportData
from contracts.models import ContractStatus, TrialKind

PAID_STATES = {ContractStatus.ACTIVE, ContractStatus.EXPIRED}


def _ratio(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def trial_conversion(data: ReportData, date_from: date, date_to: date) -> Figure:
    """Trials started in [date_from, date_to] and how many became paid (the trial contract continued by
    an active or expired paid contract), per edition and channel."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for trial in data.trials:
        started_on = timezone.localdate(trial.created_at)
        if not (date_from <= started_on <= date_to):
            continue
        renewal = getattr(trial.contract, "renewal", None)
        paid = renewal is not None and renewal.status in PAID_STATES
        group = groups[(trial.edition.code, trial.kind)]
        group[0] += 1
        group[1] += int(paid)
    rows: list[list[Any]] = []
    series: list[tuple[str, Decimal]] = []
    started_total = converted_total = 0
    for (edition, kind), (started, converted) in sorted(groups.items()):
        rate = _ratio(converted, started)
        rows.append([edition, str(TrialKind(kind).label), started, converted, rate])
        series.append((f"{edition} · {TrialKind(kind).label}", rate * 100))
        started_total += started
        converted_total += converted
    value = _ratio(converted_total, started_total) if started_total else None
    columns = [_("edition"), _("channel"), _("trials started"), _("converted to paid"), _("conversion")]
    return Figure("trial_conversion", value, columns, rows, unit="ratio", count=started_total, series=series)
