"""Reads of the catalog: prices that apply on a date; releases and artifacts an organization may fetch
(given its entitlement), NDA terms, registry credentials."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django.db.models import Q, QuerySet
from django.utils import timezone

from customers.models import Organization
from editions.models import (
    Artifact,
    ArtifactKind,
    Download,
    Edition,
    NdaAcceptance,
    NdaTerms,
    Price,
    PriceKind,
    PriceTerm,
    RegistryCredential,
    Release,
    ReleaseChannel,
)


def current_prices(*, edition: Edition, currency: str, on: date) -> QuerySet[Price]:
    return Price.objects.filter(
        edition=edition, currency=currency, module__isnull=True, valid_from__lte=on
    ).order_by("kind", "term", "-valid_from")


def default_contract_price(
    *, edition: Edition, currency: str, start_date: date, end_date: date, include_one_time: bool = True
) -> Decimal:
    """The price-list value of a contract's term: yearly fees pro rata by whole years (at least one),
    plus one-time fees; metered editions start at zero (usage is invoiced monthly)."""
    latest: dict[tuple[str, str], Price] = {}
    for price in current_prices(edition=edition, currency=currency, on=start_date):
        latest.setdefault((price.kind, price.term), price)
    years = max(1, round((end_date - start_date).days / 365.25))
    total = Decimal("0")
    for (kind, term), price in latest.items():
        if term == PriceTerm.ONCE and kind == PriceKind.LICENSE and include_one_time:
            total += price.amount
        elif term == PriceTerm.YEAR:
            total += price.amount * years
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def has_one_time_fee(*, edition: Edition, currency: str, on: date) -> bool:
    return current_prices(edition=edition, currency=currency, on=on).filter(term=PriceTerm.ONCE).exists()


# --- releases, artifacts and who may fetch them --------------------------------------------------------
# Who may fetch what follows the organization's contracts in force: their editions and modules, in the
# term (contracts.entitlements, the one rule licenses, downloads and support read). The downloads pages,
# the download links, the NDA gate and the registry token server pass that entitlement to these
# functions. Contracts build on this catalog, so editions never import them: the contracts app plugs
# its rule in when the app registry is ready (contracts.apps), and `entitlement_for` asks it.


class DeliveryEntitlement(Protocol):
    """What downloads read of an organization's entitlement (an OrganizationEntitlement of
    contracts.entitlements)."""

    @property
    def contracts(self) -> tuple[Any, ...]: ...

    @property
    def edition_ids(self) -> frozenset[int]: ...

    @property
    def module_ids(self) -> frozenset[int]: ...

    @property
    def source_contracts(self) -> tuple[Any, ...]: ...

    def source_grants(self) -> tuple[frozenset[int], frozenset[int]]: ...

    def contracts_entitling(self, artifact: Artifact, *, source_only: bool = False) -> list[Any]: ...


@dataclass(frozen=True)
class NoEntitlement:
    """Anonymous callers, or no rule plugged in: nothing but public artifacts."""

    contracts: tuple[Any, ...] = ()
    edition_ids: frozenset[int] = frozenset()
    module_ids: frozenset[int] = frozenset()
    source_contracts: tuple[Any, ...] = ()

    def source_grants(self) -> tuple[frozenset[int], frozenset[int]]:
        return frozenset(), frozenset()

    def contracts_entitling(self, artifact: Artifact, *, source_only: bool = False) -> list[Any]:
        return []


_entitlement_source: Callable[[Organization], DeliveryEntitlement] | None = None


def entitlement_source_set(source: Callable[[Organization], DeliveryEntitlement] | None) -> None:
    """Called by the contracts app at start-up with contracts.entitlements.organization_entitlement."""
    global _entitlement_source
    _entitlement_source = source


def entitlement_for(organization: Organization | None) -> DeliveryEntitlement:
    if organization is None or _entitlement_source is None:
        return NoEntitlement()
    return _entitlement_source(organization)


def _granted_by(edition_ids: Iterable[int], module_ids: Iterable[int]) -> Q:
    edition_ids, module_ids = list(edition_ids), list(module_ids)
    q = Q(pk__in=[])
    if edition_ids:
        q |= Q(
            pk__in=Artifact.editions.through.objects.filter(edition_id__in=edition_ids).values("artifact_id")
        )
    if module_ids:
        q |= Q(pk__in=Artifact.modules.through.objects.filter(module_id__in=module_ids).values("artifact_id"))
    return q


def _public_q() -> Q:
    """Artifacts of a non-commercial edition (Community) are public."""
    return Q(
        pk__in=Artifact.editions.through.objects.filter(edition__is_commercial=False).values("artifact_id")
    )


def artifacts_for(entitlement: DeliveryEntitlement) -> QuerySet[Artifact]:
    """Published artifacts this entitlement may fetch, newest release first. Source archives need a
    source-license contract (an edition that requires an NDA) unless they are public."""
    source_editions, source_modules = entitlement.source_grants()
    allowed = _public_q() | (
        ~Q(kind=ArtifactKind.SOURCE_ARCHIVE) & _granted_by(entitlement.edition_ids, entitlement.module_ids)
    )
    allowed |= Q(kind=ArtifactKind.SOURCE_ARCHIVE) & _granted_by(source_editions, source_modules)
    return (
        Artifact.objects.filter(release__is_published=True)
        .filter(allowed)
        .select_related("release")
        .prefetch_related("editions", "modules")
        .order_by("-release__released_on", "-release_id", "sort_order", "kind", "name")
    )


def is_public(artifact: Artifact) -> bool:
    return any(not e.is_commercial for e in artifact.editions.all())


@dataclass(frozen=True)
class ArtifactAccess:
    """Why (and on which terms) an organization may fetch one artifact."""

    artifact: Artifact
    public: bool
    contract: Any  # the entitling contract (or None); for source archives the source-license one
    needs_nda: bool  # a non-public source archive: NDA on file + accepted terms + watermark

    @property
    def nda_on_file(self) -> bool:
        return bool(self.contract and self.contract.nda_signed_on)


def artifact_access(*, entitlement: DeliveryEntitlement, artifact_id: int) -> ArtifactAccess:
    """Raises Artifact.DoesNotExist when the artifact is unknown, unpublished or not entitled, so that the
    caller answers 404 whichever it is."""
    artifact = artifacts_for(entitlement).get(pk=artifact_id)
    public = is_public(artifact)
    needs_nda = artifact.kind == ArtifactKind.SOURCE_ARCHIVE and not public
    contracts = entitlement.contracts_entitling(artifact, source_only=needs_nda)
    if needs_nda:
        # Prefer a contract with the NDA on file, so one without it cannot shadow it.
        contracts.sort(key=lambda c: c.nda_signed_on is None)
    return ArtifactAccess(
        artifact=artifact, public=public, contract=contracts[0] if contracts else None, needs_nda=needs_nda
    )


def releases_with_artifacts(
    entitlement: DeliveryEntitlement, *, channel: str = ""
) -> list[tuple[Release, list[Artifact]]]:
    """The downloads page: each published release the organization may fetch something of, newest first."""
    qs = artifacts_for(entitlement)
    if channel:
        qs = qs.filter(release__channel=channel)
    grouped: dict[int, tuple[Release, list[Artifact]]] = {}
    for artifact in qs:
        grouped.setdefault(artifact.release_id, (artifact.release, []))[1].append(artifact)
    return list(grouped.values())


def registry_repositories(entitlement: DeliveryEntitlement) -> set[str]:
    """Registry repositories the entitlement may pull: those of the artifacts it may fetch."""
    return set(
        artifacts_for(entitlement)
        .exclude(repository="")
        .order_by()
        .values_list("repository", flat=True)
        .distinct()
    )


def organizations_of(user: Any) -> list[Organization]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Organization.objects.filter(memberships__user=user).order_by("name", "id"))


def nda_terms_current() -> NdaTerms | None:
    return NdaTerms.objects.filter(published_at__lte=timezone.now()).order_by("-published_at", "-id").first()


def nda_acceptance_current(*, user: Any, organization: Organization) -> NdaAcceptance | None:
    """The user's acceptance, for this organization, of the terms in force (None: must accept)."""
    terms = nda_terms_current()
    if terms is None or not getattr(user, "is_authenticated", False):
        return None
    return NdaAcceptance.objects.filter(user=user, organization=organization, terms=terms).first()


