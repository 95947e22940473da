"""Appendix D.2: the incremental state trie (jamcore.state.trie) and its Merkle proofs.

The reference is merklization.state_root (checked against the definition and the trie
vectors in test_merklization): after any sequence of updates, StateTrie.root() must equal
state_root of a plain dictionary that received the same updates, in both bit orders.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamcore.crypto.hashing import ZERO_HASH, blake2b_256
from jamcore.errors import JamError
from jamcore.state.keys import STATE_KEY_LENGTH, StateKeyError
from jamcore.state.merklization import BitOrder, leaf_node, state_root
from jamcore.state.trie import StateTrie, TrieProof, TrieProofError, verify_proof

KEY_BITS = 8 * STATE_KEY_LENGTH

_orders = st.sampled_from(list(BitOrder))
# The size classes of eq. D.4: empty, embedded, the 32-octet limit, just over it, hashed.
_values = st.sampled_from((0, 1, 32, 33, 100)).flatmap(
    lambda size: st.binary(min_size=size, max_size=size)
)


@st.composite
def _key_pools(draw: st.DrawFn) -> list[bytes]:
    """Distinct keys: a few random ones, and many near one base key (flipping bits late
    in the key gives long shared prefixes, hence chains of one-sided branches)."""
    base = draw(st.binary(min_size=STATE_KEY_LENGTH, max_size=STATE_KEY_LENGTH))
    pool = {base}
    for _ in range(draw(st.integers(min_value=2, max_value=14))):
        key = bytearray(base)
        for bit in draw(
            st.lists(st.integers(min_value=0, max_value=KEY_BITS - 1), min_size=1, max_size=3)
        ):
            key[bit >> 3] ^= 1 << (bit & 7)
        pool.add(bytes(key))
    pool.update(
        draw(st.lists(st.binary(min_size=STATE_KEY_LENGTH, max_size=STATE_KEY_LENGTH), max_size=4))
    )
    return sorted(pool)


@st.composite
def _histories(
    draw: st.DrawFn,
) -> tuple[list[bytes], dict[bytes, bytes], list[dict[bytes, bytes | None]]]:
    """(key pool, initial state, batches of changes) over the pool's keys."""
    pool = draw(_key_pools())
    keys = st.sampled_from(pool)
    initial = draw(st.dictionaries(keys, _values, max_size=len(pool)))
    batches = draw(
        st.lists(
            st.dictionaries(keys, st.one_of(st.none(), _values), min_size=1, max_size=6),
            min_size=1,
            max_size=6,
        )
    )
    return pool, initial, batches


