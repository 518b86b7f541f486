"""Signals of the contracts app: how the apps that build on contracts follow them, without contracts
importing those apps (licenses connects to `contract_ended` in licenses.apps)."""

from django.dispatch import Signal

# Sent by the daily lifecycle (contracts.lifecycle) for a contract whose term has just ended, whose
# grace period has ended, or that was cancelled recently; sent again on the catch-up days, so a
# receiver must be idempotent. Keyword arguments: `contract`, `now`. A receiver returns how many of
# its rows it changed (added up in the run's report); an exception it raises fails that contract's
# step of the run, which goes on with the next contract.
contract_ended = Signal()

# Sent by contracts.services.contract_activate inside its transaction, after the contract became
# active. Keyword arguments: `contract`. A renewal activated ahead of its start extends what the
# contracts it renews grant (contracts.entitlements.chain_end): the licenses app offers offline
# deployments their new license file. Receivers must only enqueue work (enqueue_on_commit).
contract_activated = Signal()
