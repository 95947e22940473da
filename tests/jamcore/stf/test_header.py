"""The header checks (graypaper sections 5, 6.4, 6.6, 10.20) on every block of every trace set.

Each trace step holds the prior state's keyvals, a block and the posterior keyvals
(`traces/schema.asn`, read by `jamcore.conformance.trace`); the Safrole components the checks
need are decoded from the keyvals by the rows of `jamcore.state.serialize` (tau C(11),
eta C(6), gamma C(4), iota C(7), kappa C(8), lambda C(9), psi C(5)).
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from jamcore.block import (
    Block,
    Header,
    Preimage,
    encode_unsigned_header,
    header_hash,
)
from jamcore.conformance.trace import GENESIS_FILE, TraceStep, read_genesis, read_trace_step
from jamcore.crypto.bandersnatch import (
    ietf_sign,
    public_from_secret,
    secret_from_seed,
    signature_output,
)
from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import JamError
from jamcore.safrole.epochs import is_new_epoch, rotated_validators
from jamcore.safrole.genesis import genesis_state
from jamcore.safrole.marks import epoch_mark, tickets_mark
from jamcore.safrole.sealing import make_entropy_source, make_seal, slot_sealer
from jamcore.safrole.state import (
    EpochMark,
    SafroleState,
    TicketBody,
    TicketSeries,
    ValidatorKey,
)
from jamcore.spec import TINY, ChainSpec
from jamcore.state.keys import component_key
from jamcore.state.merklization import state_root
from jamcore.state.serialize import (
    decode_disputes,
    decode_entropy,
    decode_safrole,
    decode_slot,
    decode_validators,
)
from jamcore.stf.header import (
    BadAuthorIndex,
    BadEpochMark,
    BadExtrinsicHash,
    BadOffendersMark,
    BadParent,
    BadParentStateRoot,
    BadSeal,
    BadTicketsMark,
    BadVrfEntropy,
    FutureSlot,
    HeaderMarks,
    SlotNotAfterParent,
    posterior_sealer,
    verify_header,
    verify_marks,
    verify_seal,
)
from tests.vectors import VECTORS

# --- Trace decoding (traces/schema.asn) ----------------------------------------------------

SPEC = TINY  # the traces are tiny-only (traces/README.md)


@cache
def load_step(path: Path) -> TraceStep:
    return read_trace_step(path.read_bytes(), SPEC)


@cache
def parent_hash_of(path: Path) -> bytes:
    """The header hash of the block before the one of step `path` (genesis for the first)."""
    steps = sorted(path.parent.glob("[0-9]*.bin"))
    index = steps.index(path)
    if index == 0:
        genesis = read_genesis((path.parent / GENESIS_FILE).read_bytes(), SPEC)
        return header_hash(genesis.header, SPEC)
    return header_hash(load_step(steps[index - 1]).block.header, SPEC)


def trace_steps() -> list[object]:
    base = VECTORS / "traces"
    files = sorted(
        f
        for d in (base.iterdir() if base.is_dir() else ())
        if (d / GENESIS_FILE).is_file()
        for f in d.glob("[0-9]*.bin")
    )
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no traces under {base}"))]
    return [pytest.param(f, id=str(f.relative_to(VECTORS))) for f in files]


STEPS = trace_steps()


# --- The Safrole components of a state's keyvals (eq. D.2) ---------------------------------


def safrole_state(keyvals: dict[bytes, bytes], spec: ChainSpec) -> SafroleState:
    """tau C(11), eta C(6), gamma C(4), iota C(7), kappa C(8) and lambda C(9) of `keyvals`."""
    pending, root, series, accumulator = decode_safrole(keyvals[component_key(4)], spec)
    return SafroleState(
        slot=decode_slot(keyvals[component_key(11)]),
        entropy=decode_entropy(keyvals[component_key(6)]),
        previous_validators=decode_validators(keyvals[component_key(9)], spec),
        active_validators=decode_validators(keyvals[component_key(8)], spec),
        pending_validators=pending,
        staged_validators=decode_validators(keyvals[component_key(7)], spec),
        ticket_accumulator=accumulator,
        sealing_keys=series,
        epoch_root=root,
    )


def new_offenders(block: Block) -> tuple[bytes, ...]:
    """The culprits' then the faults' keys (eq. 10.20), as disputes would report them."""
    disputes = block.extrinsic.disputes
    return tuple(c.key for c in disputes.culprits) + tuple(f.key for f in disputes.faults)


def expected_marks(pre: SafroleState, step: TraceStep) -> HeaderMarks:
    """H_e, H_w from Safrole's marks (eq. 6.27-6.28) and H_o (eq. 10.20) for the step."""
    slot = step.block.header.slot
    offenders = decode_disputes(step.post.keyvals[component_key(5)]).offenders
    pending, _, _ = rotated_validators(pre, is_new_epoch(pre.slot, slot, SPEC), offenders)
    return HeaderMarks(
        epoch_mark=epoch_mark(pre, slot, pending, SPEC),
        tickets_mark=tickets_mark(pre, slot, SPEC),
        offenders_mark=new_offenders(step.block),
    )