def _apply(model: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> None:
    for key, value in changes.items():
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value


def _check_proofs(trie: StateTrie, model: dict[bytes, bytes], keys: list[bytes]) -> None:
    order = trie.order
    root = trie.root()
    for key in keys:
        value = model.get(key)
        proof = trie.proof(key)
        assert verify_proof(root, key, value, proof, order)
        assert TrieProof.from_json(json.loads(json.dumps(proof.to_json()))) == proof
        # A wrong value: another one, or absence claimed for a present key.
        assert not verify_proof(root, key, (value or b"") + b"\x01", proof, order)
        if value is not None:
            assert not verify_proof(root, key, None, proof, order)
            for other in keys:
                if other != key:
                    assert not verify_proof(root, other, value, proof, order)
        # Every real sibling, and the deepest zero one of a chain (there can be ~250).
        zeros = [index for index, sibling in enumerate(proof.siblings) if sibling == ZERO_HASH]
        for index, sibling in enumerate(proof.siblings):
            if sibling == ZERO_HASH and index != zeros[-1]:
                continue
            # Octets 1.. of a sibling are always committed (octet 0 of a left one loses its
            # first bit to eq. D.3, see test_branches_drop_the_first_bit_of_a_left_sibling).
            flipped = sibling[:5] + bytes((sibling[5] ^ 0x10,)) + sibling[6:]
            siblings = proof.siblings[:index] + (flipped,) + proof.siblings[index + 1 :]
            assert not verify_proof(root, key, value, TrieProof(siblings, proof.leaf), order)
        if proof.siblings:
            shorter = TrieProof(proof.siblings[:-1], proof.leaf)
            assert not verify_proof(root, key, value, shorter, order)


@settings(max_examples=120, deadline=None)
@given(_histories(), _orders)
def test_root_tracks_state_root_through_updates(
    history: tuple[list[bytes], dict[bytes, bytes], list[dict[bytes, bytes | None]]],
    order: BitOrder,
) -> None:
    pool, initial, batches = history
    model = dict(initial)
    trie = StateTrie(initial, order)
    assert trie.root() == state_root(model, order)
    for batch in batches:
        trie.update(batch)
        _apply(model, batch)
        assert trie.root() == state_root(model, order)
        assert trie.root() == state_root(model, order)  # a second call is cached
        assert len(trie) == len(model)
        assert dict(trie.items()) == model
        for key in pool:
            assert trie.get(key) == model.get(key)
            assert (key in trie) == (key in model)


@settings(max_examples=80, deadline=None)
@given(_histories(), _orders, st.data())
def test_proofs_of_present_and_absent_keys_verify(
    history: tuple[list[bytes], dict[bytes, bytes], list[dict[bytes, bytes | None]]],
    order: BitOrder,
    data: st.DataObject,
) -> None:
    pool, initial, batches = history
    model = dict(initial)
    trie = StateTrie(initial, order)
    _check_proofs(trie, model, pool)
    for batch in batches:
        trie.update(batch)
        _apply(model, batch)
        # Proofs right after an update (root() not called yet) see the updated state.
        probe = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
        _check_proofs(trie, model, probe)


def test_larger_random_trie_with_block_sized_updates() -> None:
    rng = random.Random(7)
    for order in BitOrder:
        model = {
            rng.randbytes(STATE_KEY_LENGTH): rng.randbytes(rng.choice((0, 12, 40)))
            for _ in range(2000)
        }
        trie = StateTrie(model, order)
        assert trie.root() == state_root(model, order)
        for _ in range(4):
            keys = list(model)
            changes: dict[bytes, bytes | None] = {rng.choice(keys): None for _ in range(30)}
            changes.update({rng.choice(keys): rng.randbytes(33) for _ in range(30)})
            changes.update({rng.randbytes(STATE_KEY_LENGTH): b"" for _ in range(60)})
            changes[rng.randbytes(STATE_KEY_LENGTH)] = None  # absent: a no-op
            trie.update(changes)
            _apply(model, changes)
            assert trie.root() == state_root(model, order)
            _check_proofs(trie, model, rng.sample(keys, 3) + [rng.randbytes(STATE_KEY_LENGTH)])


def test_empty_and_single_entry_tries() -> None:
    key, other = bytes(STATE_KEY_LENGTH), b"\x01" * STATE_KEY_LENGTH
    trie = StateTrie()
    assert trie.root() == ZERO_HASH and len(trie) == 0
    assert trie.proof(key) == TrieProof(())
    assert verify_proof(ZERO_HASH, key, None, trie.proof(key))
    assert not verify_proof(ZERO_HASH, key, b"", trie.proof(key))
    trie.update({key: b"v"})
    assert trie.root() == blake2b_256(leaf_node(key, b"v"))
    assert trie.proof(key) == TrieProof((), leaf_node(key, b"v"))
    assert verify_proof(trie.root(), key, b"v", trie.proof(key))
    assert verify_proof(trie.root(), other, None, trie.proof(other))  # another key's leaf
    trie.update({key: None, other: None})
    assert trie.root() == ZERO_HASH and len(trie) == 0 and key not in trie


def test_each_kind_of_exclusion_proof() -> None:
    # a and b differ at bit 0; q shares a's first bit, r does not; s diverges from both
    # c and d (which share their first 8 bits) at bit 1.
    a, b = bytes(STATE_KEY_LENGTH), b"\x80" + bytes(STATE_KEY_LENGTH - 1)
    q, r = b"\x40" + bytes(STATE_KEY_LENGTH - 1), b"\x81" + bytes(STATE_KEY_LENGTH - 1)
    trie = StateTrie({a: b"a", b: b"b"})
    root = trie.root()
    proof = trie.proof(q)
    assert proof == TrieProof((blake2b_256(leaf_node(b, b"b")),), leaf_node(a, b"a"))
    assert verify_proof(root, q, None, proof)
    assert not verify_proof(root, r, None, proof)  # a's leaf is not on r's path
    assert not verify_proof(root, a, None, proof)  # and it shows a present
    branch_head = TrieProof(proof.siblings, b"\x00" + proof.leaf[1:])  # type: ignore[index]
    assert not verify_proof(root, q, None, branch_head)
    c, d = b"\xff\x00" + bytes(29), b"\xff\x01" + bytes(29)
    s = b"\xbf" + bytes(30)
    trie = StateTrie({c: b"c", d: b"d"})
    proof = trie.proof(s)
    assert proof.leaf is None and len(proof.siblings) == 2
    assert proof.siblings[0] == ZERO_HASH
    assert verify_proof(trie.root(), s, None, proof)
    assert not verify_proof(trie.root(), s, None, TrieProof(proof.siblings[:1]))


def test_verification_checks_the_leaf_encoding_exactly() -> None:
    key = bytes(range(STATE_KEY_LENGTH))
    for value in (b"", b"\x00", b"\x00" * 32, b"\x07" * 33, b"\x07" * 100):
        trie = StateTrie({key: value, b"\xff" * STATE_KEY_LENGTH: b"x"})
        proof = trie.proof(key)
        assert verify_proof(trie.root(), key, value, proof)
        # Zero padding must not let a shorter or longer value through (the size is in the
        # head bits), and a hashed value must not be confused with its hash.
        for wrong in (value + b"\x00", value[:-1], blake2b_256(value)):
            if wrong != value:
                assert not verify_proof(trie.root(), key, wrong, proof)


def test_branches_drop_the_first_bit_of_a_left_sibling() -> None:
    left_key = bytes(STATE_KEY_LENGTH)
    for order in BitOrder:
        # bit 0 (the dropped bit of octet 0, eq. D.3) is 0x80 or 0x01 by the bit order.
        dropped = 0x80 if order is BitOrder.MSB_FIRST else 0x01
        right_key = bytes((dropped,)) + bytes(STATE_KEY_LENGTH - 1)
        trie = StateTrie({left_key: b"l", right_key: b"r"}, order)
        proof = trie.proof(right_key)
        assert len(proof.siblings) == 1
        sibling = proof.siblings[-1]
        twin = TrieProof((bytes((sibling[0] ^ dropped,)) + sibling[1:],), proof.leaf)
        assert verify_proof(trie.root(), right_key, b"r", twin, order)  # same branch (D.3)
        other = TrieProof((bytes((sibling[0] ^ (0xFF ^ dropped),)) + sibling[1:],), proof.leaf)
        assert not verify_proof(trie.root(), right_key, b"r", other, order)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "0x",
        {"siblings": []},
        {"leaf": None},
        {"siblings": [], "leaf": None, "extra": 1},
        {"siblings": "0x" + "00" * 32, "leaf": None},
        {"siblings": ["00" * 32], "leaf": None},
        {"siblings": ["0x" + "00" * 31], "leaf": None},
        {"siblings": ["0x" + "zz" * 32], "leaf": None},
        {"siblings": ["0x" + "00" * 31 + " 0"], "leaf": None},
        {"siblings": [32], "leaf": None},
        {"siblings": [], "leaf": "0x" + "00" * 32},
        {"siblings": [], "leaf": 0},
        {"siblings": ["0x" + "00" * 32] * (KEY_BITS + 1), "leaf": None},
    ],
)
def test_malformed_proof_json_raises_the_typed_error(data: object) -> None:
    with pytest.raises(TrieProofError) as error:
        TrieProof.from_json(data)
    assert isinstance(error.value, JamError)


