"""The devnet's registrar: a native service that creates services the JAM way.

A deploy is a work item for the registrar whose payload is a `DeployRequest`
(the code hash a_c = H(E(↕m, c)), its length, and the gas limits a_g, a_m of the new
service). Its refine (Psi_R, eq. B.5) only checks the payload is one well-formed request
and returns it as the work output; its accumulate (Psi_A, eq. B.9), for each operand tuple
whose result is ok, through the real host calls (`jamcore.pvm.invocations.native`):

1. `read`s whether the code hash already has a service (one service per code hash: a
   repeated deploy is a no-op and names the same service);
2. calls `new` (Omega_N, graypaper 0.7.2 B.8): the new account a has a_c = the code hash,
   one request a_l[(c, l)] = [] (solicited, not yet provided), a_b = its threshold a_t,
   a_r = t, a_p = the registrar, paid out of the registrar's balance. As chi_R (eq. 9.9)
   the registrar may pick an id below S = 2^16 (B.8, `new` with ω_12 < S: FULL when taken),
   so the ids are small and sequential from `FIRST_SERVICE_ID` (a counter in its storage);
   without chi_R, `new` gives the public id x_i (eq. B.10, check of eq. B.13) instead;
3. `write`s code hash -> E_4(id) (`service_key`), so anyone can find the id in the state;
4. `transfer`s `ENDOWMENT` to the new service (deferred, eq. 12.15-12.17: credited when
   the receiver is accumulated, eq. B.9), so it can pay for its own storage (a_t, eq. 9.8).

The code itself then arrives as a preimage: a block's E_P may carry (id, blob) once the
request is solicited in the prior state (Y, eq. 12.22, 12.37), and I (eq. 12.21) stores
it with a_l[(c, l)] = [tau'], so Psi_R's historical lookup (eq. 9.7) and Psi_A find it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jamcore.codec import HASH, U32, U64, CodecError, Struct
from jamcore.pvm.host_calls.accumulate import MIN_PUBLIC_INDEX
from jamcore.pvm.host_calls.general import MAX_SERVICE_CODE
from jamcore.pvm.invocations.context import AccumulationInput, OperandTuple
from jamcore.pvm.invocations.native import AccumulateHost, FullError, HostCallError
from jamcore.pvm.invocations.native_refine import RefineHost
from shielded.node.jam_genesis import GenesisService, native_code, native_code_hash

__all__ = [
    "DEPLOY_REQUEST",
    "ENDOWMENT",
    "FIRST_SERVICE_ID",
    "MAX_DEPLOY_GAS",
    "NEXT_ID_KEY",
    "REGISTRAR_CODE",
    "REGISTRAR_CODE_HASH",
    "DeployRequest",
    "NativeRegistrar",
    "decode_deploy",
    "registrar_service",
    "service_key",
]

REGISTRAR_NAME = "registrar/v1"
REGISTRAR_CODE = native_code(REGISTRAR_NAME)
"""The registrar's code preimage E(↕m, []) (`native_code`)."""
REGISTRAR_CODE_HASH = native_code_hash(REGISTRAR_NAME)
"""a_c of the registrar: the key of `NativeRegistrar` in `natives`."""
FIRST_SERVICE_ID = 256
"""The first id the registrar gives (below S = 2^16, the ids only the registrar picks)."""
NEXT_ID_KEY = b"next_id"
"""Storage key of E_4(the next id to try)."""
ENDOWMENT = 1_000_000
"""What a new service receives to pay for its storage beyond its code request."""
MAX_DEPLOY_GAS = 1_000_000
"""The largest a_g and a_m a deploy may ask for: the new service's work items must fit a
report's accumulate gas (G_A, eq. 11.30), and the endowment's transfer pays a_m."""
REFINE_GAS = 100_000
"""Gas the registrar's refine needs (a decode)."""
ACCUMULATE_GAS = 500_000
"""Gas for one deploy's accumulation: the calls' 10 each plus the transfer's a_m
(eq. B.8), which MAX_DEPLOY_GAS bounds."""
_OWN_WORK_GAS = 1_000
"""Gas the native code charges for its own work per deploy."""
_ID_ATTEMPTS = 16


