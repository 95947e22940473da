"""The devnet's genesis as a complete graypaper state sigma (graypaper 0.7.2 eq. 4.4).

`genesis_state(config, services)` builds every component of sigma for the devnet's chain
spec, so that `jamcore.stf.block.import_block` imports the devnet's blocks on it. Its layout
mirrors the genesis states of the w3f traces (`traces/*/genesis.bin`):

* Safrole (section 6): kappa = lambda = iota = gamma_k = the genesis validators, gamma_s,
  gamma_z, gamma_a and eta exactly as `GenesisConfig.safrole_state()` holds them (fallback
  sealing keys F(eta_2, kappa), eq. 6.26), tau = 0, so the same blocks' seals verify;
* beta (section 7, eq. 7.1-7.2): one entry, the genesis header's hash with zero state root
  and zero accumulation super-peak, and an empty MMR; the first block fills in the state
  root (eq. 7.5);
* alpha and phi (section 8.1, eq. 8.1): every core's pool (O entries) and queue (Q entries)
  full of one authorizer hash, which accepts every package (`authorizer_code`);
* chi (eq. 9.9): every privilege held by service `manager` (0 by default, as in the traces),
  chi_R by `registrar` if given; the given always-accumulate services chi_Z;
* delta (section 9): the given services, each with its code preimage, its request record,
  its storage and the footprint of eq. 9.8;
* rho, omega, xi, theta, psi empty, and pi zero (sections 10-13).

Native services (`jamcore.pvm.invocations.native`) are identified by code hash: their code
preimage `native_code(name)` is E(↕m, c) with the marker as metadata m and empty code c.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jamcore.codec import encode_natural
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import StandardProgram
from jamcore.pvm.host_calls.general import MAX_AUTH_CODE, MAX_SERVICE_CODE
from jamcore.pvm.host_calls.refine import split_metadata
from jamcore.pvm.invocations.partial_state import threshold_balance
from jamcore.safrole.state import SafroleState
from jamcore.spec import ChainSpec
from jamcore.state.keys import preimage_key, request_key, storage_key
from jamcore.state.state import State
from jamcore.types import (
    BlockInfo,
    CoreActivityRecord,
    DisputesRecords,
    Mmr,
    Privileges,
    RecentBlocks,
    ServiceAccount,
    ServiceInfo,
    Statistics,
    ValidatorActivityRecord,
    encode_request_status,
)
from shielded.node.genesis import GenesisConfig, GenesisError, genesis_hash

__all__ = [
    "AUTHORIZER_METADATA",
    "NATIVE_PREFIX",
    "GenesisService",
    "authorizer_code",
    "authorizer_code_hash",
    "authorizer_hash",
    "authorizer_preimage",
    "code_preimage",
    "genesis_state",
    "native_code",
    "native_code_hash",
    "service_account",
]

NATIVE_PREFIX = b"jam-shielded/native/"
"""The metadata prefix of a native service's code preimage."""

AUTHORIZER_METADATA = b"jam-shielded/authorizer/accept-all/v1"
"""The metadata m of the authorizer's code preimage E(↕m, c)."""

AUTHORIZER_ASSEMBLY = """
    load_imm r8, 0      ; omega_8 = 0: the output omega_7..omega_7+omega_8 is empty
    jump_ind r0, 0      ; omega_0 is the halt address of the standard initialisation (A.42)
"""
"""The authorizer: halt at once with an empty output, so Psi_I is ok with an empty trace
(eq. B.1) for every package and core."""

_U32 = 2**32
_U64 = 2**64


def code_preimage(code: bytes, metadata: bytes) -> bytes:
    """E(↕m, c): a code preimage, metadata m then code c (eq. 9.4, 14.10, B.5)."""
    return encode_natural(len(metadata)) + bytes(metadata) + bytes(code)


def native_code(name: str) -> bytes:
    """The code preimage of native service `name`: E(↕(NATIVE_PREFIX ++ name), []).

    Its hash is the service's code hash a_c, under which the node registers the Python
    implementation (`import_block(..., natives={native_code_hash(name): ...})`). The marker
    is the metadata, not the whole preimage, because Psi_A and Psi_R only reach the native
    dispatch once the preimage parses as E(↕m, c) (eq. B.5, B.9): a bare marker would read
    as a metadata length past its end, i.e. a service without code."""
    return code_preimage(b"", NATIVE_PREFIX + name.encode())


def native_code_hash(name: str) -> bytes:
    """a_c = H(native_code(name)) (eq. 9.4)."""
    return blake2b_256(native_code(name))


def authorizer_code() -> bytes:
    """The authorization code: the standard program (A.38) of `AUTHORIZER_ASSEMBLY`, with
    no data and no stack."""
    return StandardProgram(b"", b"", 0, 0, assemble(AUTHORIZER_ASSEMBLY)).encode()