def test_proof_json_round_trip_and_shape() -> None:
    proof = TrieProof((b"\x01" * 32, ZERO_HASH), b"\x80" + b"\x02" * 63)
    data = proof.to_json()
    assert data == {"siblings": ["0x" + "01" * 32, "0x" + "00" * 32], "leaf": "0x80" + "02" * 63}
    assert TrieProof.from_json(data) == proof
    assert TrieProof.from_json({"siblings": [], "leaf": None}) == TrieProof(())
    with pytest.raises(TrieProofError):
        TrieProof((b"\x01" * 31,))
    with pytest.raises(TrieProofError):
        TrieProof((), b"\x00" * 63)


def test_invalid_update_changes_nothing() -> None:
    good, other = b"\x01" * STATE_KEY_LENGTH, b"\x02" * STATE_KEY_LENGTH
    trie = StateTrie({good: b"old", other: b"kept"})
    root = trie.root()
    for bad in (
        {good: b"new", b"\x03" * 32: b"x"},  # a 32-octet key
        {good: b"new", other: None, b"short": b"x"},
        {good: b"new", 5: b"x"},
        {good: b"new", other: "not octets"},
        {other: None, good: 7},
    ):
        with pytest.raises(StateKeyError):
            trie.update(bad)  # type: ignore[arg-type]
        assert trie.root() == root and len(trie) == 2
        assert trie.get(good) == b"old" and trie.get(other) == b"kept"
    with pytest.raises(StateKeyError):
        trie.update([(good, b"x")])  # type: ignore[arg-type]
    assert trie.root() == root


def test_inputs_are_normalised_and_not_aliased() -> None:
    key = b"\x05" * STATE_KEY_LENGTH
    state = {key: b"a"}
    trie = StateTrie(state)
    state[key] = b"b"
    state[b"\x06" * STATE_KEY_LENGTH] = b"c"
    assert trie.root() == state_root({key: b"a"})
    value = bytearray(b"mutable")
    trie.update({memoryview(key): value})  # type: ignore[dict-item]
    value[0] = 0
    assert trie.get(key) == b"mutable" and trie.root() == state_root({key: b"mutable"})
    assert bytearray(key) in trie and b"short" not in trie and 3 not in trie
    with pytest.raises(StateKeyError):
        StateTrie({b"short": b"x"})
    with pytest.raises(StateKeyError):
        StateTrie({key: "text"})  # type: ignore[dict-item]
    with pytest.raises(StateKeyError):
        trie.get(b"short")
    with pytest.raises(StateKeyError):
        trie.proof(b"short")
    with pytest.raises(StateKeyError):
        verify_proof(trie.root(), b"short", None, trie.proof(key))
    with pytest.raises(TrieProofError):
        verify_proof(b"\x00" * 31, key, None, trie.proof(key))
