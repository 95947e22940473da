"""The devnet's finality service: the OSST keys' reshare rounds and proven vote equivocations.

OSST finality (design section 4) is the node's, beside the graypaper: votes and certificates
travel over p2p. What must be agreed on chain goes through this service, the JAM way (a work
item per message, refined, guaranteed, assured and accumulated like any work):

* **The keys' reshare round** of each epoch (`shielded.node.key_record`): validators send
  their signed dealings, complaints and answers (`shielded.finality.transport`) as work
  items; the service keeps the chain's `KeyRecord` (the keys in force, the round under way
  and the basis the keys were combined from) in its storage, so every validator derives
  its new share from the state alone.
* **Equivocation**: a validator that signs votes for two blocks at one slot has no graypaper
  offender path (disputes judge work reports, not finality votes); whoever holds the two
  votes (`EquivocationEvidence`) sends them here, and the offender is recorded.

A work item's payload is one octet naming its kind (`EVIDENCE` or `RESHARE`) and the
message. Refine (Psi_R, eq. B.5) does the stateless checks: the payload decodes; a reshare
message is for this chain and signed by the validator it names. Anything else panics, so no
report carries junk. Accumulate (Psi_A, eq. B.9), through the real host calls:

1. reads the record's epoch (`EPOCH_ITEM`); at the first accumulation of a later epoch it
   closes the round (`close_round`: the keys become the qualified dealings' reshare, or
   carry over), as the other validator program does at the epoch's first block: the service
   is in chi_Z (accumulated every block, eq. 12.18) so that happens in the epoch's first
   block;
2. admits each refined reshare message to the round (`admit`: the phase windows, one
   dealing per dealer, Feldman's public checks), dealings first, then complaints, answers;
3. verifies each piece of evidence against the keys in force at its votes' epoch
   (`KeyRecord.keys_at`) and `write`s `offender_item(index)` -> the offender's ed25519 key;
4. `write`s the record when it changed.

The state root then commits to the keys, the round and the offenders (`finality_record`,
`proven_offenders` read them back). The devnet's validator set never changes (no service
calls `designate`), so the dealers and the recipients of every round are the genesis
validators. Native Python rather than PVM code: Feldman's checks and the Schnorr
verification are BN254 arithmetic, which the PVM would interpret far too slowly.
"""

from __future__ import annotations

from collections.abc import Sequence

from jamcore.pvm.invocations.context import AccumulationInput, OperandTuple
from jamcore.pvm.invocations.native import AccumulateHost
from jamcore.pvm.invocations.native_refine import RefineHost
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from shielded.finality.equivocation import EquivocationEvidence, verify_equivocation
from shielded.finality.errors import FinalityError
from shielded.finality.keys import EpochKeys
from shielded.finality.transport import Signed, message_author, message_body
from shielded.node.jam_genesis import GenesisService, native_code, native_code_hash
from shielded.node.key_record import (
    KeyRecord,
    ReshareError,
    RoundContext,
    admit,
    close_round,
)

__all__ = [
    "EPOCH_ITEM",
    "EVIDENCE",
    "FINALITY_CODE",
    "FINALITY_CODE_HASH",
    "RECORD_ITEM",
    "RESHARE",
    "NativeFinality",
    "evidence_payload",
    "finality_record",
    "finality_service",
    "offender_item",
    "proven_offenders",
    "reshare_payload",
]

FINALITY_NAME = "finality/v1"
FINALITY_CODE = native_code(FINALITY_NAME)
FINALITY_CODE_HASH = native_code_hash(FINALITY_NAME)
"""a_c of the finality service: the key of `NativeFinality` in `natives`."""
EVIDENCE = 0
RESHARE = 1
RECORD_ITEM = b"keys"
"""Storage key of the chain's `KeyRecord`."""
EPOCH_ITEM = b"epoch"
"""Storage key of E_4(the record's epoch): read every block instead of the whole record."""
_OWN_WORK_GAS = 1_000
"""Gas the native code charges per message it handles."""
_KIND_ORDER = {b"dealing": 0, b"complaint": 1, b"answer": 2}


def offender_item(index: int) -> bytes:
    """The storage key naming validator `index` a proven equivocator."""
    return b"offender/" + index.to_bytes(2, "little")


def evidence_payload(evidence: EquivocationEvidence) -> bytes:
    """The work item payload that sends `evidence` to the finality service."""
    return bytes([EVIDENCE]) + evidence.encode()


def reshare_payload(message: Signed) -> bytes:
    """The work item payload that sends a reshare round message to the finality service."""
    return bytes([RESHARE]) + message.encode()


