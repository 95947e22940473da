"""The vectorized state-growth model: users, notes, trees and nullifiers epoch by epoch.

Design section 7. State is held as aggregated numpy arrays, never as note objects:

* per user slot (length `users`): present?, tier class (plain, collateral, personhood), and
  how many ephemeral and permanent notes the user holds;
* per epoch of the live window (a ring of N + 1 slots, like the live tree's): unspent
  ephemeral notes held by present users (`owned`) and by users who left (`abandoned`), live
  tree leaves appended in that epoch, and ephemeral-tier nullifiers revealed in that epoch;
* scalars for the permanent tree (leaves, nullifiers kept for good, unspent notes).

One epoch E, all steps vectorized over users:

1. The subtree and nullifiers of epoch E - N - 1 are freed (`LiveTree.begin_epoch`,
   `NullifierSet.prune`).
2. Departures: a user leaves with probability `departure_rate`, either abandoning the notes
   (they stay in the trees until they expire, or for good if permanent) or withdrawing them
   (one withdrawal per two notes).
3. Arrivals: an empty slot is taken with probability `arrival_rate`; the newcomer draws a tier
   class and deposits one note. At epoch 0 the slots fill to the steady share a / (a + d).
4. Expiry (ephemeral policy): notes created in epoch E - N are in their last epoch. Users whose
   wallet is offline this epoch (chance 1 - `renew_rate`) lose theirs: how many of the
   expiring notes the offline users hold is a hypergeometric draw (a user's notes are spread
   over the window like everyone's), spread over those users' notes without replacement. The
   online users renew each of theirs in a 1-in-1-out transaction (dummy input and output).
   Abandoned notes of that epoch expire.
5. One action per present user: pay (up to 2 inputs, a note to a random present user and
   change), split (1 input, 2 outputs: dust), consolidate (2 inputs, 1 output, only above
   `consolidate_above` notes), withdraw (1 input, no change) or deposit (1 note). Users with
   no notes deposit instead of paying or splitting. Ephemeral notes are spent first; which
   epochs the spent notes came from is drawn without replacement from the window
   (multivariate hypergeometric over epochs), so per-epoch counts stay exact.
6. Every transaction has the circuit's 2 inputs and 2 outputs: unused ones are zero-value
   dummies that still reveal a nullifier and append a leaf (`shielded.service.accumulate`
   records them all). Fees come from `shielded.sim.pricing.FeeTable` (the pool's quote).

Conservation holds exactly: notes created = live + spent + expired (dummies excluded).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from shielded.sim.params import Policy, SimulationParams
from shielded.sim.pricing import (
    ARITY,
    FeeTable,
    expected_hashes_per_proof,
    spam_proof_capacity_share,
)
from shielded.sim.sizes import StateSizes, measure_sizes, state_bytes

PLAIN, COLLATERAL, PERSONHOOD = 0, 1, 2
"""Tier classes of users: who may make their own outputs permanent, and how."""

PAY, SPLIT, CONSOLIDATE, WITHDRAW, DEPOSIT = range(5)
"""Actions of step 5, in the order of their probability bands."""
NONE, TRANSFER, WITHDRAWAL, DEPOSITED = range(4)
"""What an action turns into: nothing, an internal transfer, a withdrawal, or a deposit."""
HOLDINGS = 4
"""Holdings classes: no note, one note, two up to `consolidate_above`, more than that."""


def _action_table() -> np.ndarray:
    """(inputs, own outputs, kind, deposited notes) of every (action, holdings class).

    Pay spends up to 2 notes into a payment and change; split spends 1 into 2 (dust);
    consolidate spends 2 into 1, only above `consolidate_above`; withdraw spends 1 with no
    change; deposit adds 1. Without notes, paying deposits 1 and splitting deposits 2.
    """
    table = np.zeros((4, 5 * HOLDINGS), dtype=np.int32)
    for holding in range(HOLDINGS):
        rows = {
            PAY: (min(holding, 2), 1, TRANSFER, 0) if holding else (0, 0, DEPOSITED, 1),
            SPLIT: (1, 2, TRANSFER, 0) if holding else (0, 0, DEPOSITED, 2),
            CONSOLIDATE: (2, 1, TRANSFER, 0) if holding == 3 else (0, 0, NONE, 0),
            WITHDRAW: (1, 0, WITHDRAWAL, 0) if holding else (0, 0, NONE, 0),
            DEPOSIT: (0, 0, DEPOSITED, 1),
        }
        for action, row in rows.items():
            table[:, action * HOLDINGS + holding] = row
    return table


ACTION_TABLE = _action_table()

COLUMNS = (
    "epoch",
    "users",
    "transactions",
    "live_notes",
    "live_leaves",
    "permanent_notes",
    "nullifiers",
    "state_bytes",
    "ciphertext_bytes",
    "anonymity_set",
    "fees_burned",
    "spam_proof_hashes",
    "notes_expired",
    "locked_collateral",
    "capacity_use",
)
"""Per-epoch outputs, in report order. live_notes: unspent value-bearing notes; live_leaves:
leaves of the live tree; permanent_notes: leaves of the permanent tree; anonymity_set:
all leaves a spend can hide among (live + permanent); spam_proof_hashes: expected hash
attempts behind the epoch's spam proofs; capacity_use: transactions over the epoch's block
capacity (above 1 the chain could not carry the demand: the model does not queue)."""


@dataclass
class SimulationResult:
    """Per-epoch columns of one run, its totals and its wall-clock time."""

    params: SimulationParams
    columns: dict[str, np.ndarray]
    totals: dict[str, int]
    seconds: float = 0.0
    process: int = field(default_factory=os.getpid)
    """Id of the process that ran the model (sweeps run in worker processes)."""

    @property
    def epochs(self) -> int:
        return len(self.columns["epoch"])

    def final(self, name: str) -> float:
        """The last epoch's value of column `name`."""
        return float(self.columns[name][-1])


