"""Signing key writes: create, rotate, re-encrypt at rest."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from licenses import keys
from licenses.models import ActivationCode, KeyAlgorithm, KeyState, SigningKey
from portal.core.actors import Actor
from portal.core.services import audit

logger = logging.getLogger(__name__)


def _new_key(algorithm: str) -> SigningKey:
    private_key = keys.new_private_key(algorithm)
    return SigningKey(
        kid=keys.new_kid(algorithm),
        algorithm=algorithm,
        public_key_pem=keys.public_key_pem(private_key),
        private_key_encrypted=keys.encrypt(keys.private_key_pem(private_key)),
        state=KeyState.ACTIVE,
    )


@transaction.atomic
def signing_key_create(
    *, actor: Actor, algorithm: str = KeyAlgorithm.RS256, next_key: bool = False
) -> SigningKey:
    """A new active key (fails with IntegrityError when one of this algorithm is already active), or
    with `next_key` the key the next rotation will activate: published in the JWKS and in
    `license_keys export` at once, so platform releases can pin it before it signs anything."""
    key = _new_key(KeyAlgorithm(algorithm))
    if next_key:
        key.state = KeyState.NEXT
    key.save()
    audit(actor=actor, action="signing_key.create", target=key, data={"kid": key.kid, "algorithm": algorithm})
    logger.info("license signing key %s (%s) created", key.kid, key.algorithm)
    return key


@transaction.atomic
def signing_key_rotate(*, actor: Actor, algorithm: str = KeyAlgorithm.RS256) -> SigningKey:
    """Retire the active key of `algorithm` (it keeps verifying and stays published until the last
    license it signed expires) and make the staged next key (or a new one) active. Licenses move to the new key as they are
    refreshed at check-in (every 7 days), so no token is invalidated by a rotation."""
    algorithm = KeyAlgorithm(algorithm)
    staged = (
        SigningKey.objects.filter(algorithm=algorithm, state=KeyState.NEXT).order_by("created_at").first()
    )
    # Generate before taking the lock (RSA generation takes a while), unless a next key is staged.
    new_key = staged or _new_key(algorithm)
    previous = (
        SigningKey.objects.select_for_update().filter(algorithm=algorithm, state=KeyState.ACTIVE).first()
    )
    if previous is not None:
        previous.state = KeyState.RETIRED
        previous.retired_at = timezone.now()
        previous.save(update_fields=["state", "retired_at"])
        audit(actor=actor, action="signing_key.retire", target=previous, data={"kid": previous.kid})
    new_key.state = KeyState.ACTIVE
    new_key.save()
    audit(
        actor=actor,
        action="signing_key.activate" if staged else "signing_key.create",
        target=new_key,
        data={"kid": new_key.kid, "algorithm": algorithm, "replaces": previous.kid if previous else None},
    )
    logger.info("license signing key rotated: %s -> %s", previous.kid if previous else "-", new_key.kid)
    return new_key


def signing_key_for_issuing(algorithm: str = KeyAlgorithm.RS256) -> SigningKey:
    """The active key of `algorithm`, created on first use so a fresh install (the demo) can issue
    licenses without a setup step. Safe under concurrency: the loser of a creation race uses the
    winner's key."""
    key = SigningKey.objects.filter(algorithm=algorithm, state=KeyState.ACTIVE).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return signing_key_create(actor=None, algorithm=algorithm)
    except IntegrityError:
        return SigningKey.objects.get(algorithm=algorithm, state=KeyState.ACTIVE)


@transaction.atomic
def signing_keys_reencrypt(*, actor: Actor) -> int:
    """Re-encrypt every private key (and activation code) with the first LICENSE_KEY_ENCRYPTION_KEY;
    run after putting a new key in front of the old one (`new,old`), then drop the old one."""
    fernet = keys.fernet()
    count = 0
    for key in SigningKey.objects.select_for_update().order_by("pk"):
        key.private_key_encrypted = fernet.rotate(bytes(key.private_key_encrypted))
        key.save(update_fields=["private_key_encrypted"])
        count += 1
    for code in ActivationCode.objects.select_for_update().order_by("pk"):
        code.code_encrypted = fernet.rotate(bytes(code.code_encrypted))
        code.save(update_fields=["code_encrypted"])
    keys.clear_cache()
    first_key = SigningKey.objects.first()
    if count and first_key is not None:
        audit(
            actor=actor,
            action="signing_key.reencrypt",
            target=first_key,
            data={"keys": count},
        )
    return count
