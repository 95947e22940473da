"""Safrole benchmarks: ring VRF tickets, ring commitments, seals, transitions, SRS generation.

All at full size (1023 validators, E = 600, K = 16) over the Zcash SRS, except the SRS
generation, which makes a fresh SRS for a 2^12 domain (rings of up to 3839 keys).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from bench import Figure, best_seconds
from jamcore.crypto.bandersnatch import Ring, public_from_secret, secret_from_seed, vrf_output
from jamcore.crypto.hashing import blake2b_256
from jamcore.crypto.srs import generate_srs, zcash_srs
from jamcore.safrole.authoring import claim_slot
from jamcore.safrole.genesis import genesis_state
from jamcore.safrole.sealing import make_entropy_source, make_seal, slot_sealer, verify_seal
from jamcore.safrole.state import (
    SafroleInput,
    SafroleState,
    TicketEnvelope,
    ValidatorKey,
)
from jamcore.safrole.tickets import ticket_vrf_input
from jamcore.safrole.transition import transition
from jamcore.spec import FULL


def _full_state(secrets: list[bytes]) -> SafroleState:
    validators = tuple(
        ValidatorKey(public_from_secret(s), blake2b_256(s), bytes(144), bytes(128)) for s in secrets
    )
    entropy = [blake2b_256(b"bench" + bytes([i])) for i in range(4)]
    return genesis_state(validators, entropy, FULL, slot=1)


def figures() -> Iterator[Figure]:
    secrets = [secret_from_seed(blake2b_256(i.to_bytes(4, "little"))) for i in range(1023)]
    keys = [public_from_secret(s) for s in secrets]
    srs = zcash_srs()

    commitment_s = best_seconds(lambda: Ring(tuple(keys), srs), repeats=3)
    yield Figure("safrole.ring_commitment_1023_ms", commitment_s * 1e3, "ms")

    state = _full_state(secrets)
    ring = Ring.of(keys)
    # 16 tickets from 8 validators (N = 2 attempts each), sorted by id as the extrinsic must be.
    envelopes = []
    for index in range(8):
        for attempt in range(FULL.tickets_per_validator):
            vrf_input = ticket_vrf_input(state.entropy[2], attempt)
            proof = ring.prove(index, secrets[index], vrf_input, b"")
            envelopes.append(
                (vrf_output(secrets[index], vrf_input), TicketEnvelope(attempt, proof))
            )
    tickets = tuple(envelope for _, envelope in sorted(envelopes, key=lambda pair: pair[0]))

    one = tickets[0]
    verify_s = best_seconds(
        lambda: ring.verify(ticket_vrf_input(state.entropy[2], one.attempt), b"", one.signature),
        repeats=5,
    )
    yield Figure("safrole.ticket_verify_ms", verify_s * 1e3, "ms")

    block = SafroleInput(2, bytes(32), tickets)
    extrinsic_s = best_seconds(lambda: transition(state, block, (), FULL), repeats=3)
    yield Figure("safrole.tickets_extrinsic_16_verify_ms", extrinsic_s * 1e3, "ms")

    empty = SafroleInput(2, bytes(32), ())
    plain_s = best_seconds(lambda: transition(state, empty, (), FULL), repeats=20)
    yield Figure("safrole.transition_no_tickets_full_ms", plain_s * 1e3, "ms")

    next_epoch = replace(state, slot=FULL.epoch_length - 1)
    change = SafroleInput(FULL.epoch_length, bytes(32), ())
    # A fresh staged set each run, so the new epoch root is computed, never a cached ring.
    runs = []
    for shift in range(1, 4):
        staged = replace(
            next_epoch,
            staged_validators=next_epoch.staged_validators[shift:]
            + next_epoch.staged_validators[:shift],
        )
        start = time.perf_counter()
        transition(staged, change, (), FULL)
        runs.append(time.perf_counter() - start)
    epoch_s = min(runs)
    yield Figure("safrole.epoch_change_full_ms", epoch_s * 1e3, "ms")

    sealer = slot_sealer(state, 2, FULL)
    author = next(s for s in secrets if public_from_secret(s) == sealer.fallback_key)
    claim = claim_slot(state, 2, author, FULL)
    entropy_source = make_entropy_source(author, sealer)
    header = b"unsealed header" + entropy_source
    seal = make_seal(author, sealer, header)
    seal_s = best_seconds(
        lambda: verify_seal(sealer, claim.author_index, header, seal, entropy_source), repeats=20
    )
    yield Figure("safrole.block_seal_verify_ms", seal_s * 1e3, "ms")

    start = time.perf_counter()
    generate_srs(12)
    yield Figure("safrole.srs_generation_s", time.perf_counter() - start, "s")