def registry_credentials_of(organization: Organization) -> QuerySet[RegistryCredential]:
    return RegistryCredential.objects.filter(organization=organization).select_related("created_by")


def download_get(download_id: Any) -> Download:
    return Download.objects.select_related("artifact__release", "user", "organization", "contract").get(
        download_id=download_id
    )


# --- releases as check-ins see them -----------------------------------------------------------------
# Every check-in asks "is there a newer release on this deployment's channel, is its release still
# supported?". The answer comes from a small index of the published releases held in each process for
# RELEASE_INDEX_SECONDS and dropped at once when a release is saved or deleted in this process
# (editions.apps connects the signals); other processes see a change within that time.

RELEASE_INDEX_SECONDS = 60.0
_VERSION_PART = re.compile(r"\d+")


def version_key(version: str) -> tuple[int, ...]:
    """A sortable form of a version string ("v3.10.2" > "3.9"); no digits sorts first."""
    return tuple(int(part) for part in _VERSION_PART.findall(version)[:6])


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    channel: str
    support_status: str
    key: tuple[int, ...]


@dataclass(frozen=True)
class ReleaseIndex:
    by_version: dict[str, ReleaseInfo]
    newest_by_channel: dict[str, ReleaseInfo]
    loaded_at: float

    def advice(self, version: str) -> tuple[ReleaseInfo | None, ReleaseInfo | None]:
        """(the newer release the deployment should move to or None, the release it runs or None).
        A version that is no release of ours compares with the newest stable release."""
        running = self.by_version.get(version.strip().removeprefix("v")) if version else None
        channel = running.channel if running else ReleaseChannel.STABLE
        newest = self.newest_by_channel.get(channel)
        if newest is None or not version:
            return None, running
        key = running.key if running else version_key(version)
        if not key or newest.key <= key:
            return None, running
        return newest, running


