"""The service side of `JamValidator` (a mixin): deploying PVM code and work for any
service (`shielded.node.jam_services`; graypaper 0.7.2 sections 9, 12.4, 14).

* `deploy(blob)`: the blob is vetted (`check_blob`), held for E_P, and the registrar's work
  item queued; both gossiped (`ServiceDeploy`). The registrar's Psi_A calls `new` (B.8) and
  names the id in its storage (`deployed_service`); authors then provide the blob
  (eq. 12.35-12.38).
* `submit_work(service, payload)`: one work item for the service (eq. 14.3), queued and
  gossiped (`WorkSubmission`) so whichever guarantor of the services core builds for the
  slot (eq. 11.20-11.22) packages it, anchored on its head (eq. 11.4); refined by Psi_R in
  the PVM (natives only for native code hashes), guaranteed, assured and accumulated by
  Psi_A like the pool's packages.
* `service_item(service, key)`: a storage item at the head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jamcore.errors import JamError
from shielded.node.guarantor import GuarantorError
from shielded.node.jam_messages import Outgoing, ServiceDeploy, WorkSubmission
from shielded.node.jam_services import (
    ServiceWork,
    UnknownService,
    WorkRequest,
    code_ready,
    deployed_service,
    service_bundle,
    service_item,
)

if TYPE_CHECKING:
    from jamcore.spec import ChainSpec
    from jamcore.state.state import State
    from shielded.node.guarantor import GuaranteedWork, Guarantor

__all__ = ["ServiceRole"]


class ServiceRole:
    """Service deploys and work on a validator (module docstring); mixed into
    `JamValidator`, whose attributes and helpers it uses."""

    services: ServiceWork
    service_core: int
    auth_host: int
    spec: ChainSpec
    slot: int
    others: tuple[int, ...]
    guarantor: Guarantor

    if TYPE_CHECKING:

        def head_state(self) -> State: ...
        def head_root(self) -> bytes: ...
        def _refuse(self, reason: str) -> list[Outgoing]: ...
        def _turn(self, core: int, head: State, slot: int) -> tuple[int, ...] | None: ...
        def _share(
            self, work: GuaranteedWork, assigned: tuple[int, ...], slot: int
        ) -> list[Outgoing]: ...

    def deploy(self, blob: bytes) -> list[Outgoing]:
        """Deploy a code preimage E(↕m, c) (or a bare standard program, wrapped with empty
        metadata) as a new service and gossip it (`jam_services`; ServiceError for a bad
        or oversized blob, nothing changed). Its id is `deployed_service(H(preimage))`
        once the registrar's accumulate ran."""
        preimage = self.services.add_deploy(blob, self.slot)
        return [Outgoing(self.others, ServiceDeploy(preimage))]

    def submit_work(self, service: int, payload: bytes) -> list[Outgoing]:
        """Queue a work item for `service` with `payload` and gossip it. UnknownService
        unless the service exists with its code available at the head (and a_g within
        G_A), PayloadTooLarge, ServiceError for the pool (its transactions go to `submit`)."""
        if not code_ready(self.head_state(), service, self.spec):
            raise UnknownService(f"service {service} has no code available at the head")
        self.services.add(WorkRequest(service, bytes(payload)), self.slot)
        return [Outgoing(self.others, WorkSubmission(service, bytes(payload)))]

    def service_item(self, service: int, key: bytes) -> bytes | None:
        """Storage item a_s[key] of `service` at the head, or None."""
        return service_item(self.head_state(), service, key)

    def deployed_service(self, code_hash: bytes) -> int | None:
        """The id of the service the registrar created for `code_hash`, at the head."""
        if self.services.registrar is None:
            return None
        return deployed_service(self.head_state(), self.services.registrar, code_hash)

    def _build_service(self, slot: int) -> list[Outgoing]:
        """As the services core's builder: the waiting work items (`next_ready`) in one
        package, refined and signed."""
        head = self.head_state()
        assigned = self._turn(self.service_core, head, slot)
        requests = [] if assigned is None else self.services.next_ready(head)
        if assigned is None or not requests:
            return []
        bundle = service_bundle(head, self.head_root(), requests, self.auth_host, self.spec)
        try:
            work = self.guarantor.guarantee(
                bundle, self.service_core, head, slot, anchor_root=self.head_root()
            )
        except (GuarantorError, JamError) as error:
            for request in requests:
                self.services.requests.pop(request.key, None)
            return self._refuse(f"own service package: {error}")
        self.services.track(work.report, slot)
        return self._share(work, assigned, slot)

    def _on_deploy(self, message: ServiceDeploy) -> list[Outgoing]:
        self.services.add_deploy(message.blob, self.slot)
        return []

    def _on_work(self, message: WorkSubmission) -> list[Outgoing]:
        """Queue a peer's submission (its service may not exist at this head yet: the
        builder waits for its code, `ServiceWork.next_ready`)."""
        self.services.add(WorkRequest(message.service, message.payload), self.slot)
        return []