@dataclass(frozen=True)
class DeployRequest:
    """What a deploy asks of `new` (Omega_N's ω_7..ω_10)."""

    code_hash: bytes
    code_length: int
    min_item_gas: int
    min_memo_gas: int


DEPLOY_REQUEST = Struct(
    DeployRequest,
    {"code_hash": HASH, "code_length": U32, "min_item_gas": U64, "min_memo_gas": U64},
)
"""E(a_c, E_4(l), E_8(a_g), E_8(a_m)): 52 octets."""


def decode_deploy(payload: bytes) -> DeployRequest:
    """The request in a deploy payload; ValueError unless it is exactly one request with a
    code of at most W_C octets and gas limits within MAX_DEPLOY_GAS."""
    try:
        request = DEPLOY_REQUEST.decode(bytes(payload))
    except CodecError as error:
        raise ValueError(f"not a deploy request: {error}") from error
    if not 0 < request.code_length <= MAX_SERVICE_CODE:
        raise ValueError(f"code of {request.code_length} octets (W_C = {MAX_SERVICE_CODE})")
    if max(request.min_item_gas, request.min_memo_gas) > MAX_DEPLOY_GAS:
        raise ValueError(f"gas limits above {MAX_DEPLOY_GAS}")
    return request


def service_key(code_hash: bytes) -> bytes:
    """The registrar's storage key naming the service of `code_hash`."""
    return b"service/" + bytes(code_hash)


class NativeRegistrar:
    """The registrar's refine and accumulate (module docstring)."""

    def refine(
        self,
        host: RefineHost,
        core: int,
        item_index: int,
        service: int,
        payload: bytes,
        package_hash: bytes,
    ) -> bytes:
        """Check the payload is a deploy request (a panic otherwise); it is the output."""
        decode_deploy(payload)
        return bytes(payload)

    def accumulate(
        self,
        host: AccumulateHost,
        slot: int,
        service: int,
        inputs: Sequence[AccumulationInput],
    ) -> None:
        """Create a service for each new, well-formed deploy (module docstring)."""
        for item in inputs:
            if not isinstance(item, OperandTuple) or item.result.tag != "ok":
                continue  # a transfer (credited already, eq. B.9) or a failed refine
            try:
                request = decode_deploy(item.result.value)
            except ValueError:
                continue
            host.charge(_OWN_WORK_GAS)
            key = service_key(request.code_hash)
            if host.read(key) is not None:
                continue
            created = self._new(host, request)
            if created is None:
                continue
            host.write(key, created.to_bytes(4, "little"))
            try:
                host.transfer(created, ENDOWMENT, request.min_memo_gas)
            except HostCallError:
                continue  # CASH: the registrar ran dry; the service exists unfunded

    @staticmethod
    def _new(host: AccumulateHost, request: DeployRequest) -> int | None:
        """`new` with the next free reserved id (FULL: taken, try the next), or None when
        the registrar cannot pay (CASH) or finds no id."""
        raw = host.read(NEXT_ID_KEY)
        candidate = FIRST_SERVICE_ID if raw is None else int.from_bytes(raw, "little")
        for _ in range(_ID_ATTEMPTS):
            wanted = candidate if candidate < MIN_PUBLIC_INDEX else None
            try:
                created = host.new(
                    request.code_hash,
                    request.code_length,
                    request.min_item_gas,
                    request.min_memo_gas,
                    service_id=wanted,
                )
            except FullError:
                candidate += 1
                continue
            except HostCallError:
                return None
            if created == wanted:
                host.write(NEXT_ID_KEY, (candidate + 1).to_bytes(4, "little"))
            return created
        host.write(NEXT_ID_KEY, candidate.to_bytes(4, "little"))
        return None


def registrar_service(service_id: int, balance: int = 10**12) -> GenesisService:
    """The registrar's genesis account (`genesis_state` with `registrar=service_id` makes
    it chi_R): its native code and a balance to fund the services it creates."""
    return GenesisService(
        id=service_id,
        code=REGISTRAR_CODE,
        balance=balance,
        storage={},
        min_item_gas=1_000,
        min_memo_gas=100,
    )