def check(step: TraceStep, path: Path, header: Header | None = None, **changes: object) -> None:
    """verify_header on `header` (default the step's) with the step's context, or `changes`."""
    pre = safrole_state(step.pre.keyvals, SPEC)
    header = header if header is not None else step.block.header
    arguments: dict[str, object] = {
        "header": header,
        "extrinsic": step.block.extrinsic,
        "parent_hash": parent_hash_of(path),
        "prior_state_root": step.pre.root,
        "prior": pre,
        "spec": SPEC,
    }
    arguments.update(changes)
    verify_header(**arguments)  # type: ignore[arg-type]


# --- Every trace block passes -------------------------------------------------------------


@pytest.mark.parametrize("path", STEPS)
def test_trace_header_is_valid(path: Path) -> None:
    step = load_step(path)
    header = step.block.header
    pre = safrole_state(step.pre.keyvals, SPEC)
    post = safrole_state(step.post.keyvals, SPEC)

    # H_r is the prior state's Merkle root, recomputed from its keyvals (eq. 5.8).
    assert state_root(step.pre.keyvals) == header.parent_state_root

    # Who seals the slot is the same from the prior state and from the posterior one.
    sealer = slot_sealer(pre, header.slot, SPEC)
    assert sealer == posterior_sealer(
        header.slot, post.sealing_keys, post.entropy[3], post.active_validators, SPEC
    )

    verdict = verify_header(
        header,
        step.block.extrinsic,
        parent_hash_of(path),
        step.pre.root,
        pre,
        SPEC,
        now=header.slot * SPEC.slot_duration,
    )
    assert verdict.ticketed == isinstance(post.sealing_keys, TicketSeries)

    # Y(H_v) is what Safrole folded into eta'_0 (eq. 6.22), and Y needs no verification.
    assert post.entropy[0] == blake2b_256(pre.entropy[0] + verdict.entropy)
    assert signature_output(header.entropy_source) == verdict.entropy
    if sealer.ticket is not None:
        assert signature_output(header.seal) == sealer.ticket.id

    verify_marks(header, expected_marks(pre, step))


@pytest.mark.parametrize("path", STEPS)
def test_ticket_ids_are_ring_proof_outputs(path: Path) -> None:
    """Y of a ring proof is its ticket id, which the posterior accumulator holds (eq. 6.29)."""
    step = load_step(path)
    post = safrole_state(step.post.keyvals, SPEC)
    ids = {ticket.id for ticket in post.ticket_accumulator}
    for envelope in step.block.extrinsic.tickets:
        assert signature_output(envelope.signature) in ids


def test_trace_sets_exercise_both_seal_modes() -> None:
    """The traces hold ticketed and fallback blocks, so both seal branches are tested."""
    modes = set()
    for param in STEPS:
        path = param.values[0]  # type: ignore[attr-defined]
        if path is None:
            pytest.skip("no traces")
        step = load_step(path)
        pre = safrole_state(step.pre.keyvals, SPEC)
        modes.add(slot_sealer(pre, step.block.header.slot, SPEC).ticketed)
    assert modes == {True, False}


# --- Tampered headers are rejected with the rule they break --------------------------------


def rejects(error: type[JamError], step: TraceStep, path: Path, **kwargs: object) -> None:
    with pytest.raises(error) as raised:
        check(step, path, **kwargs)  # type: ignore[arg-type]
    assert raised.value.code == error.code


@pytest.mark.parametrize("path", STEPS)
def test_tampered_headers_are_rejected(path: Path) -> None:
    step = load_step(path)
    header = step.block.header
    pre = safrole_state(step.pre.keyvals, SPEC)
    sealer = slot_sealer(pre, header.slot, SPEC)

    flipped = bytearray(header.seal)
    flipped[5] ^= 1
    rejects(BadSeal, step, path, header=replace(header, seal=bytes(flipped)))

    # H_v is part of E_U(H), so altering it breaks the seal first.
    flipped = bytearray(header.entropy_source)
    flipped[40] ^= 1
    rejects(BadSeal, step, path, header=replace(header, entropy_source=bytes(flipped)))

    # Another validator: fallback mode names the wrong key; ticket mode the wrong signer.
    other = replace(header, author_index=(header.author_index + 1) % SPEC.validators_count)
    rejects(BadAuthorIndex if sealer.fallback_key else BadSeal, step, path, header=other)
    beyond = replace(header, author_index=SPEC.validators_count)
    rejects(BadAuthorIndex, step, path, header=beyond)

    rejects(BadParent, step, path, parent_hash=blake2b_256(header.parent))
    rejects(BadParentStateRoot, step, path, prior_state_root=blake2b_256(header.parent_state_root))
    rejects(SlotNotAfterParent, step, path, prior=replace(pre, slot=header.slot))
    rejects(FutureSlot, step, path, now=header.slot * SPEC.slot_duration - 1)

    extra = Preimage(requester=0, blob=b"tampered")
    altered = replace(step.block.extrinsic, preimages=(*step.block.extrinsic.preimages, extra))
    rejects(BadExtrinsicHash, step, path, extrinsic=altered)


