"""Models of the catalog app: editions, modules and prices; releases and artifacts; downloads and NDA
acceptances; registry credentials."""

from editions.models.catalog import (
    Currency,
    Delivery,
    Edition,
    Module,
    ModuleKind,
    Price,
    PriceKind,
    PriceTerm,
    PurchasePath,
    SupportLevel,
)
from editions.models.downloads import Download, DownloadTransfer, NdaAcceptance, NdaTerms, ServeMode
from editions.models.registry import RegistryCredential
from editions.models.releases import Artifact, ArtifactKind, Release, ReleaseChannel, ReleaseSupport

__all__ = [
    "Artifact",
    "ArtifactKind",
    "Currency",
    "Delivery",
    "Download",
    "DownloadTransfer",
    "Edition",
    "Module",
    "ModuleKind",
    "NdaAcceptance",
    "NdaTerms",
    "Price",
    "PriceKind",
    "PriceTerm",
    "PurchasePath",
    "RegistryCredential",
    "Release",
    "ReleaseChannel",
    "ReleaseSupport",
    "ServeMode",
    "SupportLevel",
]
