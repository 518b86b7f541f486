"""Copyable commands for an artifact: docker pull, helm pull, sha256sum."""

from __future__ import annotations

import shlex

from django import template
from django.conf import settings
from django.utils.translation import gettext as _

from editions.models import Artifact, ArtifactKind

register = template.Library()


@register.simple_tag
def artifact_commands(artifact: Artifact) -> list[tuple[str, str]]:
    """(label, command) pairs to show with a copy button."""
    host = settings.REGISTRY_HOST
    commands: list[tuple[str, str]] = []
    if artifact.kind == ArtifactKind.DOCKER_IMAGE:
        commands.append(
            (_("Pull by tag"), f"docker pull {host}/{artifact.repository}:{artifact.effective_tag}")
        )
        commands.append((_("Pull by digest"), f"docker pull {host}/{artifact.repository}@{artifact.digest}"))
        return commands
    if artifact.kind == ArtifactKind.HELM_CHART and artifact.repository:
        commands.append(
            (
                _("Pull the chart"),
                f"helm pull oci://{host}/{artifact.repository} --version {artifact.effective_tag}",
            )
        )
    if artifact.sha256:
        commands.append(
            (
                _("Verify the download"),
                f"echo {shlex.quote(artifact.sha256 + '  ' + artifact.filename)} | sha256sum -c -",
            )
        )
    return commands


@register.simple_tag
def docker_login_command() -> str:
    return f"docker login {settings.REGISTRY_HOST}"
