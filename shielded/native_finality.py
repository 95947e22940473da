"""The devnet's finality service: OSST vote equivocations proven on chain.

OSST finality (design section 4) is the node's, beside the graypaper: votes and certificates
travel over p2p. A validator that signs votes for two different blocks at one slot has no
graypaper offender path (disputes judge work reports, not finality votes), so the devnet
records such proofs in a service of its own, the JAM way: any validator that holds two
conflicting votes (`shielded.finality.equivocation.EquivocationEvidence`) sends them to this
service as a work item, and every validator runs it.

* Refine (Psi_R, eq. B.5) verifies the evidence against the devnet's OSST public shares
  (`verify_equivocation`: one validator index, one chain and slot, two headers, both
  contributions valid), stateless as refine must be; the output is E_2(index) ++ the
  offender's ed25519 key. Anything else panics, so no report claims an offence unproven.
* Accumulate (Psi_A, eq. B.9) `write`s `offender_item(index)` -> the key, through the real
  host calls, once per offender: the state root then commits to it, and `proven_offenders`
  reads the set back from any state.

Native Python rather than PVM code: the Schnorr checks are BN254 arithmetic, which the PVM
would interpret far too slowly. The keys are those of the genesis (this path keeps them in
force; their resharing is the other validator program's).
"""

from __future__ import annotations

from collections.abc import Sequence

from jamcore.pvm.invocations.context import AccumulationInput, OperandTuple
from jamcore.pvm.invocations.native import AccumulateHost
from jamcore.pvm.invocations.native_refine import RefineHost
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from shielded.finality.equivocation import EquivocationEvidence, verify_equivocation
from shielded.finality.keys import EpochKeys
from shielded.node.jam_genesis import GenesisService, native_code, native_code_hash

__all__ = [
    "FINALITY_CODE",
    "FINALITY_CODE_HASH",
    "NativeFinality",
    "finality_service",
    "offender_item",
    "proven_offenders",
]

FINALITY_NAME = "finality/v1"
FINALITY_CODE = native_code(FINALITY_NAME)
FINALITY_CODE_HASH = native_code_hash(FINALITY_NAME)
"""a_c of the finality service: the key of `NativeFinality` in `natives`."""
_OWN_WORK_GAS = 1_000
"""Gas the native code charges for recording one offender."""
_OUTPUT_LENGTH = 2 + 32


def offender_item(index: int) -> bytes:
    """The storage key naming validator `index` a proven equivocator."""
    return b"offender/" + index.to_bytes(2, "little")


class NativeFinality:
    """Refine and accumulate of the finality service (module docstring)."""

    def __init__(self, chain_id: bytes, keys: EpochKeys, ed25519_keys: Sequence[bytes]) -> None:
        self.chain_id = bytes(chain_id)
        self.keys = keys
        self.ed25519_keys = tuple(bytes(key) for key in ed25519_keys)

    def refine(
        self,
        host: RefineHost,
        core: int,
        item_index: int,
        service: int,
        payload: bytes,
        package_hash: bytes,
    ) -> bytes:
        """E_2(index) ++ ed25519 key of the proven offender; a panic (FinalityError,
        ValueError) for a payload that proves nothing."""
        evidence = EquivocationEvidence.decode(bytes(payload))
        if evidence.first.payload.chain_id != self.chain_id:
            raise ValueError("evidence for another chain")
        index = verify_equivocation(evidence, self.keys)
        if index >= len(self.ed25519_keys):
            raise ValueError(f"no validator {index}")
        return index.to_bytes(2, "little") + self.ed25519_keys[index]

    def accumulate(
        self,
        host: AccumulateHost,
        slot: int,
        service: int,
        inputs: Sequence[AccumulationInput],
    ) -> None:
        """Record each refined offender not recorded yet."""
        for item in inputs:
            if not isinstance(item, OperandTuple) or item.result.tag != "ok":
                continue  # a transfer or a refine that panicked: nothing proven
            output = bytes(item.result.value)
            if len(output) != _OUTPUT_LENGTH:
                continue
            index = int.from_bytes(output[:2], "little")
            host.charge(_OWN_WORK_GAS)
            key = offender_item(index)
            if host.read(key) is None:
                host.write(key, output[2:])


def finality_service(service_id: int, balance: int = 10**9) -> GenesisService:
    """The finality service's genesis account: its native code and a balance that pays
    for one item per validator (a_t, eq. 9.8)."""
    return GenesisService(
        id=service_id,
        code=FINALITY_CODE,
        balance=balance,
        storage={},
        min_item_gas=1_000,
        min_memo_gas=100,
    )


def proven_offenders(state: State, service_id: int, validators: int) -> dict[int, bytes]:
    """Validator index -> ed25519 key of each offender the finality service recorded in
    `state` (one storage read per validator index)."""
    account = state.services.get(service_id)
    if account is None:
        return {}
    found = {}
    for index in range(validators):
        value = account.entries.get(storage_key(service_id, offender_item(index)))
        if value is not None:
            found[index] = bytes(value)
    return found