_RELEASE_INDEX: ReleaseIndex | None = None


def release_index() -> ReleaseIndex:
    global _RELEASE_INDEX
    index = _RELEASE_INDEX
    if index is None or time.monotonic() - index.loaded_at > RELEASE_INDEX_SECONDS:
        by_version: dict[str, ReleaseInfo] = {}
        newest: dict[str, ReleaseInfo] = {}
        for version, channel, status in Release.objects.published().values_list(
            "version", "channel", "support_status"
        ):
            info = ReleaseInfo(version, channel, status, version_key(version))
            by_version[version.removeprefix("v")] = info
            if channel not in newest or info.key > newest[channel].key:
                newest[channel] = info
        index = _RELEASE_INDEX = ReleaseIndex(by_version, newest, time.monotonic())
    return index


def release_index_clear(**_kwargs: Any) -> None:
    global _RELEASE_INDEX
    _RELEASE_INDEX = None


# --- the public pricing page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EditionOffer:
    """One edition as the pricing page shows it, in one currency: its own price lines (the latest of each
    kind and term) and the fee of each module it may add."""

    edition: Edition
    prices: tuple[Price, ...]
    module_fees: dict[str, Price]
    included: tuple[Any, ...]
    optional: tuple[Any, ...]

    def price(self, kind: str, term: str) -> Price | None:
        return next((p for p in self.prices if p.kind == kind and p.term == term), None)

    @property
    def device_price(self) -> Price | None:
        return self.price(PriceKind.USAGE, PriceTerm.DEVICE_MONTH)


@dataclass(frozen=True)
class PricingCatalog:
    currency: str
    on: date
    offers: tuple[EditionOffer, ...]

    def offer(self, code: str) -> EditionOffer | None:
        return next((o for o in self.offers if o.edition.code == code), None)

    @property
    def verticals(self) -> list[Any]:
        seen: dict[str, Any] = {}
        for offer in self.offers:
            for module in (*offer.included, *offer.optional):
                if module.kind == "vertical":
                    seen.setdefault(module.code, module)
        return sorted(seen.values(), key=lambda m: (m.sort_order, m.code))


def pricing_catalog(*, currency: str, on: date | None = None) -> PricingCatalog:
    """Every edition on sale with its prices in `currency` valid on `on` (today): four queries whatever the
    size of the catalog."""
    from django.db.models import Prefetch

    on = on or timezone.localdate()
    prices = (
        Price.objects.filter(currency=currency, valid_from__lte=on)
        .select_related("module")
        .order_by("-valid_from", "pk")
    )
    editions = (
        Edition.objects.filter(is_active=True)
        .prefetch_related(
            "included_modules", "optional_modules", Prefetch("prices", queryset=prices, to_attr="price_lines")
        )
        .order_by("sort_order", "code")
    )
    offers = []
    for edition in editions:
        own: dict[tuple[str, str], Price] = {}
        fees: dict[str, Price] = {}
        for price in edition.price_lines:
            if price.module_id is None:
                own.setdefault((price.kind, price.term), price)
            elif price.kind == PriceKind.MODULE_FEE and price.module is not None:
                fees.setdefault(price.module.code, price)
        offers.append(
            EditionOffer(
                edition=edition,
                prices=tuple(own.values()),
                module_fees=fees,
                included=tuple(edition.included_modules.all()),
                optional=tuple(edition.optional_modules.all()),
            )
        )
    return PricingCatalog(currency=currency, on=on, offers=tuple(offers))


@dataclass(frozen=True)
class SaasEstimate:
    devices: int
    months: int
    device_price: Decimal
    devices_total: Decimal
    module_total: Decimal
    modules: tuple[str, ...]

    @property
    def total(self) -> Decimal:
        return self.devices_total + self.module_total

    @property
    def monthly(self) -> Decimal:
        return (self.total / self.months).quantize(CENT, rounding=ROUND_HALF_UP) if self.months else CENT * 0


CENT = Decimal("0.01")


def saas_estimate(
    *, offer: EditionOffer, devices: int, months: int, module_codes: Iterable[str]
) -> SaasEstimate:
    """What SaaS costs for `devices` devices over `months` months with the chosen modules: devices × months
    × the per-device price, plus each module's monthly fee × months (unknown module codes are ignored)."""
    device_price = offer.device_price.amount if offer.device_price else Decimal("0")
    chosen = tuple(code for code in dict.fromkeys(module_codes) if code in offer.module_fees)
    devices_total = (device_price * devices * months).quantize(CENT, rounding=ROUND_HALF_UP)
    module_total = sum(
        (_monthly(offer.module_fees[code]) * months for code in chosen), Decimal("0")
    ).quantize(CENT, rounding=ROUND_HALF_UP)
    return SaasEstimate(
        devices=devices,
        months=months,
        device_price=device_price,
        devices_total=devices_total,
        module_total=module_total,
        modules=chosen,
    )


def _monthly(price: Price) -> Decimal:
    if price.term == PriceTerm.YEAR:
        return price.amount / 12
    return price.amount
