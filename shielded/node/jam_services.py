"""Services on the devnet core: deploying PVM code through the registrar, and work for any
service (graypaper 0.7.2 sections 9, 12.4 and 14).

Deploying a code preimage E(↕m, c) (eq. 9.4) takes three steps on chain:

1. a work item for the registrar (`shielded.native_registrar`) carrying the code hash, its
   length and the gas limits is packaged, guaranteed and assured like any work (eq. 11.23,
   11.15) and accumulated: its Psi_A calls `new` (B.8), so the new account solicits its
   code, a_l[(H(c), |c|)] = [], and writes code hash -> id in the registrar's storage;
2. every validator holds the blob (gossiped with the deploy); an author puts (id, blob) in
   E_P once the request is solicited in the prior state (Y, eq. 12.22, 12.36-12.37);
3. I (eq. 12.21, 12.38) stores the blob with a_l = [tau'], and from then on Psi_R's
   historical lookup at a lookup anchor after tau' (eq. 9.7, B.5) and Psi_A (eq. B.9) run it.

Work for a service is one `WorkRequest` (service, payload): one work item (eq. 14.3) for
the service's current code hash a_c, in a package anchored on the builder's head (eq. 11.4)
authorized like the pool's, refined in the PVM (natives only for native code hashes). Here:
`ServiceWork` (the requests, the packages they wait on, the blobs to provide),
`service_bundle`, and `check_blob` / `deploy_request` to vet input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jamcore.block import Preimage
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.blob import decode_standard_program
from jamcore.pvm.exits import PvmBlobError
from jamcore.pvm.host_calls.general import MAX_SERVICE_CODE
from jamcore.pvm.host_calls.refine import lookup_historical, split_metadata
from jamcore.spec import ChainSpec
from jamcore.state.keys import request_key, storage_key
from jamcore.state.state import State
from jamcore.stf.preimages import providable
from jamcore.work.availability import WorkPackageBundle
from jamcore.work.package import RefineContext, WorkItem, WorkPackage
from jamcore.work.report import WorkReport
from shielded.native_registrar import (
    ACCUMULATE_GAS as REGISTRAR_ACCUMULATE_GAS,
)
from shielded.native_registrar import (
    DEPLOY_REQUEST,
    MAX_DEPLOY_GAS,
    DeployRequest,
    service_key,
)
from shielded.node.jam_chain import ValidatorError
from shielded.node.jam_genesis import authorizer_code_hash, code_preimage
from shielded.node.jam_guarantee_flow import InFlight

__all__ = [
    "DEFAULT_ITEM_GAS",
    "MAX_WORK_PAYLOAD",
    "REQUEST_TTL",
    "MAX_PACKAGE_ITEMS",
    "WORK_REFINE_GAS",
    "BadBlob",
    "BlobTooLarge",
    "PayloadTooLarge",
    "ServiceError",
    "ServiceWork",
    "UnknownService",
    "WorkRequest",
    "check_blob",
    "deploy_request",
    "deployed_service",
    "service_bundle",
    "service_item",
]

MAX_WORK_PAYLOAD = 64 * 2**10
"""The largest payload a submission may carry (a devnet bound, far inside W_B = the
bundle's limit, so a package gossips and refines within a slot)."""
WORK_REFINE_GAS = 10_000_000
"""A submitted item's refine gas limit (within G_R, eq. 14.6)."""
WORK_ACCUMULATE_GAS = 1_000_000
"""A submitted item's accumulate gas limit, raised to the service's a_g if that is more
(eq. 11.42); within G_A (eq. 11.30)."""
DEFAULT_ITEM_GAS = 100
"""a_g and a_m a deploy asks for unless told otherwise."""
REQUEST_TTL = 24
"""Slots a request or a blob waits (for its service, its code, a package) before it is
dropped (node-local)."""
MAX_REQUESTS = 1024
MAX_PACKAGE_ITEMS = 8
"""Most submitted requests one package carries (the graypaper allows I = 16)."""
MAX_PACKAGE_PAYLOAD = 16 * 2**10
"""Payload octets a package's items past the first may add (outputs must fit W_R)."""


class ServiceError(ValidatorError):
    """Service input the validator refuses; nothing is changed."""


class BlobTooLarge(ServiceError):
    """A code preimage over W_C octets (eq. B.5, B.9)."""


class BadBlob(ServiceError):
    """A blob that is not E(↕m, c) with c a standard program (A.38)."""


class UnknownService(ServiceError):
    """No such service, or its code is not available, at the head."""


class PayloadTooLarge(ServiceError):
    """A payload over MAX_WORK_PAYLOAD octets."""


@dataclass(frozen=True)
class WorkRequest:
    """One work item's service w_s and payload w_y (eq. 14.3)."""

    service: int
    payload: bytes

    @property
    def key(self) -> bytes:
        """E_4(w_s) ++ H(w_y): what a report's digest names of it (eq. 11.6)."""
        return request_id(self.service, blake2b_256(self.payload))


def request_id(service: int, payload_hash: bytes) -> bytes:
    return service.to_bytes(4, "little") + payload_hash


def report_request_ids(report: WorkReport, besides: int | None = None) -> frozenset[bytes]:
    """The requests the digests of `report` name (those of service `besides` left out)."""
    return frozenset(
        request_id(d.service_id, d.payload_hash) for d in report.results if d.service_id != besides
    )


def bundle_request_ids(bundle: WorkPackageBundle, besides: int | None = None) -> frozenset[bytes]:
    """The requests the items of `bundle` carry (those of service `besides` left out)."""
    return frozenset(
        request_id(item.service, blake2b_256(item.payload))
        for item in bundle.package.items
        if item.service != besides
    )


def check_blob(blob: bytes) -> bytes:
    """The code preimage E(↕m, c) to deploy: `blob` itself when it is one whose code c is a
    standard program (A.38), else a bare standard program wrapped with empty metadata.
    BlobTooLarge past W_C, BadBlob when it is neither."""
    blob = bytes(blob)
    if len(blob) > MAX_SERVICE_CODE:
        raise BlobTooLarge(f"a code preimage has at most W_C = {MAX_SERVICE_CODE} octets")
    for candidate in (blob, code_preimage(blob, b"")):
        code = split_metadata(candidate)
        if code is None:
            continue
        try:
            decode_standard_program(code)
        except PvmBlobError:
            continue
        if len(candidate) > MAX_SERVICE_CODE:
            raise BlobTooLarge(f"a code preimage has at most W_C = {MAX_SERVICE_CODE} octets")
        return candidate
    raise BadBlob("not a code preimage E(↕metadata, code) of a standard program (A.38)")


def deploy_request(
    blob: bytes, min_item_gas: int = DEFAULT_ITEM_GAS, min_memo_gas: int = DEFAULT_ITEM_GAS
) -> tuple[bytes, bytes]:
    """(the code preimage, the registrar's payload E(DeployRequest)) for `blob`."""
    preimage = check_blob(blob)
    if not (0 <= min_item_gas <= MAX_DEPLOY_GAS and 0 <= min_memo_gas <= MAX_DEPLOY_GAS):
        raise ServiceError(f"gas limits must be within 0..{MAX_DEPLOY_GAS}")
    request = DeployRequest(blake2b_256(preimage), len(preimage), min_item_gas, min_memo_gas)
    return preimage, DEPLOY_REQUEST.encode(request)


def deployed_service(state: State, registrar: int, code_hash: bytes) -> int | None:
    """The id the registrar's storage names for `code_hash` in `state`, or None."""
    raw = service_item(state, registrar, service_key(code_hash))
    return None if raw is None or len(raw) != 4 else int.from_bytes(raw, "little")


def service_item(state: State, service: int, key: bytes) -> bytes | None:
    """a_s[key] of `service` in `state` (stored at C(s, E_4(2^32-1) ++ k), eq. D.2)."""
    account = state.services.get(service)
    return None if account is None else account.entries.get(storage_key(service, bytes(key)))


def code_ready(state: State, service: int, spec: ChainSpec) -> bool:
    """Whether the service's code is available at the state's slot (Λ, eq. 9.7), as
    refine anchored there finds it (eq. B.5), and a report may give its work items the
    accumulate gas a_g it asks for (G_A, eq. 11.30, 11.42)."""
    account = state.services.get(service)
    if account is None or account.info.min_item_gas > spec.report_accumulate_gas:
        return False
    return lookup_historical(account, service, state.slot, account.info.code_hash) is not None


def service_bundle(
    head: State,
    head_root: bytes,
    requests: Sequence[WorkRequest],
    auth_host: int,
    spec: ChainSpec,
) -> WorkPackageBundle:
    """The bundle of one work item per request (eq. 14.2-14.3) anchored on the head
    (eq. 11.4, as `pool_bundle`), each for its service's code hash a_c at the head
    (eq. 11.42), authorized by the devnet's accept-all authorizer hosted in `auth_host`
    (eq. 14.10)."""
    entry = head.recent_blocks.history[-1]
    context = RefineContext(
        anchor=entry.header_hash,
        state_root=head_root,
        beefy_root=entry.beefy_root,
        lookup_anchor=entry.header_hash,
        lookup_anchor_slot=head.slot,
        prerequisites=(),
    )
    items = []
    for request in requests:
        account = head.services.get(request.service)
        if account is None:
            raise UnknownService(f"no service {request.service}")
        items.append(
            WorkItem(
                service=request.service,
                code_hash=account.info.code_hash,
                refine_gas_limit=min(WORK_REFINE_GAS, spec.max_refine_gas // len(requests)),
                accumulate_gas_limit=item_accumulate_gas(account.info.min_item_gas, spec),
                export_count=0,
                payload=request.payload,
                import_segments=(),
                extrinsic=(),
            )
        )
    package = WorkPackage(auth_host, authorizer_code_hash(), context, b"", b"", tuple(items))
    return WorkPackageBundle(package, (), (), ())


def item_accumulate_gas(min_item_gas: int, spec: ChainSpec) -> int:
    """A submitted item's accumulate gas g: WORK_ACCUMULATE_GAS (the registrar's need if
    more), raised to the service's a_g (eq. 11.42), within G_A (eq. 11.30)."""
    return min(
        spec.report_accumulate_gas,
        max(WORK_ACCUMULATE_GAS, REGISTRAR_ACCUMULATE_GAS, min_item_gas),
    )


class ServiceWork:
    """A validator's service work: requests waiting for a package (in arrival order), the
    packages they wait on (`InFlight`, as the pool's), and the code blobs to provide."""

    def __init__(self, registrar: int | None, pool_service: int, spec: ChainSpec) -> None:
        self.registrar = registrar
        self.pool_service = pool_service
        self.spec = spec
        self.requests: dict[bytes, tuple[WorkRequest, int]] = {}
        """Request key -> (request, the slot it arrived)."""
        self.inflight: dict[bytes, InFlight] = {}
        """Package hash -> the requests waiting on it."""
        self.blobs: dict[bytes, tuple[bytes, int]] = {}
        """Code hash -> (code preimage, the slot it arrived)."""

    # -- input ----------------------------------------------------------------------------

    def add(self, request: WorkRequest, slot: int) -> None:
        """Queue a request (a repeat of a waiting one is one request)."""
        if len(request.payload) > MAX_WORK_PAYLOAD:
            raise PayloadTooLarge(f"a payload has at most {MAX_WORK_PAYLOAD} octets")
        if not 0 <= request.service < 2**32:
            raise UnknownService(f"service id {request.service} is not below 2^32")
        if request.service == self.pool_service:
            raise ServiceError("pool transactions go to the mempool (`submit`)")
        if request.key not in self.requests and len(self.requests) >= MAX_REQUESTS:
            raise ServiceError(f"{MAX_REQUESTS} requests are waiting")
        self.requests.setdefault(request.key, (request, slot))

    def add_deploy(self, blob: bytes, slot: int) -> bytes:
        """Hold the blob of a deploy and queue the registrar's request; the code preimage
        (`check_blob`)."""
        if self.registrar is None:
            raise ServiceError("this devnet has no registrar")
        preimage, payload = deploy_request(blob)
        request = WorkRequest(self.registrar, payload)
        self.add(request, slot)
        self.blobs.setdefault(blake2b_256(preimage), (preimage, slot))
        return preimage

    # -- packaging ------------------------------------------------------------------------

    def busy(self, besides: bytes | None = None) -> set[bytes]:
        """The request keys waiting on a package (other than `besides`)."""
        return {
            key
            for package, flight in self.inflight.items()
            if package != besides
            for key in flight.tx_ids
        }

    def next_ready(self, head: State) -> list[WorkRequest]:
        """The oldest requests no package carries whose service's code is available at
        the head (refine could not find it otherwise, eq. B.5), for one package: at most
        MAX_PACKAGE_ITEMS (I = 16, eq. 14.2), their accumulate gas within G_A (eq. 11.30)
        and, past the first, their payloads within MAX_PACKAGE_PAYLOAD (so the outputs fit
        W_R, eq. 11.8); empty if none is ready."""
        busy = self.busy()
        chosen: list[WorkRequest] = []
        gas = payload = 0
        for key, (request, _) in self.requests.items():
            if len(chosen) >= min(MAX_PACKAGE_ITEMS, self.spec.max_work_items):
                break
            if key in busy or not code_ready(head, request.service, self.spec):
                continue
            account = head.services[request.service]
            item_gas = item_accumulate_gas(account.info.min_item_gas, self.spec)
            if chosen and (
                gas + item_gas > self.spec.report_accumulate_gas
                or payload + len(request.payload) > MAX_PACKAGE_PAYLOAD
            ):
                continue
            chosen.append(request)
            gas += item_gas
            payload += len(request.payload)
        return chosen

    def track(self, report: WorkReport, slot: int, pending_seen: bool = False) -> None:
        """Note the requests `report` carries as waiting on its package (not the pool's)."""
        package = report.package_spec.hash
        keys = report_request_ids(report, besides=self.pool_service)
        if keys and package not in self.inflight:
            self.inflight[package] = InFlight(keys, slot, report.context.anchor, pending_seen)

    def on_block(self, posterior: State) -> None:
        """After a committed block: reports pending in rho (eq. 11.43) name their requests;
        each package in flight is settled."""
        for pending in posterior.availability:
            if pending is not None:
                self.track(pending.report, pending.timeout, pending_seen=True)
        self.settle(posterior, posterior.slot + 1)

    def settle(self, state: State, next_slot: int) -> None:
        """An accumulated package (xi', eq. 12.32) takes its requests out of the queue; a
        dropped one (`InFlight.settle`) gives them back. Requests and blobs older than
        REQUEST_TTL, and blobs already provided, are dropped."""
        for package, flight in list(self.inflight.items()):
            status = flight.settle(state, next_slot, self.spec, package)
            if status == "accumulated":
                for key in flight.tx_ids:
                    self.requests.pop(key, None)
            if status in ("accumulated", "dropped"):
                del self.inflight[package]
        busy = self.busy()
        for key, (_, slot) in list(self.requests.items()):
            if next_slot > slot + REQUEST_TTL and key not in busy:
                del self.requests[key]
        for code_hash, (blob, slot) in list(self.blobs.items()):
            if self._provided(state, code_hash, blob) or next_slot > slot + 2 * REQUEST_TTL:
                del self.blobs[code_hash]

    # -- preimages ------------------------------------------------------------------------

    def _provided(self, state: State, code_hash: bytes, blob: bytes) -> bool:
        """Whether the blob's service holds a request for it that is no longer empty."""
        if self.registrar is None:
            return True
        service = deployed_service(state, self.registrar, code_hash)
        account = None if service is None else state.services.get(service)
        if service is None or account is None:
            return False
        status = account.entries.get(request_key(service, code_hash, len(blob)))
        return status is not None and not providable(state.services, service, blob, code_hash)

    def preimages(self, head: State) -> tuple[Preimage, ...]:
        """E_P for a block on `head`: each held blob whose service (named by the registrar)
        solicits it in the prior state (Y, eq. 12.22, 12.37), ordered by (requester, blob)
        (eq. 12.36)."""
        if self.registrar is None:
            return ()
        chosen = []
        for code_hash, (blob, _) in self.blobs.items():
            service = deployed_service(head, self.registrar, code_hash)
            if service is not None and providable(head.services, service, blob, code_hash):
                chosen.append(Preimage(service, blob))
        return tuple(sorted(chosen, key=lambda p: (p.requester, p.blob)))

    def forget(self, preimages: Iterable[Preimage]) -> None:
        """Drop blobs (e.g. of a block the importer refused)."""
        for preimage in preimages:
            self.blobs.pop(blake2b_256(preimage.blob), None)