def authorizer_preimage() -> bytes:
    """E(↕m, c) of the authorizer: what its host service stores under H(·) (eq. 14.10)."""
    return code_preimage(authorizer_code(), AUTHORIZER_METADATA)


def authorizer_code_hash() -> bytes:
    """A package's authorization code hash (`WorkPackage.auth_code_hash`): H(preimage),
    looked up in the host service `auth_code_host` at the lookup anchor (eq. 14.10)."""
    return blake2b_256(authorizer_preimage())


def authorizer_hash(config: bytes = b"") -> bytes:
    """The authorizer hash H(code hash ++ config) a report carries and the pools hold
    (section 14.3, p_a = H(p_u ++ p_f); the w3f traces' null authorizer hash is exactly this
    with an empty config). The devnet's pools and queues hold the empty-config one."""
    return blake2b_256(authorizer_code_hash() + bytes(config))


@dataclass(frozen=True)
class GenesisService:
    """A service account of the genesis state (eq. 9.3)."""

    id: int
    """The service id s (below 2^32)."""
    code: bytes
    """The code preimage E(↕m, c) (e.g. `native_code(name)`); a_c = H(code)."""
    balance: int
    """a_b."""
    storage: Mapping[bytes, bytes]
    """a_s: raw storage key -> value, stored at C(s, E_4(2^32-1) ++ k) (eq. D.2)."""
    min_item_gas: int
    """a_g: least gas to accumulate one work item."""
    min_memo_gas: int
    """a_m: least gas to process one deferred transfer."""
    preimages: tuple[bytes, ...] = ()
    """Further preimages the service holds besides its code (each with its request)."""
    gratis: int = 0
    """a_f: the gratis storage offset deducted from the threshold (eq. 9.8)."""
    parent: int = 0
    """a_p: the creating service (none at genesis; 0 as in the traces)."""


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise GenesisError(message)


def service_account(
    service: GenesisService, extra_preimages: Sequence[bytes] = ()
) -> ServiceAccount:
    """The account of `service` at slot 0 (eq. 9.3): code preimage, further preimages and
    storage as state entries (eq. D.2), each preimage with the request record [0] (available
    since slot 0, eq. 9.7), and the footprint a_i = 2|a_l| + |a_s|,
    a_o = sum over a_l of (81 + z) + sum over a_s of (34 + |k| + |v|) (eq. 9.8). Created
    and last accumulated at slot 0 (a_r = a_a = 0), record version 0 (eq. D.2)."""
    s = service.id
    _ensure(0 <= s < _U32, f"service id {s} is not below 2^32")
    # Verify the code preimage is E(↕m, c) with c within W_C (eq. B.5, B.9).
    _ensure(
        split_metadata(service.code) is not None,
        f"service {s}: code preimage is not E(↕metadata, code)",
    )
    _ensure(len(service.code) <= MAX_SERVICE_CODE, f"service {s}: code exceeds W_C")
    entries: dict[bytes, bytes] = {}
    items = octets = 0
    for blob in (service.code, *service.preimages, *extra_preimages):
        digest = blake2b_256(blob)
        if preimage_key(s, digest) in entries:
            continue  # one preimage, one request: a_l is keyed by (hash, length)
        entries[preimage_key(s, digest)] = bytes(blob)
        entries[request_key(s, digest, len(blob))] = encode_request_status((0,))
        items, octets = items + 2, octets + 81 + len(blob)
    for key, value in service.storage.items():
        entries[storage_key(s, key)] = bytes(value)
        items, octets = items + 1, octets + 34 + len(key) + len(value)
    for name, value in (
        ("balance", service.balance),
        ("min_item_gas", service.min_item_gas),
        ("min_memo_gas", service.min_memo_gas),
        ("gratis", service.gratis),
    ):
        _ensure(0 <= value < _U64, f"service {s}: {name} {value} is not below 2^64")
    _ensure(0 <= service.parent < _U32, f"service {s}: parent {service.parent} out of range")
    # Verify the balance covers the threshold a_t (eq. 9.8): a service below it could
    # neither store nor be paid into without first being topped up.
    threshold = threshold_balance(items, octets, service.gratis)
    _ensure(
        service.balance >= threshold,
        f"service {s}: balance {service.balance} is below its threshold {threshold}",
    )
    info = ServiceInfo(
        version=0,
        code_hash=blake2b_256(service.code),
        balance=service.balance,
        min_item_gas=service.min_item_gas,
        min_memo_gas=service.min_memo_gas,
        bytes=octets,
        deposit_offset=service.gratis,
        items=items,
        creation_slot=0,
        last_accumulation_slot=0,
        parent_service=service.parent,
    )
    return ServiceAccount(info, entries)