class NativeFinality:
    """Refine and accumulate of the finality service (module docstring)."""

    def __init__(
        self, chain_id: bytes, ed25519_keys: Sequence[bytes], epoch_length: int
    ) -> None:
        self.chain_id = bytes(chain_id)
        self.ed25519_keys = tuple(bytes(key) for key in ed25519_keys)
        self.epoch_length = epoch_length

    # --- refine -------------------------------------------------------------------------

    def refine(
        self,
        host: RefineHost,
        core: int,
        item_index: int,
        service: int,
        payload: bytes,
        package_hash: bytes,
    ) -> bytes:
        """The payload itself once its stateless checks pass; a panic (FinalityError,
        ValueError) otherwise."""
        payload = bytes(payload)
        if not payload:
            raise ValueError("empty payload")
        if payload[0] == EVIDENCE:
            evidence = EquivocationEvidence.decode(payload[1:])
            if evidence.first.payload.chain_id != self.chain_id:
                raise ValueError("evidence for another chain")
            return payload
        if payload[0] == RESHARE:
            message = Signed.decode(payload[1:])
            body = message_body(message)
            author = message_author(body)
            if body.chain_id != self.chain_id:
                raise ValueError("reshare message for another chain")
            if not 0 <= author < len(self.ed25519_keys):
                raise ValueError(f"no validator {author}")
            message.verify(self.ed25519_keys[author])
            return payload
        raise ValueError(f"unknown finality payload kind {payload[0]}")

    # --- accumulate ---------------------------------------------------------------------

    def accumulate(
        self,
        host: AccumulateHost,
        slot: int,
        service: int,
        inputs: Sequence[AccumulationInput],
    ) -> None:
        """Close the round at a new epoch, admit the round's messages, record offenders
        (module docstring)."""
        reshare: list[Signed] = []
        evidence: list[EquivocationEvidence] = []
        for item in inputs:
            if not isinstance(item, OperandTuple) or item.result.tag != "ok":
                continue  # a transfer, or a refine that panicked: nothing to act on
            output = bytes(item.result.value)
            try:
                if output[:1] == bytes([RESHARE]):
                    reshare.append(Signed.decode(output[1:]))
                elif output[:1] == bytes([EVIDENCE]):
                    evidence.append(EquivocationEvidence.decode(output[1:]))
            except FinalityError:
                continue
        epoch = slot // self.epoch_length
        raw_epoch = host.read(EPOCH_ITEM)
        recorded = 0 if raw_epoch is None else int.from_bytes(raw_epoch, "little")
        if epoch == recorded and not reshare and not evidence:
            return  # the usual block: one read
        raw = host.read(RECORD_ITEM)
        if raw is None:
            return  # a finality service without a genesis record keeps nothing
        before = record = KeyRecord.decode(raw)
        if epoch > record.epoch:
            host.charge(_OWN_WORK_GAS)
            record = close_round(record, epoch)
        context = RoundContext(
            self.chain_id, slot, self.epoch_length, self.ed25519_keys, self.ed25519_keys
        )
        for message in sorted(reshare, key=lambda m: _KIND_ORDER.get(m.kind, 3)):
            host.charge(_OWN_WORK_GAS)
            try:
                record = admit(record, context, message)
            except ReshareError:
                continue  # late, repeated or failing Feldman's checks: not admitted
        for piece in evidence:
            host.charge(_OWN_WORK_GAS)
            self._record_offender(host, record, piece)
        if record != before:
            host.write(RECORD_ITEM, record.encode())
        if record.epoch != recorded:
            host.write(EPOCH_ITEM, record.epoch.to_bytes(4, "little"))

    def _record_offender(
        self, host: AccumulateHost, record: KeyRecord, evidence: EquivocationEvidence
    ) -> None:
        """Write the offender's item if `evidence` proves an equivocation under the keys
        in force at its votes' epoch."""
        keys = record.keys_at(evidence.first.payload.slot // self.epoch_length)
        if keys is None:
            return  # votes from a later epoch than the record's: nothing to check against
        try:
            index = verify_equivocation(evidence, keys)
        except FinalityError:
            return
        if index >= len(self.ed25519_keys):
            return
        key = offender_item(index)
        if host.read(key) is None:
            host.write(key, self.ed25519_keys[index])


def finality_service(
    service_id: int, keys: EpochKeys, balance: int = 10**9
) -> GenesisService:
    """The finality service's genesis account: its native code, the genesis `KeyRecord`
    (the keys of the genesis DKG, epoch 0) and a balance that pays for its items (a_t,
    eq. 9.8)."""
    return GenesisService(
        id=service_id,
        code=FINALITY_CODE,
        balance=balance,
        storage={
            RECORD_ITEM: KeyRecord.genesis(keys).encode(),
            EPOCH_ITEM: (0).to_bytes(4, "little"),
        },
        min_item_gas=1_000,
        min_memo_gas=100,
    )


def _item(state: State, service_id: int, key: bytes) -> bytes | None:
    account = state.services.get(service_id)
    return None if account is None else account.entries.get(storage_key(service_id, key))


def finality_record(state: State, service_id: int) -> KeyRecord | None:
    """The `KeyRecord` the finality service holds in `state` (None without one)."""
    raw = _item(state, service_id, RECORD_ITEM)
    return None if raw is None else KeyRecord.decode(bytes(raw))


def proven_offenders(state: State, service_id: int, validators: int) -> dict[int, bytes]:
    """Validator index -> ed25519 key of each offender the finality service recorded in
    `state` (one storage read per validator index)."""
    found = {}
    for index in range(validators):
        value = _item(state, service_id, offender_item(index))
        if value is not None:
            found[index] = bytes(value)
    return found
