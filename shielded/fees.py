"""Information-priced fees: what a pool transaction must burn (design section 3, "Fees").

A fee pays for what a transaction takes from everyone else, and nothing more:

* **Deposits are free.** They add value and notes to the pool, so they grow the anonymity set
  every other user hides in.
* **Internal transfers pay for the state they add.** Every output is a commitment validators
  keep until it expires; the cost is outputs x lifetime::

      state_units = sum(lifetime_epochs of ephemeral outputs)
                    + permanent_outputs * permanent_lifetime_epochs
      state_fee   = output_epoch_fee * max(0, state_units - allowance)

  A permanent output never expires, so it is priced as a long lifetime
  (`permanent_lifetime_epochs` >= the note lifetime N: making an output permanent never costs
  less). A transaction that carries a spam proof has already paid for its place with work and
  gets `free_output_epochs` of *ephemeral* state as `allowance` (two outputs living N epochs by
  default): a casual ephemeral transfer is free, permanence always costs money. A transaction
  without a spam proof buys its block space with a flat `inclusion_fee` instead.
* **Withdrawals pay for the information they leak.** An exit publishes an amount and a
  recipient. The larger the amount relative to the pool, the fewer notes could have funded it
  and the more it narrows down its source; the smaller the live anonymity set A (notes in the
  live window), the more every exit tells about the remaining users::

      leak_fee = ceil( withdrawal_leak_fee * amount * (A + R)  /  (pool_value * A) )
      fee      = withdrawal_base_fee + leak_fee + state_fee(change outputs) (+ inclusion_fee)

  `amount / pool_value` is the share of the pool the exit reveals; `(A + R) / A = 1 + R/A`
  (R = `anonymity_reference`) is a smooth penalty that doubles the price when A = R, tends to
  1 as the set grows, and grows like 1/A when it is small. The fee is non-decreasing in the
  amount and non-increasing in A and in the pool value.

Everything is integer arithmetic on base units (ceiling divisions, no floats), so every node
computes the same quote. `check` rejects a fee below the quote with `FeeTooLow`; fees are
burned and counted in a `FeeLedger`. Parameters live in `shielded.spec.FeeSchedule`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shielded.spec import DEVNET, PoolSpec

MAX_AMOUNT = 2**64 - 1
"""Values and fees are u64 base units."""


class FeeError(ValueError):
    """A fee request or payment that is malformed or insufficient; the message names it."""


class FeeTooLow(FeeError):
    """The fee offered is below the quote for the transaction."""


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise FeeError(message)


def _ensure_u64(name: str, value: object) -> None:
    _ensure(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT,
        f"{name} {value!r}: expected an integer in 0..2^64-1",
    )


@dataclass(frozen=True)
class Deposit:
    """A deposit of `amount` from a transparent account into the pool."""

    amount: int

    def __post_init__(self) -> None:
        _ensure_u64("deposit amount", self.amount)


@dataclass(frozen=True)
class Outputs:
    """The shielded outputs a transaction appends: lifetimes of ephemeral ones, permanent count."""

    ephemeral_lifetimes: tuple[int, ...] = ()
    """Epochs each ephemeral output stays in the live tree (expiry epoch - current epoch)."""
    permanent_outputs: int = 0

    def __post_init__(self) -> None:
        _ensure(
            isinstance(self.ephemeral_lifetimes, tuple),
            f"ephemeral_lifetimes {self.ephemeral_lifetimes!r}: expected a tuple of epochs",
        )
        for lifetime in self.ephemeral_lifetimes:
            _ensure(
                isinstance(lifetime, int) and lifetime >= 1,
                f"ephemeral output lifetime {lifetime!r}: expected >= 1 epoch",
            )
        _ensure(
            isinstance(self.permanent_outputs, int) and self.permanent_outputs >= 0,
            f"permanent_outputs {self.permanent_outputs!r}: expected a non-negative integer",
        )


@dataclass(frozen=True)
class Transfer:
    """An internal transfer; `spam_proof` says whether it carries one (else it pays inclusion)."""

    outputs: Outputs = field(default_factory=Outputs)
    spam_proof: bool = False


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawal of `amount` to a transparent account, seen against the pool's statistics.

    `pool_value` and `anonymity_set` (live notes) are the pool statistics at the transaction's
    anchor; `outputs` are its shielded change outputs.
    """

    amount: int
    pool_value: int
    anonymity_set: int
    outputs: Outputs = field(default_factory=Outputs)
    spam_proof: bool = False

    def __post_init__(self) -> None:
        _ensure_u64("withdrawal amount", self.amount)
        _ensure_u64("pool value", self.pool_value)
        _ensure(
            self.amount <= self.pool_value,
            f"withdrawal amount {self.amount} exceeds the pool value {self.pool_value}",
        )
        _ensure(self.pool_value >= 1, "pool value 0: nothing can be withdrawn from an empty pool")
        _ensure(
            isinstance(self.anonymity_set, int) and self.anonymity_set >= 1,
            f"anonymity set {self.anonymity_set!r}: expected at least 1 live note",
        )


