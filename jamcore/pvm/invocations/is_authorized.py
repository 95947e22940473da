"""Ψ_I, the is-authorized invocation (graypaper 0.7.2 Appendix B.2, eq. B.1 and B.2).

The work-package's authorization code p_u (the historical lookup of p_h's preimage
p_a at the lookup-anchor slot with its metadata stripped, eq. 14.10) runs from pc 0 with
G_I gas on the argument E_2(c). Its only host calls are `gas` and `fetch` (with the work
package and nothing else); any other index costs 10 gas and answers WHAT. Gas is metered
one unit per instruction (A.1) by Ψ_M (`jamcore.pvm.host.invoke_standard`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jamcore.codec import Variant
from jamcore.pvm.exits import OUT_OF_GAS, Exit, ExitStatus
from jamcore.pvm.host import HostCall, Mode, invoke_standard
from jamcore.pvm.host_calls import FETCH, GAS, HOST_CALL_GAS, LOG, WHAT, general
from jamcore.pvm.host_calls.general import MAX_AUTH_CODE, PACKAGE_AUTH_GAS, FetchData
from jamcore.pvm.host_calls.refine import lookup_historical, split_metadata
from jamcore.pvm.machine import MachineState
from jamcore.spec import ChainSpec
from jamcore.types.services import ServiceAccount
from jamcore.work.package import REFINE_CONTEXT, WORK_PACKAGE, WorkItem, WorkPackage


@dataclass(frozen=True)
class AuthorizationOutcome:
    """Ψ_I's result: the authorizer trace (`Variant("ok", r)`) or error, and the gas
    used."""

    result: Variant
    gas_used: int


def authorization_code(
    package: WorkPackage, accounts: Mapping[int, ServiceAccount]
) -> bytes | None:
    """p_u (eq. 14.10): the code of Λ(δ[p_h], (p_c)_t, p_a) = E(↕p_m, p_u), or None."""
    account = accounts.get(package.auth_code_host)
    if account is None:
        return None
    preimage = lookup_historical(
        account,
        package.auth_code_host,
        package.context.lookup_anchor_slot,
        package.auth_code_hash,
    )
    return None if preimage is None else split_metadata(preimage)


def item_summary(item: WorkItem) -> bytes:
    """S(w) of Ω_Y (Appendix B.5): E(E_4(w_s), w_c, E_8(w_g, w_a), E_2(w_e, |w_i|, |w_x|),
    E_4(|w_y|))."""
    return b"".join(
        [
            item.service.to_bytes(4, "little"),
            item.code_hash,
            item.refine_gas_limit.to_bytes(8, "little"),
            item.accumulate_gas_limit.to_bytes(8, "little"),
            item.export_count.to_bytes(2, "little"),
            len(item.import_segments).to_bytes(2, "little"),
            len(item.extrinsic).to_bytes(2, "little"),
            len(item.payload).to_bytes(4, "little"),
        ]
    )


def package_fetch_data(package: WorkPackage, spec: ChainSpec, **known: object) -> FetchData:
    """Ω_Y's data with the work-package p known (ω_10 = 7..13), plus the other `known`
    fields of `FetchData` (eq. B.2 gives none, eq. B.6 entropy, trace, imports...)."""
    return FetchData(
        constants=general.protocol_constants(spec),
        package=WORK_PACKAGE.encode(package),
        auth_config=package.authorizer_config,
        auth_token=package.authorization,
        context=REFINE_CONTEXT.encode(package.context),
        item_summaries=tuple(item_summary(item) for item in package.items),
        item_payloads=tuple(item.payload for item in package.items),
        **known,  # type: ignore[arg-type]
    )


def is_authorized_dispatcher(package: WorkPackage, spec: ChainSpec) -> HostCall:
    """F of eq. B.2: `gas` and `fetch` with only p known (and JIP-1 `log`); anything
    else costs 10 gas and answers WHAT."""
    data = package_fetch_data(package, spec)

    def host_call(index: int, state: MachineState) -> Exit | None:
        state.gas -= HOST_CALL_GAS
        # Verify the call's gas is covered
        if state.gas < 0:
            return OUT_OF_GAS
        if index == GAS:
            return general.gas(state)
        if index == FETCH:
            return general.fetch(state, data)
        if index == LOG:
            return general.log(state)
        state.registers[7] = WHAT
        return None

    return host_call


def is_authorized(
    package: WorkPackage,
    core: int,
    accounts: Mapping[int, ServiceAccount],
    spec: ChainSpec,
    *,
    gas: int = PACKAGE_AUTH_GAS,
    mode: Mode = "fast",
) -> AuthorizationOutcome:
    """Ψ_I(p, c) (eq. B.1): run the package's authorization code for core `core`."""
    code = authorization_code(package, accounts)
    # Verify the authorization code is available at the lookup anchor
    if code is None:
        return AuthorizationOutcome(Variant("bad_code"), 0)
    # Verify the code is within W_A
    if len(code) > MAX_AUTH_CODE:
        return AuthorizationOutcome(Variant("code_oversize"), 0)
    outcome = invoke_standard(
        code, 0, gas, core.to_bytes(2, "little"), is_authorized_dispatcher(package, spec),
        mode=mode,
    )
    if outcome.output is ExitStatus.OUT_OF_GAS:
        return AuthorizationOutcome(Variant("out_of_gas"), outcome.gas_used)
    if isinstance(outcome.output, ExitStatus):
        return AuthorizationOutcome(Variant("panic"), outcome.gas_used)
    return AuthorizationOutcome(Variant("ok", outcome.output), outcome.gas_used)
