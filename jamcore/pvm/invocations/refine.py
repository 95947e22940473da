"""Ψ_R, the refine invocation (graypaper 0.7.2 Appendix B.3, eq. B.5 and its dispatcher F).

Refine runs a work item's service code, found by historical lookup at the lookup-anchor
slot, on the argument E(c, i, w_s, ↕w_y, H(p)). Its host calls are `gas`, `fetch` (work
package, zero hash entropy, authorizer trace, imports, extrinsics), `historical_lookup`,
`export` and the inner-machine calls of `jamcore.pvm.host_calls.refine`; any other index
costs 10 gas and answers WHAT. The result is the output blob with the exported segments,
or an error (`bad_code`, `code_oversize`, `out_of_gas`, `panic`) with no exports. Gas is
metered one unit per instruction (A.1) by Ψ_M (`jamcore.pvm.host.invoke_standard`), inner
machines' too (`jamcore.pvm.host_calls.refine.invoke`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jamcore.codec import Variant, encode_natural
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.exits import OUT_OF_GAS, Exit, ExitStatus
from jamcore.pvm.host import HostCall, Mode, invoke_standard
from jamcore.pvm.host_calls import (
    EXPORT,
    EXPUNGE,
    FETCH,
    GAS,
    HISTORICAL_LOOKUP,
    HOST_CALL_GAS,
    INVOKE,
    LOG,
    MACHINE,
    PAGES,
    PEEK,
    POKE,
    WHAT,
    general,
)
from jamcore.pvm.host_calls import refine as calls
from jamcore.pvm.host_calls.general import MAX_SERVICE_CODE
from jamcore.pvm.invocations.is_authorized import package_fetch_data
from jamcore.pvm.machine import MachineState
from jamcore.spec import ChainSpec
from jamcore.types.services import ServiceAccount
from jamcore.work.package import WORK_PACKAGE, WorkPackage

if TYPE_CHECKING:
    from jamcore.pvm.invocations.native import Natives

ZERO_HASH = bytes(32)
"""H_0: the entropy `fetch` offers in refine (eq. B.6, n = H_0)."""


@dataclass(frozen=True)
class RefineOutcome:
    """Ψ_R's result: the output blob (`Variant("ok", o)`) or error, the exported
    segments (empty unless ok) and the gas used."""

    result: Variant
    exports: tuple[bytes, ...]
    gas_used: int


@dataclass(frozen=True)
class RefineEnvironment:
    """What the refine dispatcher F closes over (eq. B.6): the package, the index of the
    item refined, the authorizer trace r, every item's imports ī and extrinsics x̄, the
    export offset ς, the service accounts δ and the chain spec (for `fetch`)."""

    package: WorkPackage
    item_index: int
    auth_trace: bytes
    imports: Sequence[Sequence[bytes]]
    extrinsics: Sequence[Sequence[bytes]]
    export_offset: int
    accounts: Mapping[int, ServiceAccount]
    spec: ChainSpec


def refine_arguments(core: int, item_index: int, package: WorkPackage) -> bytes:
    """a = E(c, i, w_s, ↕w_y, H(p)) (eq. B.5), every natural in compact form."""
    item = package.items[item_index]
    return b"".join(
        [
            encode_natural(core),
            encode_natural(item_index),
            encode_natural(item.service),
            encode_natural(len(item.payload)),
            item.payload,
            blake2b_256(WORK_PACKAGE.encode(package)),
        ]
    )


def refine_dispatcher(env: RefineEnvironment, context: calls.RefineHostContext) -> HostCall:
    """F of eq. B.6: charge 10 gas (out of gas below it), then dispatch on the index."""
    item = env.package.items[env.item_index]
    service = item.service
    slot = env.package.context.lookup_anchor_slot

    data = package_fetch_data(
        env.package,
        env.spec,
        entropy=ZERO_HASH,
        authorizer_trace=env.auth_trace,
        item_index=env.item_index,
        imports=env.imports,
        extrinsics=env.extrinsics,
    )
    handlers: dict[int, Callable[[MachineState], Exit | None]] = {
        GAS: general.gas,
        FETCH: lambda state: general.fetch(state, data),
        HISTORICAL_LOOKUP: lambda state: calls.historical_lookup(
            state, context, service, env.accounts, slot
        ),
        EXPORT: lambda state: calls.export(state, context, env.export_offset),
        MACHINE: lambda state: calls.machine(state, context),
        PEEK: lambda state: calls.peek(state, context),
        POKE: lambda state: calls.poke(state, context),
        PAGES: lambda state: calls.pages(state, context),
        INVOKE: lambda state: calls.invoke(state, context),
        EXPUNGE: lambda state: calls.expunge(state, context),
        LOG: general.log,
    }

    def host_call(index: int, state: MachineState) -> Exit | None:
        state.gas -= HOST_CALL_GAS
        # Verify the call's gas is covered
        if state.gas < 0:
            return OUT_OF_GAS
        handler = handlers.get(index)
        if handler is None:
            state.registers[7] = WHAT
            return None
        return handler(state)

    return host_call


def refine(
    core: int,
    item_index: int,
    package: WorkPackage,
    auth_trace: bytes,
    imports: Sequence[Sequence[bytes]],
    export_offset: int,
    accounts: Mapping[int, ServiceAccount],
    extrinsics: Sequence[Sequence[bytes]],
    spec: ChainSpec,
    *,
    mode: Mode = "fast",
    natives: Natives | None = None,
) -> RefineOutcome:
    """Ψ_R(c, i, p, r, ī, ς) (eq. B.5): refine work item i of `package` on `core`.

    `natives` maps code hashes to native implementations (`jamcore.pvm.invocations.native`):
    an item whose code hash is there runs that Python code in place of Ψ_M, through the
    same host calls and gas, after the same code lookup. This is an implementation choice
    for services too heavy for the interpreter, with the graypaper's state semantics; by
    default every item runs its PVM code."""
    item = package.items[item_index]
    account = accounts.get(item.service)
    slot = package.context.lookup_anchor_slot
    preimage = (
        None
        if account is None
        else calls.lookup_historical(account, item.service, slot, item.code_hash)
    )
    # Verify the service and its code exist at the lookup anchor
    if preimage is None:
        return RefineOutcome(Variant("bad_code"), (), 0)
    # Verify the code is within W_C
    if len(preimage) > MAX_SERVICE_CODE:
        return RefineOutcome(Variant("code_oversize"), (), 0)
    code = calls.split_metadata(preimage)
    if code is None:
        return RefineOutcome(Variant("bad_code"), (), 0)
    env = RefineEnvironment(
        package, item_index, auth_trace, imports, extrinsics, export_offset, accounts, spec
    )
    native = natives.get(item.code_hash) if natives else None
    if native is not None:
        from jamcore.pvm.invocations.native_refine import refine_native

        package_hash = blake2b_256(WORK_PACKAGE.encode(package))
        return refine_native(native, env, core, item.refine_gas_limit, package_hash)
    context = calls.RefineHostContext(mode=mode)
    outcome = invoke_standard(
        code,
        0,
        item.refine_gas_limit,
        refine_arguments(core, item_index, package),
        refine_dispatcher(env, context),
        mode=mode,
    )
    if outcome.output is ExitStatus.OUT_OF_GAS:
        return RefineOutcome(Variant("out_of_gas"), (), outcome.gas_used)
    if isinstance(outcome.output, ExitStatus):
        return RefineOutcome(Variant("panic"), (), outcome.gas_used)
    return RefineOutcome(Variant("ok", outcome.output), tuple(context.exports), outcome.gas_used)
