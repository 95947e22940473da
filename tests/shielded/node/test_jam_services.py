"""PVM services on six in-process `JamValidator`s: a blob deployed through the registrar
(`new`, then E_P), then a payload refined and accumulated in the PVM on every validator."""

from __future__ import annotations

from pathlib import Path

import pytest

from jamcore.conformance.trace import read_genesis
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.host_calls.general import MAX_SERVICE_CODE
from jamcore.spec import TINY
from jamcore.state.keys import preimage_key, request_key
from jamcore.state.state import state_from_keyvals
from jamcore.types import encode_request_status
from shielded.native_pool import NATIVE_POOL_CODE_HASH, NativePool, genesis_service
from shielded.native_registrar import (
    DEPLOY_REQUEST,
    ENDOWMENT,
    FIRST_SERVICE_ID,
    REGISTRAR_CODE_HASH,
    DeployRequest,
    NativeRegistrar,
    registrar_service,
)
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.jam_genesis import genesis_state
from shielded.node.jam_messages import (
    MessageError,
    ServiceDeploy,
    WorkSubmission,
    decode_message,
    encode_message,
)
from shielded.node.jam_services import (
    MAX_WORK_PAYLOAD,
    BadBlob,
    BlobTooLarge,
    PayloadTooLarge,
    ServiceError,
    UnknownService,
    check_blob,
)
from shielded.node.jam_validator import JamValidator
from shielded.node.sample_service import (
    SAMPLE_OUTPUT_KEY,
    sample_refine_output,
    sample_service_blob,
    sample_service_code,
)
from shielded.node.shards import ShardStore
from shielded.node.storage import ChainStore
from tests.shielded.node.test_jam_validator import (
    ALICE,
    BALANCES,
    CONFIG,
    FREE_GAS,
    POOL,
    AcceptAll,
    Bus,
    assert_converged,
    fake,
)
from tests.vectors import VECTORS

REGISTRAR = 2


def make_validators(
    tmp_path: Path, config: GenesisConfig, keys: list[ValidatorSecrets]
) -> list[JamValidator]:
    """Six validators on a genesis with the pool (always accumulated) and the registrar
    (chi_R), both native."""
    spec = config.chain_spec()
    entropy = config.safrole_state().entropy[0]
    pool = genesis_service(
        POOL, CONFIG, BALANCES, entropy, balance=10**12, min_item_gas=1_000, min_memo_gas=100
    )
    genesis = genesis_state(
        config,
        [pool, registrar_service(REGISTRAR)],
        always_accumulate={POOL: FREE_GAS},
        registrar=REGISTRAR,
    )
    return [
        JamValidator(
            key.index,
            key,
            config,
            ChainStore(tmp_path / f"chain-{key.index}.sqlite"),
            {
                NATIVE_POOL_CODE_HASH: NativePool(CONFIG, AcceptAll(), spec),
                REGISTRAR_CODE_HASH: NativeRegistrar(),
            },
            genesis=genesis,
            shards=ShardStore(tmp_path / f"shards-{key.index}.sqlite", spec),
            pool_service=POOL,
            registrar=REGISTRAR,
        )
        for key in keys
    ]


