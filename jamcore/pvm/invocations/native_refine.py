"""Ψ_R for native services (see `jamcore.pvm.invocations.native`): the refine host calls
through the dispatcher F of eq. B.6, on a scratch machine whose gas is the item's limit."""

from __future__ import annotations

from jamcore.codec import Variant
from jamcore.pvm import host_calls as hc
from jamcore.pvm.exits import ExitStatus
from jamcore.pvm.host import gas_used
from jamcore.pvm.host_calls.refine import RefineHostContext
from jamcore.pvm.invocations.native import NativeService
from jamcore.pvm.invocations.native_host import OUT_BASE, OUT_SIZE, ScratchHost, run_native
from jamcore.pvm.invocations.refine import RefineEnvironment, RefineOutcome, refine_dispatcher


class RefineHost(ScratchHost):
    """The refine host calls (B.6) of one Ψ_R run: `gas`, `fetch`, `log` (inherited),
    `historical_lookup` and `export`; the exports land in `context`."""

    __slots__ = ("context",)

    def __init__(self, env: RefineEnvironment, context: RefineHostContext, gas: int) -> None:
        super().__init__(refine_dispatcher(env, context), gas)
        self.context = context

    def historical_lookup(self, preimage_hash: bytes, service: int | None = None) -> bytes | None:
        """Ω_H (`historical_lookup` = 6): Λ(a, t, h) (eq. 9.7) of `service` (the item's
        service) at the lookup-anchor slot, or None."""
        if len(preimage_hash) != 32:
            raise ValueError("historical_lookup takes a 32-octet hash")
        target = hc.NONE if service is None else service
        regs = self._call(hc.HISTORICAL_LOOKUP, target, preimage_hash, OUT_BASE, 0, OUT_SIZE)
        return self._output(regs[7])

    def export(self, segment: bytes) -> int:
        """Ω_E (`export` = 7): export `segment` (its first W_G octets, zero-padded to W_G,
        as the host call reads them); its segment index. FullError past W_X exports."""
        return self._status("export", self._call(hc.EXPORT, segment, len(segment))[7])


def refine_native(
    native: NativeService,
    env: RefineEnvironment,
    core: int,
    gas: int,
    package_hash: bytes,
) -> RefineOutcome:
    """Ψ_R's run of a native service in place of Ψ_M (eq. B.5): the output blob with the
    exports, `out_of_gas`, or `panic` (an exception, or an output that is not bytes), the
    last two without exports."""
    context = RefineHostContext()
    host = RefineHost(env, context, gas)
    item = env.package.items[env.item_index]
    status, output = run_native(
        host,
        lambda: native.refine(
            host, core, env.item_index, item.service, item.payload, package_hash
        ),
    )
    used = gas_used(gas, host.machine)
    if status is ExitStatus.OUT_OF_GAS:
        return RefineOutcome(Variant("out_of_gas"), (), used)
    if status is not None or not isinstance(output, bytes | bytearray):
        return RefineOutcome(Variant("panic"), (), used)
    return RefineOutcome(Variant("ok", bytes(output)), tuple(context.exports), used)
