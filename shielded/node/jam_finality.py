"""A jam validator's OSST keys: the reshare round through the finality service, its shares,
and the keys each block's votes verify against.

The chain's `KeyRecord` lives in the finality service's storage (`shielded.native_finality`);
this module is the validator's side of it, as `resharing.Resharer` is on the other program:

* `ServiceRound` reads the record at the head (decoded once per distinct value), so the
  `Resharer` deals, complains and answers on it, and derives this validator's new share
  from its basis round;
* `JamFinality.duties(slot)` turns the round messages this validator owes into work items
  for the finality service (`reshare_payload`), which its guarantors package, and every
  validator refines and accumulates;
* the keys in force at each block's posterior state are stored with the block (node-local
  data, `KEYS_LOCAL`, written in the block's transaction), so a vote for any known block,
  on any branch, is checked against that block's keys (`keys_for_block`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nacl.signing import SigningKey

from jamcore.block import Block
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from shielded.finality.keys import EpochKeys, KeyShare
from shielded.finality.transport import Signed
from shielded.native_finality import RECORD_ITEM, reshare_payload
from shielded.node.jam_chain import LocalHook
from shielded.node.key_record import KeyRecord, ReshareError, RoundContext
from shielded.node.resharing import Resharer
from shielded.node.storage import ChainStore

__all__ = ["KEYS_LOCAL", "JamFinality", "ServiceRound"]

log = logging.getLogger(__name__)

KEYS_LOCAL = "finality_keys"
"""Node-local name of E(the OSST keys in force at a block's posterior state)."""


class ServiceRound:
    """The reshare round as the finality service holds it at the head (a `RoundSource`).

    The devnet's validator set never changes, so the dealers and the recipients are the
    genesis validators, as the service's accumulate has them."""

    def __init__(
        self,
        chain_id: bytes,
        keys: EpochKeys,
        epoch_length: int,
        validator_keys: Sequence[bytes],
        service: int,
        head_state: Callable[[], State],
    ) -> None:
        self.chain_id = chain_id
        self.keys = keys
        self.epoch_length = epoch_length
        self.validator_keys = list(validator_keys)
        self.service = service
        self.head_state = head_state
        self._cached: tuple[bytes, KeyRecord] | None = None

    def record_of(self, state: State) -> KeyRecord:
        """The record in `state` (the genesis record if the service holds none)."""
        account = state.services.get(self.service)
        raw = None
        if account is not None:
            raw = account.entries.get(storage_key(self.service, RECORD_ITEM))
        if raw is None:
            return KeyRecord.genesis(self.keys)
        raw = bytes(raw)
        if self._cached is None or self._cached[0] != raw:
            self._cached = (raw, KeyRecord.decode(raw))
        return self._cached[1]

    def record(self, store: ChainStore) -> KeyRecord:
        return self.record_of(self.head_state())

    def round_context(self, slot: int, state: Any) -> RoundContext:
        return RoundContext(
            self.chain_id, slot, self.epoch_length, self.validator_keys, self.validator_keys
        )


class JamFinality:
    """Validator `index`'s keys, shares and round duties on the jam program."""

    def __init__(
        self,
        store: ChainStore,
        round_source: ServiceRound,
        index: int,
        signing_key: SigningKey,
        genesis_share: KeyShare,
    ) -> None:
        self.store = store
        self.round = round_source
        self.resharer = Resharer(
            store,
            round_source,
            index,
            signing_key,
            genesis_share,
            round_source.validator_keys,
        )
        self._keys: dict[bytes, EpochKeys] = {}

    def record(self) -> KeyRecord:
        return self.round.record(self.store)

    def share_for(self, keys: EpochKeys) -> KeyShare | None:
        return self.resharer.share_for(keys)

    def keys_for_block(self, block_hash: bytes, slot: int) -> tuple[EpochKeys | None, bool]:
        """The keys of `block_hash`'s posterior state, definitive, once the block is known
        (the genesis keys for blocks stored without them); else the head record's keys for
        the slot's epoch, as a guess (the vote waits if they do not verify it)."""
        if self.store.has_block(block_hash):
            raw = self.store.local(block_hash, KEYS_LOCAL)
            return (self.round.keys if raw is None else self._decode(raw)), True
        record = self.record()
        return record.keys_at(slot // self.round.epoch_length) or record.keys, False

    def _decode(self, raw: bytes) -> EpochKeys:
        keys = self._keys.get(raw)
        if keys is None:
            if len(self._keys) > 16:
                self._keys.clear()
            keys = self._keys[raw] = EpochKeys.decode(raw)
        return keys

    def with_keys(self, hook: LocalHook | None) -> LocalHook:
        """`hook` (the pool view's compact blocks) plus the keys in force at the block."""

        def local_of(block: Block, block_hash: bytes, prior: State, posterior: State) -> Mapping[
            str, bytes
        ]:
            local = dict(hook(block, block_hash, prior, posterior)) if hook else {}
            local[KEYS_LOCAL] = self.round.record_of(posterior).keys.encode()
            return local

        return local_of

    def duties(self, slot: int) -> list[bytes]:
        """The work item payloads of the round messages this validator owes at `slot`."""
        try:
            made: list[Signed] = self.resharer.duties(slot, None)
        except ReshareError as error:
            log.warning("reshare duties at slot %d failed: %s", slot, error)
            return []
        return [reshare_payload(message) for message in made]
