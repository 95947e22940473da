"""Fee benchmarks: how many fee quotes per second one core computes."""

from __future__ import annotations

from collections.abc import Iterator

from bench import Figure, rate
from shielded.fees import Outputs, Transfer, Withdrawal, quote
from shielded.spec import DEVNET


def figures() -> Iterator[Figure]:
    lifetime = DEVNET.note_lifetime_epochs
    withdrawal = Withdrawal(
        amount=123_456_789,
        pool_value=98_765_432_100,
        anonymity_set=4_321,
        outputs=Outputs(ephemeral_lifetimes=(lifetime,), permanent_outputs=1),
    )
    transfer = Transfer(Outputs(ephemeral_lifetimes=(lifetime, lifetime // 2)), spam_proof=True)
    batch = 1_000

    def quote_batch() -> None:
        for _ in range(batch // 2):
            quote(withdrawal)
            quote(transfer)

    yield Figure("fees.quote_per_s", batch * rate(quote_batch), "quotes/s")
