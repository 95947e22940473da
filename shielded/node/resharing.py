"""One validator's part in the on-chain reshare rounds (design section 4).

Each slot (`duties`), on the head's `KeyRecord`:
* while dealings are open (phase < E/2 - 1), a validator of the epoch that has a share of
  the keys in force deals it to the next epoch's validators, once, and keeps the plain
  shares (in its store's notes) to answer complaints, also across a restart;
* while complaints are open, it opens its share of every dealing on chain and complains
  about one it cannot open or that fails its commitment;
* it answers every complaint against its own dealing by revealing the disputed share.
New messages go to the round's pool (`pool`), which is gossiped and from which authors
take what the record admits (`for_block`). At an epoch change the chain closes the round;
`share_for` then derives this validator's new share from the chain's basis round and
files it under the keys' fingerprint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from nacl.signing import SigningKey

from shielded.finality.errors import FinalityError
from shielded.finality.group import Scalar
from shielded.finality.keys import EpochKeys, KeyShare, threshold_for
from shielded.finality.transport import (
    Signed,
    make_answer,
    make_complaint,
    make_dealing,
    message_author,
    message_body,
    open_share,
)
from shielded.node.key_record import (
    KeyRecord,
    ReshareError,
    RoundContext,
    admit,
    derive_share,
    keys_fingerprint,
)
from shielded.node.storage import ChainStore

log = logging.getLogger("shielded.resharing")

MAX_POOL = 512
MAX_RESHARE_PER_BLOCK = 64
"""Reshare messages offered for one block at most (a round of V = 6 has 6 dealings)."""
_KIND_ORDER = {b"dealing": 0, b"complaint": 1, b"answer": 2}
class RoundSource(Protocol):
    """Where the chain's reshare round lives: the finality service's storage
    (`jam_finality.ServiceRound`), or a test's stand-in."""

    chain_id: bytes
    keys: EpochKeys
    """The genesis keys."""
    epoch_length: int

    def record(self, store: ChainStore) -> KeyRecord:
        """The key record at the head."""
        ...

    def round_context(self, slot: int, state: Any) -> RoundContext:
        """Admission context of a round message at `slot` on `state` (the head's)."""
        ...


