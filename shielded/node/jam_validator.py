"""A devnet validator on jamcore's rules, without networking: deterministic, driven by calls.

`JamValidator` is the heart of the new validator. It is pure logic: the caller tells it
the slot (`on_slot`) and hands it messages (`on_message`, `submit`), and it answers with
`Outgoing` messages for its peers (`shielded.node.jam_messages`: each with a JAM-codec
encoding, so a transport can carry them unchanged). Its chain is a `JamChain` (jamcore's
`import_block` over the node's `ChainStore`, fork choice, finality); its availability
shards live in a `ShardStore`.

Per slot t (graypaper sections 6, 11, 12, 14):

(c) the slot's sealer (eq. 6.15-6.16) authors a block on its head with the assurances and
    guarantees it holds that the importer accepts (`jam_authoring`: E_A anchored on the
    head, eq. 11.10-11.15; E_G for the cores rho-double-dagger frees, eq. 11.23-11.42;
    E_P with the deployed code blobs their services solicit, eq. 12.35-12.37; E_T with
    the Safrole tickets pooled for the contest, eq. 6.29-6.35, `jam_tickets`),
    imports it itself and sends it to every validator;
(b) a validator holding its shard for a report pending in rho at its head (eq. 11.15)
    sends its assurance anchored on the head (for the next block, eq. 11.11) to everyone;
    it does so as soon as a new head or a new shard allows, too;
(a) the pool core's guarantor whose turn it is (the assigned guarantors of slot t,
    eq. 11.20-11.22, by t mod their number) builds a package of up to 64 mempool
    transactions (`jam_pool_select`: spam tiers by work within their quotas, the rest of
    the block capacity by fee) anchored on its head (eq. 11.4), refines it with the
    native pool (Xi, eq. 14.12), and shares the bundle with its co-guarantors; the
    services core's guarantor does the same with one waiting service work item
    (`jam_services`: a deploy for the registrar, or a submission for any service, refined
    in the PVM by Psi_R).

Deploying (`deploy`) gossips a code blob: the registrar's accumulate creates the service
(`new`, B.8), and authors put the blob in E_P once it is solicited (eq. 12.35-12.38).

On messages: a co-guarantor refines a shared bundle itself and returns its signature
(eq. 11.26); the builder, with a second one, sends the guarantee (eq. 11.23) to everyone
and each validator its shard (eq. 14.17); every validator keeps guarantees and assurances
for authoring, verifies and stores its shard, imports blocks, and asks the sender of a
block whose parent it lacks for the canonical blocks after its own head.

Transactions wait in the mempool until the pool's `outcome` item (written by its Psi_A,
eq. B.9) names them accepted or rejected, or their package is accumulated (xi', eq. 12.32);
a package that times out in rho (eq. 11.17) or can no longer be guaranteed (eq. 11.26)
gives its transactions back, and the next builder packages them again; so do the
transactions the outcome names deferred (their block had no room, `shielded.pow.quota`).
A builder drops, with the reason (`PoolTransactions.refused`), the candidates that can
never be accepted and those its own refine found invalid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from jamcore.block import DisputesExtrinsic, Extrinsic
from jamcore.errors import JamError
from jamcore.pvm.invocations.native import NativeService
from jamcore.safrole.errors import SafroleError
from jamcore.state.state import State
from jamcore.work.guarantee import AvailAssurance, ReportGuarantee
from shielded.native_pool import NATIVE_POOL_CODE_HASH, NativePool
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.guarantor import (
    Guarantor,
    pending_erasure_roots,
)
from shielded.node.jam_authoring import (
    after_assurances,
    block_assurances,
    block_guarantees,
    candidate_bodies,
    guarantee_expired,
    seal_block,
    twin_body,
)
from shielded.node.jam_chain import ImportOutcome, InvalidBlock, JamChain, ValidatorError
from shielded.node.jam_devnet import POOL_SERVICE_ID
from shielded.node.jam_guarantee_flow import (
    Collecting,
    InFlight,
    Mempool,
    MempoolError,
    PoolTransactions,
    guarantee_deadline,
)
from shielded.node.jam_guarantor_role import GuarantorRole
from shielded.node.jam_messages import (
    Assurance,
    Block,
    Blocks,
    BlocksRequest,
    BundleShare,
    Guarantee,
    GuaranteeSignature,
    Message,
    Outgoing,
    ServiceDeploy,
    Shard,
    Ticket,
    Transaction,
    WorkSubmission,
)
from shielded.node.jam_service_role import ServiceRole
from shielded.node.jam_services import ServiceError, ServiceWork
from shielded.node.jam_sync import BlockSync
from shielded.node.jam_tickets import Produced, TicketPool
from shielded.node.shards import ShardStore, make_assurance
from shielded.node.storage import ChainStore, StorageError

__all__ = ["InvalidBlock", "JamValidator", "MempoolError", "ServiceError", "ValidatorError"]

log = logging.getLogger(__name__)

_EMPTY_DISPUTES = DisputesExtrinsic((), (), ())
MAX_HELD_ANCHORS = 16
"""Assurances are kept for at most this many anchors besides the head (blocks not yet seen)."""


class JamValidator(GuarantorRole, ServiceRole):
    """Validator `index` of a devnet on jamcore's rules (module docstring)."""

    def __init__(
        self,
        index: int,
        secrets: ValidatorSecrets,
        config: GenesisConfig,
        store: ChainStore,
        natives: Mapping[bytes, NativeService],
        *,
        genesis: State,
        shards: ShardStore | None = None,
        pool_service: int = POOL_SERVICE_ID,
        pool_core: int = 0,
        auth_host: int | None = None,
        registrar: int | None = None,
        service_core: int | None = None,
    ) -> None:
        """`genesis` is sigma_0 (`jam_genesis.genesis_state`, the pool in chi_Z); the store
        is initialised with it if new. `natives` runs the native services (the pool) in
        refine and accumulate. `shards` defaults to a ShardStore next to the chain store.
        The pool's packages go to `pool_core`, authorized by the authorizer hosted in
        `auth_host` (default: the lowest genesis service id, as `genesis_state` does).
        Service work goes to `service_core` (default: the core after the pool's); deploys
        need the `registrar` service (`shielded.native_registrar`, in `natives`)."""
        self.spec = config.chain_spec()
        if not 0 <= index < self.spec.validators_count or secrets.index != index:
            raise ValidatorError(f"validator index {index} does not fit its secrets or spec")
        if not 0 <= pool_core < self.spec.cores_count:
            raise ValidatorError(f"core {pool_core} out of range")
        self.index = index
        self.secrets = secrets
        self.signing_key = secrets.signing_key
        self.config = config
        self.store = store
        self.pool_service = pool_service
        self.pool_core = pool_core
        self.service_core = (pool_core + 1) % self.spec.cores_count
        if service_core is not None:
            self.service_core = service_core
        if not 0 <= self.service_core < self.spec.cores_count:
            raise ValidatorError(f"core {self.service_core} out of range")
        self.auth_host = min(genesis.services) if auth_host is None else auth_host
        self.others = tuple(i for i in range(self.spec.validators_count) if i != index)
        self.slot = 0
        """The latest slot `on_slot` was given."""
        self.pool = PoolTransactions(pool_service, self.spec)
        native = natives.get(NATIVE_POOL_CODE_HASH)
        self.native_pool = native if isinstance(native, NativePool) else None
        """The pool's native service: its config and stateless checks (package choice)."""
        self.services = ServiceWork(registrar, pool_service, self.spec)
        self.collecting: dict[bytes, Collecting] = {}
        """Report hash -> this builder's package collecting signatures."""
        self.guarantees: dict[bytes, ReportGuarantee] = {}
        """Package hash -> a guarantee waiting for a block."""
        self.assurances: dict[bytes, dict[int, AvailAssurance]] = {}
        """Anchor -> validator index -> its assurance for the block after the anchor."""
        self.refused: list[str] = []
        """Why messages were refused (diagnostics; a peer's bad message never raises)."""
        self._assured: tuple[bytes, tuple[int, ...]] | None = None
        self.equivocate = False
        """Fault injection (`jam_node`): also seal a twin of each block this validator
        authors, kept in `twin` for the transport to send to some of the peers."""
        self.twin: tuple[int, bytes] | None = None
        """(slot, encoded block): the twin of this validator's latest authored block."""
        self._early_shares: list[BundleShare] = []
        self.built_at: dict[int, int] = {}
        """Core -> the latest slot this validator shared a package of it."""
        """Bundles whose anchor block has not arrived yet."""
        self.chain = JamChain(config, store, genesis, natives, on_applied=self._on_applied)
        self.guarantor = Guarantor(index, self.signing_key, config, natives)
        self.shards = shards or ShardStore(store.path.with_suffix(".shards.sqlite"), self.spec)
        self.sync = BlockSync(self.chain, index, self.import_block)
        self.tickets = TicketPool(self.spec)
        """Safrole tickets for the contest under way (`jam_tickets.py`)."""

    # --- the chain ----------------------------------------------------------------------

    @property
    def mempool(self) -> Mempool:
        return self.pool.mempool

    @property
    def inflight(self) -> dict[bytes, InFlight]:
        """Package hash -> the transactions waiting on it."""
        return self.pool.inflight

    @property
    def outcomes(self) -> dict[bytes, tuple[int, bool]]:
        """tx id -> (slot, accepted) as the pool's outcome item named it (node-local)."""
        return self.pool.outcomes

    @property
    def head_hash(self) -> bytes:
        return self.chain.head_hash

    def head_state(self) -> State:
        """sigma at the head (`JamChain.head_state`: loaded lazily, cached per head)."""
        return self.chain.head_state()

    def head_root(self) -> bytes:
        """M_sigma(sigma) at the head (eq. D.3-D.6), from the incremental trie."""
        return self.chain.head_root()

    def import_block(self, encoded: bytes) -> ImportOutcome:
        """Import E(B) (`JamChain.import_block`): InvalidBlock, with nothing changed, for a
        block that breaks a rule."""
        outcome = self.chain.import_block(encoded)
        if outcome.status in ("imported", "reorg"):
            self._prune()
        return outcome

    def finalize(self, block_hash: bytes) -> bool:
        """Mark a block final: it is never reverted (`JamChain.finalize`)."""
        return self.chain.finalize(block_hash)

    def _on_applied(self, block_hash: bytes, posterior: State) -> None:
        """After each committed block (`PoolTransactions.on_block`, `ServiceWork.on_block`)."""
        self.pool.on_block(posterior)
        self.services.on_block(posterior)

    def _prune(self) -> None:
        """Drop what no block after the head can use: guarantees that expired, were
        included or whose transactions another package carried, assurances for older
        blocks, credentials past their deadline."""
        head = self.head_state()
        head_hash = self.head_hash
        for package, guarantee in list(self.guarantees.items()):
            if guarantee_expired(guarantee, head, self.spec) or self.pool.settled(guarantee.report):
                del self.guarantees[package]
        stale = [
            anchor
            for anchor in self.assurances
            if anchor != head_hash and self.store.has_block(anchor)
        ]
        for anchor in stale:
            del self.assurances[anchor]
        while len(self.assurances) > MAX_HELD_ANCHORS + 1:
            oldest = next(anchor for anchor in self.assurances if anchor != head_hash)
            del self.assurances[oldest]
        for key, collecting in list(self.collecting.items()):
            deadline = guarantee_deadline(collecting.work.slot, self.spec)
            if head.slot + 1 >= deadline or self.pool.settled(collecting.work.report):
                del self.collecting[key]

    # --- calls --------------------------------------------------------------------------

    def submit(self, transaction: bytes) -> list[Outgoing]:
        """Admit a pool transaction (MempoolError if malformed) and gossip it to every
        validator, whichever is the pool core's guarantor when it is packaged."""
        self.mempool.add(transaction)
        return [Outgoing(self.others, Transaction(bytes(transaction)))]

    def on_slot(self, slot: int) -> list[Outgoing]:
        """The work of slot `slot` (module docstring): author if the sealer (c), assure
        the head (b), build a package if the pool core's builder (a)."""
        self.slot = max(self.slot, slot)
        out = self._author(slot)
        head = self.head_state()
        self.pool.settle(head, max(slot, head.slot + 1))
        self.services.settle(head, max(slot, head.slot + 1))
        self._prune()
        # Keep the shards of pending reports and of guarantees still waiting for a block.
        keep = [root for root in pending_erasure_roots(head) if root is not None]
        keep += [g.report.package_spec.erasure_root for g in self.guarantees.values()]
        self.shards.prune(slot, keep)
        out += self._assure()
        out += self._build(slot)
        return out

    def on_message(self, message: Message) -> list[Outgoing]:
        """Handle a peer's message; what to send in answer. A bad message is refused
        (noted in `refused`), never raised."""
        handlers = {
            Transaction: self._on_transaction,
            BundleShare: self._on_bundle_share,
            GuaranteeSignature: self._on_signature,
            Guarantee: self._on_guarantee,
            Shard: self._on_shard,
            Assurance: self._on_assurance,
            Block: self._on_block,
            BlocksRequest: self._on_blocks_request,
            Blocks: self._on_blocks,
            ServiceDeploy: self._on_deploy,
            WorkSubmission: self._on_work,
            Ticket: self._on_ticket,
        }
        handler = handlers.get(type(message))
        if handler is None:
            return self._refuse(f"unknown message {type(message).__name__}")
        try:
            return handler(message)  # type: ignore[operator]
        except (ValidatorError, ValueError, JamError, StorageError) as error:
            return self._refuse(f"{type(message).__name__}: {error}")

    def _refuse(self, reason: str) -> list[Outgoing]:
        log.info("validator %d refuses %s", self.index, reason)
        self.refused.append(reason)
        return []

    # --- (c) authoring ------------------------------------------------------------------

    def _author(self, slot: int) -> list[Outgoing]:
        """The block of `slot` on the head if this validator seals it (eq. 6.15-6.16),
        with the held assurances, guarantees and solicited preimages (E_P, eq. 12.35-12.37)
        valid for it; imported, then sent."""
        head = self.head_state()
        if slot <= head.slot:
            return []
        parent, root = self.head_hash, self.head_root()
        held = self.assurances.get(parent, {}).values()
        assurances = block_assurances(held, head, parent, self.spec)
        availability = after_assurances(head, assurances, slot, self.spec)
        guarantees = block_guarantees(
            self.guarantees.values(), head, root, slot, availability, self.spec
        )
        preimages = self.services.preimages(head)
        tickets = self.tickets.for_block(head, slot)
        secret = self.secrets.bandersnatch_secret
        for body in candidate_bodies(
            preimages, guarantees, assurances, _EMPTY_DISPUTES, tickets
        ):
            try:
                block = seal_block(head, parent, root, slot, secret, body, self.spec)
            except SafroleError as error:  # a pooled ticket went stale (eq. 6.30-6.35)
                log.warning("validator %d: dropping pooled tickets: %s", self.index, error)
                self.tickets.forget()
                continue
            if block is None:
                return []  # not this slot's sealer
            encoded = self.chain.codecs.block.encode(block)
            twin = self._seal_twin(head, parent, root, slot, body) if self.equivocate else None
            try:
                self.import_block(encoded)
            except InvalidBlock as error:
                log.warning("validator %d: own block %d refused: %s", self.index, slot, error)
                self.refused.append(f"own block: {error}")
                self.services.forget(body.preimages)  # not tried again
                for guarantee in () if body.preimages else body.guarantees:
                    self.guarantees.pop(guarantee.report.package_spec.hash, None)
                continue
            self.twin = None if twin is None else (slot, twin)
            return [Outgoing(self.others, Block(self.index, encoded))]
        return []

    # --- Safrole tickets (graypaper 6.7) --------------------------------------------------

    def ticket_work(self, slot: int) -> Callable[[], Produced] | None:
        """If this validator's turn to make its tickets has come (`TicketPool.due`), the
        slow making of them on the head (ring proofs: a process runs it off its event
        loop); hand the result to `tickets_made`."""
        if not self.tickets.due(slot, self.index):
            return None
        return self.tickets.work(self.head_state(), slot, self.secrets.bandersnatch_secret)

    def tickets_made(self, slot: int, tickets: Produced) -> list[Outgoing]:
        """Pool this validator's tickets for `slot`'s contest and gossip them."""
        self.tickets.add(slot, tickets)
        return [Outgoing(self.others, Ticket(ticket.envelope)) for ticket in tickets]

    def _on_ticket(self, message: Ticket) -> list[Outgoing]:
        if not self.tickets.receive(message.envelope, self.head_state(), self.slot):
            return self._refuse("a ticket whose ring proof does not verify for this contest")
        return []

    def _seal_twin(
        self, head: State, parent: bytes, root: bytes, slot: int, body: Extrinsic
    ) -> bytes | None:
        """Fault injection: another valid block for the same slot and parent, so with
        another header hash (`twin_body`)."""
        own = make_assurance(parent, (), self.index, self.signing_key, self.spec)
        block = seal_block(
            head, parent, root, slot, self.secrets.bandersnatch_secret, twin_body(body, own),
            self.spec,
        )
        return None if block is None else self.chain.codecs.block.encode(block)

    # --- (b) assurances -----------------------------------------------------------------

    def _assure(self) -> list[Outgoing]:
        """This validator's assurance anchored on the head (eq. 11.10-11.13) for the cores
        whose pending report's shard it holds, when that set is new for this head."""
        head, anchor = self.head_state(), self.head_hash
        cores = self.shards.held_cores(pending_erasure_roots(head), self.index)
        if not cores or self._assured == (anchor, tuple(cores)):
            return []
        self._assured = (anchor, tuple(cores))
        assurance = make_assurance(anchor, cores, self.index, self.signing_key, self.spec)
        self._hold_assurance(assurance)
        return [Outgoing(self.others, Assurance(assurance))]

    def _hold_assurance(self, assurance: AvailAssurance) -> None:
        self.assurances.setdefault(assurance.anchor, {})[assurance.validator_index] = assurance

    def _on_assurance(self, message: Assurance) -> list[Outgoing]:
        """Keep an assurance for the author of the block after its anchor (checked when
        authoring, eq. 11.11-11.15), unless its anchor is an older known block."""
        anchor = message.assurance.anchor
        if anchor != self.head_hash and self.store.has_block(anchor):
            return self._refuse("assurance for a block that is not the head")
        self._hold_assurance(message.assurance)
        head = self.head_hash
        while len(self.assurances) > MAX_HELD_ANCHORS + 1:
            del self.assurances[next(anchor for anchor in self.assurances if anchor != head)]
        return []

    def _on_shard(self, message: Shard) -> list[Outgoing]:
        """Verify this validator's shard against the erasure root (eq. 14.17) and store it;
        assure at once if its report is pending at the head."""
        if message.shard.index != self.index:
            return self._refuse(f"shard {message.shard.index} sent to validator {self.index}")
        self.shards.put(message.erasure_root, message.shard, message.report_slot)
        return self._assure()

    # --- blocks and catching up (`jam_sync.BlockSync`) ---------------------------------

    def _on_block(self, message: Block) -> list[Outgoing]:
        moved, out = self.sync.on_block(message)
        return out + self._after_move() if moved else out

    def _on_blocks_request(self, message: BlocksRequest) -> list[Outgoing]:
        return self.sync.on_request(message)

    def _on_blocks(self, message: Blocks) -> list[Outgoing]:
        moved, out = self.sync.on_blocks(message)
        return out + self._after_move() if moved else out

    def _after_move(self) -> list[Outgoing]:
        """After the head moved: assure it, and refine the bundles that were waiting for
        it to arrive."""
        out = self._assure()
        waiting = self._early_shares
        ready = [share for share in waiting if self.store.has_block(share.anchor)]
        self._early_shares = [s for s in waiting if not self.store.has_block(s.anchor)]
        for share in ready:
            out += self.on_message(share)
        return out