@pytest.fixture()
def validators(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> list[JamValidator]:
    return make_validators(tmp_path, devnet[1], validator_keys)


def run_until(bus: Bus, first: int, last: int, done) -> int:  # noqa: ANN001
    """Drive slots first..last until `done()`; the slot it became true."""
    for slot in range(first, last + 1):
        bus.slot(slot)
        if done():
            return slot
    raise AssertionError(f"not done by slot {last}")


def deploy(bus: Bus, blob: bytes, first: int = 1, last: int = 12) -> tuple[int, int]:
    """Deploy `blob` from validator 1 and run until every validator's head holds the
    service with its code provided; (its id, the slot)."""
    validators = bus.validators
    bus.send(1, validators[1].deploy(blob))
    bus.run()
    preimage = check_blob(blob)
    code_hash = blake2b_256(preimage)

    def provided() -> bool:
        for validator in validators:
            service = validator.deployed_service(code_hash)
            if service is None:
                return False
            entries = validator.head_state().services[service].entries
            if entries.get(preimage_key(service, code_hash)) != preimage:
                return False
        return True

    slot = run_until(bus, first, last, provided)
    service = validators[0].deployed_service(code_hash)
    assert service is not None
    return service, slot


def test_deploy_then_submit_runs_refine_and_accumulate_in_the_pvm(
    validators: list[JamValidator],
) -> None:
    bus = Bus(validators)
    blob = sample_service_blob()
    service, slot = deploy(bus, blob)
    assert service == FIRST_SERVICE_ID  # the registrar's first reserved id (< S)
    for validator in validators:
        account = validator.head_state().services[service]
        assert account.info.code_hash == blake2b_256(blob)
        assert account.info.parent_service == REGISTRAR
        assert account.info.balance >= ENDOWMENT  # the registrar's transfer arrived
        status = account.entries[request_key(service, blake2b_256(blob), len(blob))]
        assert status != encode_request_status(())  # provided: [tau'] (eq. 12.21)
    # The preimage came in a block's E_P, for the new service.
    blocks = validators[0].store.canonical_range(1, 1_000)
    codecs = validators[0].chain.codecs.block
    provided = [p for b in blocks for p in codecs.decode(b.block).extrinsic.preimages]
    assert [(p.requester, p.blob) for p in provided] == [(service, blob)]

    payload = b"hello, PVM"
    bus.send(4, validators[4].submit_work(service, payload))
    bus.run()
    transaction = fake("services/pool", deposit=(ALICE, 10))  # the pool's core meanwhile
    bus.submit(2, transaction.encode())
    expected = sample_refine_output(payload)
    # Both cores' work lands within a few slots (in whichever order the guarantors' turns
    # and the message order give).
    slot = run_until(
        bus,
        slot + 1,
        slot + 10,
        lambda: all(
            v.service_item(service, SAMPLE_OUTPUT_KEY) == expected
            and transaction.tx_id in v.outcomes
            for v in validators
        ),
    )
    assert_converged(validators)
    assert not any(v.services.requests or v.services.inflight for v in validators)
    # Deploying the same code again names the same service and creates none.
    accounts = set(validators[0].head_state().services)
    bus.send(0, validators[0].deploy(blob))
    bus.run()
    run_until(bus, slot + 1, slot + 10, lambda: not any(v.services.requests for v in validators))
    assert set(validators[0].head_state().services) == accounts
    assert validators[3].deployed_service(blake2b_256(blob)) == service
    assert not any(v.services.blobs for v in validators)  # already provided: dropped
    assert_converged(validators)
    assert not any(v.refused for v in validators)


def test_genesis_names_the_registrar(validators: list[JamValidator]) -> None:
    privileges = validators[0].head_state().privileges
    assert privileges.register == REGISTRAR and privileges.bless == 0


def test_bad_input_is_refused_and_changes_nothing(validators: list[JamValidator]) -> None:
    validator = validators[0]
    spec = validator.spec
    before = validator.head_root()
    with pytest.raises(BlobTooLarge):
        validator.deploy(bytes(MAX_SERVICE_CODE + 1))
    with pytest.raises(BadBlob):
        validator.deploy(b"\x05garbage that is no program")
    with pytest.raises(UnknownService):
        validator.submit_work(4242, b"payload")
    with pytest.raises(PayloadTooLarge):
        validator.submit_work(REGISTRAR, bytes(MAX_WORK_PAYLOAD + 1))
    with pytest.raises(ServiceError):  # pool transactions go through `submit`
        validator.submit_work(POOL, b"payload")
    assert not validator.services.requests and not validator.services.blobs
    assert validator.head_root() == before
    # A peer's bad deploy is refused, never raised.
    assert validator.on_message(ServiceDeploy(b"junk")) == []
    assert validator.refused and "ServiceDeploy" in validator.refused[-1]
    assert not validator.services.blobs
    # The new messages round-trip; malformed octets are a MessageError.
    for message in (ServiceDeploy(sample_service_blob()), WorkSubmission(300, b"\x00\x01")):
        encoded = encode_message(message, spec)
        assert decode_message(encoded, spec) == message
        for bad in (encoded[:-1], encoded + b"\x00"):
            with pytest.raises(MessageError):
                decode_message(bad, spec)
    with pytest.raises(MessageError):
        encode_message(WorkSubmission(2**32, b""), spec)


def test_a_garbage_registrar_payload_creates_nothing(validators: list[JamValidator]) -> None:
    """A submission straight to the registrar that is no deploy request: its refine panics
    (the report carries the error), its accumulate skips it, and no service appears."""
    bus = Bus(validators)
    before = set(validators[0].head_state().services)
    bus.send(0, validators[0].submit_work(REGISTRAR, b"not a deploy request"))
    bus.run()
    oversized = DEPLOY_REQUEST.encode(DeployRequest(bytes(32), MAX_SERVICE_CODE + 1, 0, 0))
    bus.send(0, validators[0].submit_work(REGISTRAR, oversized))
    bus.run()
    run_until(bus, 1, 14, lambda: not any(v.services.requests for v in validators))
    assert_converged(validators)
    assert set(validators[0].head_state().services) == before
    assert not any(v.refused for v in validators)


def test_a_bare_standard_program_is_wrapped() -> None:
    assert check_blob(sample_service_code()) == b"\x00" + sample_service_code()
    assert check_blob(sample_service_blob()) == sample_service_blob()


def _storage_trace_code() -> bytes | None:
    """The service code preimage of the w3f storage trace's genesis, read from the vectors
    at test time, or None when they are absent."""
    path = VECTORS / "traces" / "storage" / "genesis.bin"
    if not path.exists():
        return None
    genesis = read_genesis(path.read_bytes(), TINY)
    state = state_from_keyvals(genesis.state.keyvals, TINY)
    for service, account in state.services.items():
        code = account.entries.get(preimage_key(service, account.info.code_hash))
        if code is not None:
            return code
    return None


def test_the_storage_trace_service_deploys_and_accumulates(
    validators: list[JamValidator],
) -> None:
    code = _storage_trace_code()
    if code is None:
        pytest.skip("no traces/storage/genesis.bin under $JAM_TEST_VECTORS")
    bus = Bus(validators)
    service, slot = deploy(bus, code)
    bus.send(2, validators[2].submit_work(service, b"\x01\x02\x03"))
    bus.run()

    def accumulated() -> bool:
        info = [v.head_state().services[service].info for v in validators]
        return all(i.last_accumulation_slot > i.creation_slot for i in info)

    run_until(bus, slot + 1, slot + 10, accumulated)
    assert_converged(validators)