class Resharer:
    """A validator's shares, its round duties and the pool of round messages."""

    def __init__(
        self,
        store: ChainStore,
        finality: RoundSource,
        index: int,
        signing_key: SigningKey,
        genesis_share: KeyShare,
        validator_keys: Sequence[bytes],
    ) -> None:
        self.store = store
        self.finality = finality
        self.index = index
        self.signing_key = signing_key
        self.validator_keys = list(validator_keys)
        self.shares: dict[bytes, KeyShare] = {keys_fingerprint(finality.keys): genesis_share}
        self.pool: dict[bytes, Signed] = {}
        self.checked: set[tuple[int, int]] = set()
        """(epoch, dealer) pairs whose dealing this validator has opened."""
        self.answered: set[tuple[int, int, int]] = set()

    @property
    def epoch_length(self) -> int:
        return self.finality.epoch_length

    def record(self) -> KeyRecord:
        return self.finality.record(self.store)

    # --- shares -------------------------------------------------------------------------

    def share_for(self, keys: EpochKeys) -> KeyShare | None:
        """This validator's share of `keys`: known, filed in the store, or derived now from
        the head record's basis round (None if it has none: it cannot vote with them)."""
        fingerprint = keys_fingerprint(keys)
        share = self.shares.get(fingerprint)
        if share is not None:
            return share
        filed = self.store.note(f"share:{fingerprint.hex()}")
        if filed is not None:
            share = KeyShare(self.index, Scalar.decode(filed))
        else:
            record = self.record()
            if record.keys != keys:
                return None
            share = derive_share(record, self.index, self.signing_key)
            if share is None:
                log.warning("no share of the epoch %d finality keys", record.epoch)
                return None
            self.store.set_note(f"share:{fingerprint.hex()}", share.secret.encode())
            log.info("derived a new finality key share for epoch %d", record.epoch)
        self.shares[fingerprint] = share
        return share

    # --- duties -------------------------------------------------------------------------

    def duties(self, slot: int, state: object) -> list[Signed]:
        """The round messages this validator owes at `slot` on the head (see module doc)."""
        record = self.record()
        epoch, phase = divmod(slot, self.epoch_length)
        if record.epoch != epoch:
            return []  # the epoch's first block is not here yet: its keys are unknown
        made = []
        dealing = self._deal(record, phase, self.finality.round_context(slot, state))
        if dealing is not None:
            made.append(dealing)
        if phase < 3 * self.epoch_length // 4 - 1:
            made.extend(self._complain(record))
        made.extend(self._answer(record))
        for message in made:
            self.add(message)
        return made

    def _deal(self, record: KeyRecord, phase: int, context: RoundContext) -> Signed | None:
        active = context.dealer_keys
        if (
            phase >= self.epoch_length // 2 - 1
            or self.store.note(f"dealt:{record.epoch}") is not None
            or self.index >= min(len(active), record.keys.validator_count)
            or active[self.index] != bytes(self.signing_key.verify_key)
        ):
            return None
        share = self.share_for(record.keys)
        if share is None:
            return None
        recipients = list(context.recipient_keys)
        message, plain = make_dealing(
            self.finality.chain_id,
            record.epoch,
            share,
            recipients,
            threshold_for(len(recipients)),
            self.signing_key,
        )
        self.store.set_note(f"dealt:{record.epoch}", b"".join(s.encode() for s in plain))
        log.info("dealt a reshare of the finality keys for epoch %d", record.epoch + 1)
        return message

    def _complain(self, record: KeyRecord) -> list[Signed]:
        complaints = []
        for body in record.dealing_bodies():
            dealer = body.dealing.dealer
            if (record.epoch, dealer) in self.checked:
                continue
            self.checked.add((record.epoch, dealer))
            if open_share(body, self.index, self.signing_key) is None:
                log.warning("complaining about the reshare dealing of validator %d", dealer)
                complaints.append(
                    make_complaint(
                        self.finality.chain_id, record.epoch, dealer, self.index, self.signing_key
                    )
                )
        return complaints

    def _answer(self, record: KeyRecord) -> list[Signed]:
        kept = self.store.note(f"dealt:{record.epoch}")
        if kept is None:
            return []
        on_chain = {(a.dealer, a.recipient) for a in record.answer_bodies()}
        answers = []
        for complaint in record.complaint_bodies():
            key = (record.epoch, complaint.dealer, complaint.recipient)
            if complaint.dealer != self.index or key in self.answered:
                continue
            if (complaint.dealer, complaint.recipient) in on_chain:
                continue
            self.answered.add(key)
            start = 32 * complaint.recipient
            share = Scalar.decode(kept[start : start + 32])
            answers.append(
                make_answer(
                    self.finality.chain_id,
                    record.epoch,
                    self.index,
                    complaint.recipient,
                    share,
                    self.signing_key,
                )
            )
        return answers

    # --- the pool -----------------------------------------------------------------------

    def add(self, message: Signed) -> None:
        if len(self.pool) < MAX_POOL:
            self.pool.setdefault(message.signature, message)

    def receive(self, message: Signed) -> bool:
        """Pool a gossiped message; False (score the peer down) if it is not one a
        validator of this chain signed."""
        try:
            body = message_body(message)
            author = message_author(body)
            if body.chain_id != self.finality.chain_id or not (
                0 <= author < len(self.validator_keys)
            ):
                return False
            message.verify(self.validator_keys[author])
        except (ReshareError, FinalityError):
            return False
        self.add(message)
        return True

    def for_block(self, slot: int, state: object) -> list[bytes]:
        """Pooled messages a block at `slot` on the head admits, in admission order; stale
        ones (an earlier epoch's, or already on chain) leave the pool."""
        record = self.record()
        epoch = slot // self.epoch_length
        if record.epoch != epoch:
            return []  # the epoch's first block carries none: its validator sets rotate
        context = self.finality.round_context(slot, state)
        on_chain = {m.signature for m in (*record.dealings, *record.complaints, *record.answers)}
        chosen: list[bytes] = []
        ordered = sorted(self.pool.items(), key=lambda item: _KIND_ORDER.get(item[1].kind, 3))
        for key, message in ordered:
            try:
                body_epoch = message_body(message).epoch
            except (ReshareError, FinalityError):
                body_epoch = -1
            if body_epoch < epoch or key in on_chain:
                del self.pool[key]
                continue
            if len(chosen) >= MAX_RESHARE_PER_BLOCK:
                break
            try:
                record = admit(record, context, message)
            except ReshareError:
                continue
            chosen.append(message.encode())
        return chosen