def _genesis_safrole(config: GenesisConfig, spec: ChainSpec) -> SafroleState:
    """`config.safrole_state()`, checked against the config's validators and slot 0."""
    safrole = config.safrole_state()
    _ensure(safrole.slot == 0, f"genesis Safrole state is at slot {safrole.slot}, not 0")
    expected = [
        (bytes.fromhex(v.bandersnatch), bytes.fromhex(v.ed25519)) for v in config.validators
    ]
    for name, keys in (
        ("kappa", safrole.active_validators),
        ("lambda", safrole.previous_validators),
        ("gamma_k", safrole.pending_validators),
        ("iota", safrole.staged_validators),
    ):
        # Verify every validator set is the genesis validators, in index order (section 6.3).
        _ensure(len(keys) == spec.validators_count, f"{name} does not hold V validators")
        _ensure(
            [(key.bandersnatch, key.ed25519) for key in keys] == expected,
            f"{name} is not the genesis validators",
        )
    return safrole


def genesis_state(
    config: GenesisConfig,
    services: Sequence[GenesisService],
    *,
    auth_host: int | None = None,
    manager: int = 0,
    always_accumulate: Mapping[int, int] | None = None,
    registrar: int | None = None,
) -> State:
    """sigma at the devnet's genesis (eq. 4.4) for `config.chain_spec()` (see the module
    docstring for each component).

    The authorizer's preimage is stored in service `auth_host` (by default the lowest id
    among `services`), so a package with `auth_code_host = auth_host` and `auth_code_hash =
    authorizer_code_hash()` is authorized (eq. 14.10). `manager` holds every privilege of
    chi (eq. 9.9): manager chi_M, each core's assigner chi_A, delegator chi_V and registrar
    chi_R, except that `registrar`, when given, is chi_R (the service whose `new` may pick
    ids below S, B.8; `shielded.native_registrar`); `always_accumulate` (service id -> gas)
    is chi_Z, the services accumulated in every block (eq. 12.x, the shielded pool).
    GenesisError on duplicate ids, a missing host or an invalid account."""
    spec = config.chain_spec()
    ids = [service.id for service in services]
    _ensure(len(set(ids)) == len(ids), f"duplicate service ids in {ids}")
    _ensure(bool(services), "the authorizer needs a host service: give at least one service")
    host = min(ids) if auth_host is None else auth_host
    _ensure(host in ids, f"authorizer host {host} is not a genesis service")
    _ensure(0 <= manager < _U32, f"manager {manager} is not a service id")
    register = manager if registrar is None else registrar
    _ensure(0 <= register < _U32, f"registrar {register} is not a service id")
    _ensure(
        set(always_accumulate or {}) <= set(ids),
        "always-accumulate services must be genesis services",
    )
    _ensure(len(authorizer_code()) <= MAX_AUTH_CODE, "authorizer code exceeds W_A")
    accounts = {
        service.id: service_account(
            service, (authorizer_preimage(),) if service.id == host else ()
        )
        for service in sorted(services, key=lambda service: service.id)
    }
    safrole = _genesis_safrole(config, spec)
    pool_entry = authorizer_hash()
    return State(
        auth_pools=((pool_entry,) * spec.auth_pool_size,) * spec.cores_count,
        recent_blocks=RecentBlocks(
            history=(BlockInfo(genesis_hash(config), bytes(32), bytes(32), ()),),
            mmr=Mmr(()),
        ),
        accumulation_outputs=(),
        gamma_k=safrole.pending_validators,
        gamma_z=safrole.epoch_root,
        gamma_s=safrole.sealing_keys,
        gamma_a=safrole.ticket_accumulator,
        services=accounts,
        entropy=safrole.entropy,
        next_validators=safrole.staged_validators,
        current_validators=safrole.active_validators,
        previous_validators=safrole.previous_validators,
        availability=(None,) * spec.cores_count,
        slot=0,
        auth_queues=((pool_entry,) * spec.auth_queue_size,) * spec.cores_count,
        privileges=Privileges(
            bless=manager,
            assign=(manager,) * spec.cores_count,
            designate=manager,
            register=register,
            always_acc=dict(always_accumulate or {}),
        ),
        disputes=DisputesRecords((), (), (), ()),
        statistics=Statistics(
            vals_curr=(ValidatorActivityRecord.zero(),) * spec.validators_count,
            vals_last=(ValidatorActivityRecord.zero(),) * spec.validators_count,
            cores=(CoreActivityRecord.zero(),) * spec.cores_count,
            services={},
        ),
        ready_queue=((),) * spec.epoch_length,
        accumulated=((),) * spec.epoch_length,
    )