@dataclass
class _Tally:
    """Transactions of one epoch by fee class, and their effect on leaves and nullifiers."""

    transfers: np.ndarray = field(default_factory=lambda: np.zeros(ARITY + 1, np.int64))
    withdrawals: np.ndarray = field(default_factory=lambda: np.zeros((3, ARITY + 1), np.int64))
    deposits: int = 0
    permanent_outputs: int = 0
    permanent_inputs: int = 0

    @property
    def transactions(self) -> int:
        return int(self.transfers.sum() + self.withdrawals.sum() + self.deposits)


def _threshold(probability: float) -> int:
    """The 32-bit word below which a uniform word falls with `probability`."""
    return round(probability * 2**32)


def _draw_spent(rng: np.random.Generator, counts: np.ndarray, total: int) -> np.ndarray:
    """Which epochs `total` notes drawn without replacement from `counts` came from."""
    held = int(counts.sum())
    if total <= 0:
        return np.zeros_like(counts)
    if total >= held:
        return counts.copy()
    return rng.multivariate_hypergeometric(counts, total, method="marginals")


class Simulation:
    """One run of the model; `run()` steps every epoch and returns the result."""

    def __init__(self, params: SimulationParams, sizes: StateSizes | None = None) -> None:
        self.params = params
        self.sizes = sizes or measure_sizes()
        self.pool = params.pool_config
        self.fees = FeeTable(self.pool)
        self.rng = np.random.default_rng(params.seed)
        self.ephemeral = params.policy is Policy.EPHEMERAL
        users, slots = params.users, params.lifetime + 1
        self.slots = slots
        self.present = np.zeros(users, dtype=bool)
        self.klass = np.zeros(users, dtype=np.int8)
        self.held_ephemeral = np.zeros(users, dtype=np.int32)
        self.held_permanent = np.zeros(users, dtype=np.int32)
        self.owned = np.zeros(slots, dtype=np.int64)
        self.abandoned = np.zeros(slots, dtype=np.int64)
        self.live_leaves = np.zeros(slots, dtype=np.int64)
        self.ephemeral_nullifiers = np.zeros(slots, dtype=np.int64)
        self.permanent_leaves = 0
        self.permanent_nullifiers = 0
        self.permanent_owned = 0
        self.permanent_abandoned = 0
        self.collateral_notes = 0
        self.created = self.spent = self.expired = 0
        self.spam_share = min(params.spam_proof_share, spam_proof_capacity_share(self.pool))
        self.hashes_per_proof = expected_hashes_per_proof(self.pool)
        self.capacity = params.blocks_per_epoch * self.pool.spec.block_capacity
        bands = (
            params.departure_rate,
            params.pay_rate,
            params.split_rate,
            params.consolidate_rate,
            params.withdraw_rate,
            params.deposit_rate,
        )
        self.action_edges = [_threshold(edge) for edge in np.cumsum(bands)[1:]]
        """Word thresholds after pay, split, consolidate, withdraw, deposit (the last one is
        the top of the acting band)."""
        self.epoch = 0

    # --- bookkeeping helpers -------------------------------------------------------------

    def live_notes(self) -> int:
        """Unspent value-bearing notes, owned or abandoned, of both tiers."""
        return int(
            self.owned.sum()
            + self.abandoned.sum()
            + self.permanent_owned
            + self.permanent_abandoned
        )

    def anonymity_set(self) -> int:
        """Leaves a spend can hide among: the live window and the permanent tree."""
        return int(self.live_leaves.sum()) + self.permanent_leaves

    def _self_tiers(self, outputs: np.ndarray, klass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split a user's own outputs into (ephemeral, permanent) by policy and tier class."""
        if not self.ephemeral:
            return np.zeros_like(outputs), outputs
        quota = self.pool.personhood_quota
        permanent = np.where(
            klass == COLLATERAL,
            outputs,
            np.where(klass == PERSONHOOD, np.minimum(outputs, quota), 0),
        )
        return outputs - permanent, permanent

    def _random_present(self, count: int) -> np.ndarray:
        """`count` present users drawn uniformly with replacement (by rejection)."""
        chosen: list[np.ndarray] = []
        while count > 0:
            slots = self.rng.integers(0, self.params.users, 2 * count + 16)
            slots = slots[self.present[slots]][:count]
            chosen.append(slots)
            count -= len(slots)
        return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)

    def _spend_ephemeral(self, count: int) -> None:
        """Remove `count` spent ephemeral notes from the window, epochs drawn at random."""
        self.owned -= _draw_spent(self.rng, self.owned, count)

    def _append(self, tally: _Tally) -> None:
        """Add a tally's leaves and nullifiers to the trees and the nullifier set."""
        slot = self.epoch % self.slots
        leaves = ARITY * tally.transactions
        if self.ephemeral:
            self.permanent_leaves += tally.permanent_outputs
            self.live_leaves[slot] += leaves - tally.permanent_outputs
            self.permanent_nullifiers += tally.permanent_inputs
            self.ephemeral_nullifiers[slot] += leaves - tally.permanent_inputs
        else:
            self.permanent_leaves += leaves
            self.permanent_nullifiers += leaves

    # --- one epoch -----------------------------------------------------------------------

    def _begin_epoch(self) -> None:
        """Free the subtree and prune the nullifiers of epoch E - N - 1 (same ring slot)."""
        slot = self.epoch % self.slots
        self.live_leaves[slot] = 0
        self.ephemeral_nullifiers[slot] = 0

    def _departures(self, leaving: np.ndarray, tally: _Tally) -> None:
        """Step 2: `leaving` users abandon their notes or withdraw all of them."""
        params = self.params
        abandon = self.rng.random(len(leaving)) < params.abandon_rate
        quitters, withdrawers = leaving[abandon], leaving[~abandon]
        # Abandoned notes stay in the state; their epochs are drawn from the window.
        ephemeral = int(self.held_ephemeral[quitters].sum())
        moved = _draw_spent(self.rng, self.owned, ephemeral)
        self.owned -= moved
        self.abandoned += moved
        permanent = int(self.held_permanent[quitters].sum())
        self.permanent_owned -= permanent
        self.permanent_abandoned += permanent
        # Withdrawers spend every note, two per withdrawal (no change, dummy outputs).
        held_e = self.held_ephemeral[withdrawers].astype(np.int64)
        held_p = self.held_permanent[withdrawers].astype(np.int64)
        notes = held_e + held_p
        self._spend_ephemeral(int(held_e.sum()))
        spent_p = int(held_p.sum())
        self.permanent_owned -= spent_p
        self.collateral_notes -= int(held_p[self.klass[withdrawers] == COLLATERAL].sum())
        self.spent += int(notes.sum())
        # Their two outputs are dummies: ephemeral, unless every output is permanent.
        kept = 0 if self.ephemeral else ARITY
        tally.withdrawals[2, kept] += int((notes // 2).sum())
        tally.withdrawals[1, kept] += int((notes % 2).sum())
        tally.permanent_inputs += spent_p
        self.present[leaving] = False
        self.held_ephemeral[leaving] = 0
        self.held_permanent[leaving] = 0

    def _arrivals(self, arriving: np.ndarray, tally: _Tally) -> None:
        """Step 3: newcomers draw a tier class and deposit one note each."""
        params = self.params
        draw = self.rng.random(len(arriving))
        klass = np.full(len(arriving), PLAIN, dtype=np.int8)
        klass[draw < params.collateral_uptake + params.personhood_uptake] = PERSONHOOD
        klass[draw < params.collateral_uptake] = COLLATERAL
        if not self.ephemeral:
            klass[:] = PLAIN  # one tree: tiers mean nothing
        self.present[arriving] = True
        self.klass[arriving] = klass
        self._deposit(arriving, np.ones(len(arriving), dtype=np.int64), tally)

    def _deposit(self, users: np.ndarray, outputs: np.ndarray, tally: _Tally) -> None:
        """Deposits of `outputs` (1 or 2) fresh notes to each of `users` (free: quote 0)."""
        ephemeral, permanent = self._self_tiers(outputs, self.klass[users])
        self.held_ephemeral[users] += ephemeral.astype(np.int32)
        self.held_permanent[users] += permanent.astype(np.int32)
        self._credit(int(ephemeral.sum()), int(permanent.sum()))
        self.collateral_notes += int(permanent[self.klass[users] == COLLATERAL].sum())
        tally.deposits += len(users)
        tally.permanent_outputs += int(permanent.sum())

    def _credit(self, ephemeral: int, permanent: int) -> None:
        """New value-bearing notes created this epoch."""
        self.owned[self.epoch % self.slots] += ephemeral
        self.permanent_owned += permanent
        self.created += ephemeral + permanent

    def _expire(self, renew_word: np.ndarray, tally: _Tally) -> int:
        """Notes of epoch E - N: renew those of online wallets, lose the rest (step 4)."""
        if not self.ephemeral or self.epoch < self.params.lifetime:
            return 0
        slot = (self.epoch - self.params.lifetime) % self.slots
        expiring = int(self.owned[slot])
        held = int(self.owned.sum())
        lost = 0
        if expiring:
            offline = np.flatnonzero(renew_word >= _threshold(self.params.renew_rate))
            offline = offline[self.present[offline] & (self.held_ephemeral[offline] > 0)]
            holdings = self.held_ephemeral[offline]
            # Offline users hold `at_risk` of the `held` ephemeral notes; the expiring ones
            # among them are a hypergeometric draw, then spread over their holders exactly.
            at_risk = int(holdings.sum())
            lost = (
                int(self.rng.hypergeometric(expiring, held - expiring, at_risk)) if at_risk else 0
            )
            if lost:
                notes = self.rng.choice(at_risk, lost, replace=False)
                owners = np.repeat(np.arange(len(offline)), holdings)[notes]
                share = np.bincount(owners, minlength=len(offline)).astype(np.int32)
                self.held_ephemeral[offline] = holdings - share
        renewed = expiring - lost
        self.owned[slot] = 0
        self.owned[self.epoch % self.slots] += renewed
        self.spent += renewed
        self.created += renewed
        tally.transfers[0] += renewed
        gone = lost + int(self.abandoned[slot])
        self.abandoned[slot] = 0
        self.expired += gone
        return gone

    def _actions(self, acting: np.ndarray, word: np.ndarray, tally: _Tally) -> None:
        """Step 5: one action per acting user, vectorized over them through `ACTION_TABLE`."""
        params = self.params
        action = np.zeros(len(acting), dtype=np.int8)
        for edge in self.action_edges[:-1]:
            action += word >= edge
        held_e = self.held_ephemeral[acting]
        held_p = self.held_permanent[acting]
        held = held_e + held_p
        holding = (held > 0).view(np.int8) + (held > 1) + (held > params.consolidate_above)
        code = action * HOLDINGS + holding
        inputs, own_outputs, kind, deposit_outputs = ACTION_TABLE[:, code]
        spent_e = np.minimum(inputs, held_e)
        spent_p = inputs - spent_e
        klass = self.klass[acting]
        out_e, out_p = self._self_tiers(own_outputs, klass)
        self.held_ephemeral[acting] = held_e + out_e - spent_e
        self.held_permanent[acting] = held_p + out_p - spent_p
        self.collateral_notes += int((out_p - spent_p)[klass == COLLATERAL].sum())
        self._spend_ephemeral(int(spent_e.sum()))
        self.permanent_owned -= int(spent_p.sum())
        self.spent += int(inputs.sum())
        self._credit(int(out_e.sum()), int(out_p.sum()))
        # Payments land on random present users, as ephemeral notes unless all are permanent.
        by_kind = np.bincount(kind * (ARITY + 1) + out_p, minlength=4 * (ARITY + 1))
        by_kind = by_kind.reshape(4, ARITY + 1)
        payments = int(np.count_nonzero(code < HOLDINGS)) - int(np.count_nonzero(code == 0))
        if payments:
            received = np.bincount(self._random_present(payments), minlength=params.users)
            holdings = self.held_ephemeral if self.ephemeral else self.held_permanent
            np.add(holdings, received, out=holdings, casting="unsafe")
            if self.ephemeral:
                self._credit(payments, 0)
            else:
                self._credit(0, payments)
        deposits = np.flatnonzero(deposit_outputs)
        self._deposit(acting[deposits], deposit_outputs[deposits], tally)
        # Fee classes: permanent outputs per transaction (all of them without ephemeral notes).
        if self.ephemeral:
            tally.transfers += by_kind[TRANSFER]
            tally.withdrawals[1] += by_kind[WITHDRAWAL]
            tally.permanent_outputs += int(
                (by_kind[[TRANSFER, WITHDRAWAL]] * np.arange(ARITY + 1)).sum()
            )
        else:
            tally.transfers[ARITY] += int(by_kind[TRANSFER].sum())
            tally.withdrawals[1, ARITY] += int(by_kind[WITHDRAWAL].sum())
        tally.permanent_inputs += int(spent_p.sum())

    def _burn(self, tally: _Tally, pool_value: int, anonymity: int) -> tuple[int, int]:
        """Fees of the epoch's transactions (count x quote per class, with spam proofs drawn)
        and how many of them carry a spam proof."""
        burned = spam_proofs = 0
        for permanent, count in enumerate(tally.transfers):
            proofs = int(self.rng.binomial(int(count), self.spam_share))
            spam_proofs += proofs
            burned += proofs * self.fees.transfer(permanent, True)
            burned += (int(count) - proofs) * self.fees.transfer(permanent, False)
        for notes in (1, 2):
            for permanent, count in enumerate(tally.withdrawals[notes]):
                if not count:
                    continue
                proofs = int(self.rng.binomial(int(count), self.spam_share))
                spam_proofs += proofs
                amount = notes * self.params.note_value
                quote = [
                    self.fees.withdrawal(amount, permanent, spam, pool_value, anonymity)
                    for spam in (False, True)
                ]
                burned += proofs * quote[1] + (int(count) - proofs) * quote[0]
        return burned, spam_proofs

    def step(self) -> dict[str, float]:
        """Advance one epoch (steps 1-6 of the module docstring); returns its outputs."""
        params = self.params
        # Withdrawals are priced at the statistics of the anchor: the state before this epoch.
        pool_value = self.live_notes() * params.note_value
        anonymity = self.anonymity_set()
        self._begin_epoch()
        tally = _Tally()
        # Two independent uniform 32-bit words per user: action band and wallet online.
        words = self.rng.bit_generator.random_raw(params.users).view(np.uint32)
        action_word, renew_word = words[0::2], words[1::2]
        if self.epoch == 0:
            rates = params.arrival_rate + params.departure_rate
            arrival = _threshold(params.arrival_rate / rates if rates else 1.0)
        else:
            arrival = _threshold(params.arrival_rate)
        departing, top = _threshold(params.departure_rate), self.action_edges[-1]
        # Everyone who does anything this epoch, then split by presence and band.
        candidates = np.flatnonzero(action_word < max(arrival, top))
        word = action_word[candidates]
        present = self.present[candidates]
        leaving = candidates[present & (word < departing)]
        arriving = candidates[~present & (word < arrival)]
        band = present & (word >= departing) & (word < top)
        acting, acting_word = candidates[band], word[band]
        self._departures(leaving, tally)
        self._arrivals(arriving, tally)
        expired = self._expire(renew_word, tally)
        self._actions(acting, acting_word, tally)
        self._append(tally)
        burned, spam_proofs = self._burn(tally, pool_value, anonymity)
        live_leaves = int(self.live_leaves.sum())
        leaves = live_leaves + self.permanent_leaves
        nullifiers = int(self.ephemeral_nullifiers.sum()) + self.permanent_nullifiers
        row = {
            "epoch": self.epoch,
            "users": int(np.count_nonzero(self.present)),
            "transactions": tally.transactions,
            "live_notes": self.live_notes(),
            "live_leaves": live_leaves,
            "permanent_notes": self.permanent_leaves,
            "nullifiers": nullifiers,
            "state_bytes": state_bytes(
                self.sizes, self.live_leaves, self.permanent_leaves, nullifiers
            ),
            "ciphertext_bytes": leaves * self.sizes.ciphertext_bytes,
            "anonymity_set": leaves,
            "fees_burned": burned,
            "spam_proof_hashes": spam_proofs * self.hashes_per_proof,
            "notes_expired": expired,
            "locked_collateral": self.collateral_notes * self.pool.collateral_per_note,
            "capacity_use": tally.transactions / self.capacity,
        }
        self.epoch += 1
        return row

    def run(self) -> SimulationResult:
        """Run every epoch; the result holds one column per output (see COLUMNS)."""
        start = time.perf_counter()
        columns = {
            name: np.zeros(
                self.params.epochs, dtype=np.float64 if name == "capacity_use" else np.int64
            )
            for name in COLUMNS
        }
        for index in range(self.params.epochs):
            for name, value in self.step().items():
                columns[name][index] = value
        totals = {
            "notes_created": self.created,
            "notes_spent": self.spent,
            "notes_expired": self.expired,
            "notes_live": self.live_notes(),
            "fees_burned": int(columns["fees_burned"].sum()),
            "transactions": int(columns["transactions"].sum()),
        }
        return SimulationResult(self.params, columns, totals, time.perf_counter() - start)


def simulate(params: SimulationParams, sizes: StateSizes | None = None) -> SimulationResult:
    """Run the model for `params` (the entry point sweeps and the CLI use)."""
    return Simulation(params, sizes).run()