@pytest.mark.parametrize("path", STEPS)
def test_wrong_marks_are_rejected(path: Path) -> None:
    step = load_step(path)
    header = step.block.header
    marks = expected_marks(safrole_state(step.pre.keyvals, SPEC), step)

    other_epoch = (
        EpochMark(bytes(32), bytes(32), ())
        if marks.epoch_mark is None
        else replace(marks.epoch_mark, entropy=blake2b_256(marks.epoch_mark.entropy))
    )
    with pytest.raises(BadEpochMark):
        verify_marks(header, replace(marks, epoch_mark=other_epoch))
    if marks.epoch_mark is not None:
        with pytest.raises(BadEpochMark):
            verify_marks(header, replace(marks, epoch_mark=None))

    other_tickets = (
        (TicketBody(bytes(32), 0),)
        if marks.tickets_mark is None
        else tuple(reversed(marks.tickets_mark))
    )
    with pytest.raises(BadTicketsMark):
        verify_marks(header, replace(marks, tickets_mark=other_tickets))

    with pytest.raises(BadOffendersMark):
        verify_marks(header, replace(marks, offenders_mark=(*marks.offenders_mark, bytes(32))))


# --- A synthetic chain: the entropy-source rule alone ----------------------------------


def devnet() -> tuple[tuple[bytes, ...], SafroleState]:
    secrets = tuple(
        secret_from_seed(blake2b_256(b"header-test" + bytes([i])))
        for i in range(SPEC.validators_count)
    )
    validators = [
        ValidatorKey(public_from_secret(s), bytes([i]) * 32, bytes(144), bytes(128))
        for i, s in enumerate(secrets)
    ]
    entropy = [blake2b_256(bytes([i])) for i in range(4)]
    return secrets, genesis_state(validators, entropy, SPEC)


def authored_header(entropy_source: bytes | None = None) -> tuple[Header, SafroleState]:
    """A fallback-sealed header at slot 1 on a devnet genesis, with H_v as given."""
    secrets, genesis = devnet()
    sealer = slot_sealer(genesis, 1, SPEC)
    author = next(
        i for i, key in enumerate(sealer.validators) if key.bandersnatch == sealer.fallback_key
    )
    secret = secrets[author]
    header = Header(
        parent=bytes(32),
        parent_state_root=bytes(32),
        extrinsic_hash=bytes(32),
        slot=1,
        epoch_mark=None,
        tickets_mark=None,
        author_index=author,
        entropy_source=entropy_source or make_entropy_source(secret, sealer),
        offenders_mark=(),
        seal=bytes(96),
    )
    header = replace(header, seal=make_seal(secret, sealer, encode_unsigned_header(header, SPEC)))
    return header, genesis


def test_authored_header_passes_and_wrong_entropy_source_fails() -> None:
    header, genesis = authored_header()
    sealer = slot_sealer(genesis, 1, SPEC)
    verdict = verify_seal(header, sealer, SPEC)
    assert verdict.entropy == signature_output(header.entropy_source)
    assert not verdict.ticketed

    secrets, _ = devnet()
    wrong = ietf_sign(secrets[header.author_index], b"jam_entropy" + bytes(32), b"")
    tampered, _ = authored_header(entropy_source=wrong)
    with pytest.raises(BadVrfEntropy) as raised:
        verify_seal(tampered, sealer, SPEC)
    assert raised.value.code == "bad_vrf_entropy"

    with pytest.raises(BadSeal):
        verify_seal(header, slot_sealer(genesis, 2, SPEC), SPEC)


# --- Cost ----------------------------------------------------------------------------------


def test_seal_verification_time() -> None:
    """H_s and H_v cost two IETF VRF verifications per block; report the mean."""
    timings = []
    for param in STEPS:
        path = param.values[0]  # type: ignore[attr-defined]
        if path is None:
            pytest.skip("no traces")
        step = load_step(path)
        sealer = slot_sealer(safrole_state(step.pre.keyvals, SPEC), step.block.header.slot, SPEC)
        start = time.perf_counter()
        verify_seal(step.block.header, sealer, SPEC)
        timings.append(time.perf_counter() - start)
    mean_ms = 1000 * sum(timings) / len(timings)
    print(f"seal verification: {mean_ms:.2f} ms per block over {len(timings)} blocks")
    assert mean_ms < 20