Action = Deposit | Transfer | Withdrawal


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def state_fee(outputs: Outputs, spam_proof: bool, spec: PoolSpec = DEVNET) -> int:
    """output_epoch_fee x (ephemeral output-epochs beyond the allowance + permanent units)."""
    schedule = spec.fees
    for lifetime in outputs.ephemeral_lifetimes:
        _ensure(
            lifetime <= spec.note_lifetime_epochs,
            f"ephemeral output lifetime {lifetime} exceeds the note lifetime "
            f"{spec.note_lifetime_epochs} epochs",
        )
    allowance = schedule.free_output_epochs if spam_proof else 0
    ephemeral_units = max(0, sum(outputs.ephemeral_lifetimes) - allowance)
    permanent_units = outputs.permanent_outputs * schedule.permanent_lifetime_epochs
    return schedule.output_epoch_fee * (ephemeral_units + permanent_units)


def leak_fee(amount: int, pool_value: int, anonymity_set: int, spec: PoolSpec = DEVNET) -> int:
    """ceil(withdrawal_leak_fee x amount x (A + R) / (pool_value x A)): the exit's leak price."""
    schedule = spec.fees
    numerator = (
        schedule.withdrawal_leak_fee * amount * (anonymity_set + schedule.anonymity_reference)
    )
    return _ceil_div(numerator, pool_value * anonymity_set)


def quote(action: Action, spec: PoolSpec = DEVNET) -> int:
    """The least fee, in base units, the pool accepts for `action` (formula in module doc)."""
    schedule = spec.fees
    if isinstance(action, Deposit):
        return 0
    if isinstance(action, Transfer):
        fee = state_fee(action.outputs, action.spam_proof, spec)
    elif isinstance(action, Withdrawal):
        fee = (
            schedule.withdrawal_base_fee
            + leak_fee(action.amount, action.pool_value, action.anonymity_set, spec)
            + state_fee(action.outputs, action.spam_proof, spec)
        )
    else:
        raise FeeError(f"cannot price {action!r}: expected a Deposit, Transfer or Withdrawal")
    if not action.spam_proof:
        fee += schedule.inclusion_fee
    _ensure(fee <= MAX_AMOUNT, f"fee {fee} for {action!r} exceeds the u64 range: unpayable")
    return fee


def check(action: Action, fee: int, spec: PoolSpec = DEVNET) -> int:
    """Verify `fee` covers `action`'s quote; returns the quote. Raises FeeTooLow if short."""
    _ensure_u64("fee", fee)
    required = quote(action, spec)
    if fee < required:
        raise FeeTooLow(f"fee {fee} for {type(action).__name__} is below the quote {required}")
    return required


@dataclass(frozen=True)
class FeeLedger:
    """Pool statistics of burned fees: the running total and its split by transaction kind."""

    burned: int = 0
    burned_by_transfers: int = 0
    burned_by_withdrawals: int = 0
    fee_paying_transactions: int = 0

    def burn(self, action: Action, fee: int, spec: PoolSpec = DEVNET) -> FeeLedger:
        """Check `fee` against `action`'s quote and return the ledger with it burned."""
        check(action, fee, spec)
        return FeeLedger(
            burned=self.burned + fee,
            burned_by_transfers=self.burned_by_transfers
            + (fee if isinstance(action, Transfer) else 0),
            burned_by_withdrawals=self.burned_by_withdrawals
            + (fee if isinstance(action, Withdrawal) else 0),
            fee_paying_transactions=self.fee_paying_transactions + (1 if fee > 0 else 0),
        )
