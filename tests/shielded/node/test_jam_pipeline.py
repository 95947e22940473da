"""The whole graypaper work pipeline in-process on the devnet genesis: a native service's
work package refined and signed by its core's guarantors, guaranteed in a block, assured
by the validators holding their shards and accumulated (sections 11-12, 14)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from jamcore.block import DisputesExtrinsic, Extrinsic, header_hash
from jamcore.pvm.invocations.context import AccumulationInput, OperandTuple
from jamcore.pvm.invocations.native import AccumulateHost
from jamcore.pvm.invocations.native_refine import RefineHost
from jamcore.spec import ChainSpec
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from jamcore.stf.block import import_block
from jamcore.stf.reports.assignment import permute
from jamcore.stf.reports.errors import (
    BadSignature,
    InsufficientGuarantees,
    ReportsError,
    WrongAssignment,
)
from jamcore.work.availability import (
    NotEnoughShards,
    WorkPackageBundle,
    decode_bundle,
    reconstruct_bundle,
)
from jamcore.work.guarantee import AvailAssurance, ReportGuarantee
from jamcore.work.guarantor import (
    GuaranteeError,
    core_assignments,
    guarantors_of,
    make_guarantee,
    package_hash,
    refine_context,
    sign_report,
)
from jamcore.work.package import WorkItem, WorkPackage
from shielded.node.genesis import GenesisConfig, ValidatorSecrets, genesis_hash
from shielded.node.guarantor import (
    GuaranteedWork,
    Guarantor,
    GuarantorError,
    NotAssigned,
    assemble_guarantee,
    assurance,
    pending_erasure_roots,
)
from shielded.node.jam_genesis import (
    GenesisService,
    authorizer_code_hash,
    genesis_state,
    native_code,
    native_code_hash,
)
from shielded.node.shards import ShardStore
from tests.shielded.node.test_jam_genesis import author

LOG = 7
LOG_CODE = native_code("append-log/v1")
COUNT = b"count"


def log_key(n: int) -> bytes:
    return b"log/" + n.to_bytes(4, "little")


class AppendLog:
    """A native append-log: refine echoes the payload, accumulate appends each ok output
    under log/<n> and keeps the count n."""

    def refine(
        self,
        host: RefineHost,
        core: int,
        item_index: int,
        service: int,
        payload: bytes,
        package_hash: bytes,
    ) -> bytes:
        return payload

    def accumulate(
        self, host: AccumulateHost, slot: int, service: int, inputs: Sequence[AccumulationInput]
    ) -> None:
        count = int.from_bytes(host.read(COUNT) or bytes(4), "little")
        for entry in inputs:
            if isinstance(entry, OperandTuple) and entry.result.tag == "ok":
                host.write(log_key(count), entry.result.value)
                count += 1
        host.write(COUNT, count.to_bytes(4, "little"))


NATIVES = {native_code_hash("append-log/v1"): AppendLog()}


@dataclass
class Chain:
    """The tip of an in-process chain: its posterior state and header hash."""

    state: State
    head: bytes
    spec: ChainSpec
    keys: list[ValidatorSecrets]

    def extend(
        self,
        slot: int,
        guarantees: tuple[ReportGuarantee, ...] = (),
        assurances: tuple[AvailAssurance, ...] = (),
    ) -> State:
        """Author, seal and import the block of `slot` (as test_jam_genesis does)."""
        body = Extrinsic((), (), guarantees, assurances, DisputesExtrinsic((), (), ()))
        block = author(self.state, self.head, slot, self.keys, self.spec, body)
        self.state = import_block(self.state, block, self.spec, natives=NATIVES)
        self.head = header_hash(block.header, self.spec)
        return self.state

    def block_with(self, slot: int, guarantees: tuple[ReportGuarantee, ...]) -> State:
        """Import a block carrying `guarantees` without advancing the chain."""
        body = Extrinsic((), (), guarantees, (), DisputesExtrinsic((), (), ()))
        block = author(self.state, self.head, slot, self.keys, self.spec, body)
        return import_block(self.state, block, self.spec, natives=NATIVES)


@pytest.fixture()
def chain(devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]) -> Chain:
    """Genesis with the append-log service (which hosts the authorizer), then block 1."""
    config = devnet[1]
    service = GenesisService(LOG, LOG_CODE, 10**12, {}, 1_000, 100)
    chain = Chain(
        genesis_state(config, (service,)),
        genesis_hash(config),
        config.chain_spec(),
        validator_keys,
    )
    chain.extend(1)
    return chain


def log_bundle(anchor: State, spec: ChainSpec, payload: bytes = b"hello, jam") -> WorkPackageBundle:
    """A one-item package for the append-log, anchored on `anchor`, with the devnet's
    null authorizer (hosted by the log service)."""
    item = WorkItem(LOG, native_code_hash("append-log/v1"), 100_000, 100_000, 0, payload, (), ())
    context = refine_context(anchor, spec)
    package = WorkPackage(LOG, authorizer_code_hash(), context, b"", b"", (item,))
    return WorkPackageBundle(package, (), (), ())


def guarantors(config: GenesisConfig, keys: list[ValidatorSecrets]) -> list[Guarantor]:
    return [Guarantor(key.index, key.signing_key, config, NATIVES) for key in keys]


def refine_on_core(
    chain: Chain, config: GenesisConfig, core: int, slot: int
) -> tuple[WorkPackageBundle, list[GuaranteedWork]]:
    """The bundle, refined and signed independently by each guarantor of `core`."""
    bundle = log_bundle(chain.state, chain.spec)
    assigned = guarantors_of(core, chain.state, slot, chain.spec)
    works = [
        guarantors(config, chain.keys)[index].guarantee(bundle, core, chain.state, slot)
        for index in assigned
    ]
    return bundle, works


def shard_stores(tmp_path: Path, spec: ChainSpec, work: GuaranteedWork) -> list[ShardStore]:
    """Each validator's store, holding the shard the guarantor sent it."""
    stores = []
    for shard in work.shards:
        store = ShardStore(tmp_path / f"shards-{shard.index}.sqlite", spec)
        store.put(work.erasure_root, shard, work.slot)
        stores.append(store)
    return stores


def assurances_of(chain: Chain, stores: list[ShardStore], count: int) -> tuple[AvailAssurance, ...]:
    """The assurances of validators 0..count-1 for the block after the tip."""
    made = [
        assurance(chain.state, chain.head, stores[i], i, chain.keys[i].signing_key)
        for i in range(count)
    ]
    assert all(a is not None for a in made)
    return tuple(a for a in made if a is not None)


# -- assignments ---------------------------------------------------------------------------


def test_each_core_has_three_guarantors_rotating_every_R_slots(
    chain: Chain,
) -> None:
    spec = chain.spec
    cores = core_assignments(chain.state, 2, spec)
    assert sorted(cores) == [0, 0, 0, 1, 1, 1]  # [floor(C i / V)] shuffled (eq. 11.20)
    assert guarantors_of(0, chain.state, 2, spec) == tuple(
        i for i, core in enumerate(cores) if core == 0
    )
    # Within the rotation the assignment holds; the next rotation shifts every core by 1.
    assert core_assignments(chain.state, spec.rotation_period - 1, spec) == cores
    rotated = core_assignments(chain.state, spec.rotation_period, spec)
    assert rotated == tuple((c + 1) % spec.cores_count for c in cores)
    # A guarantee of the previous rotation is checked against G* (eq. 11.22, 11.26).
    later = core_assignments(chain.state, spec.rotation_period, spec, guarantee_slot=2)
    assert later == cores


# -- the pipeline --------------------------------------------------------------------------


def test_guaranteed_assured_and_accumulated(
    devnet: tuple[Path, GenesisConfig], chain: Chain, tmp_path: Path
) -> None:
    config, spec = devnet[1], chain.spec
    core, slot = 0, 2
    bundle, works = refine_on_core(chain, config, core, slot)
    assert len(works) == 3
    # Refinement is deterministic: the guarantors' reports are identical.
    report = works[0].report
    assert all(work.report == report for work in works)
    assert report.results[0].result.value == b"hello, jam"
    assert report.package_spec.hash == package_hash(bundle.package)
    keys = [key.ed25519 for key in chain.state.current_validators]
    guarantee = assemble_guarantee(works[:2], keys)
    assert [s.validator_index for s in guarantee.signatures] == sorted(
        w.signature.validator_index for w in works[:2]
    )

    # Block 2 carries the guarantee: the report is pending on its core (rho, eq. 11.43).
    reported = chain.extend(slot, guarantees=(guarantee,))
    pending = reported.availability[core]
    assert pending is not None and pending.report == report and pending.timeout == slot
    assert reported.recent_blocks.history[-1].reported[0].hash == report.package_spec.hash
    assert pending_erasure_roots(reported) == [works[0].erasure_root, None]

    # Every validator stores its shard; five of six (> 2V/3) assure in block 3.
    stores = shard_stores(tmp_path, spec, works[0])
    assert spec.validators_super_majority == 5
    assured = chain.extend(3, assurances=assurances_of(chain, stores, 5))
    assert assured.availability[core] is None
    account = assured.services[LOG]
    assert account.entries[storage_key(LOG, log_key(0))] == b"hello, jam"
    assert account.entries[storage_key(LOG, COUNT)] == (1).to_bytes(4, "little")
    assert report.package_spec.hash in assured.accumulated[-1]
    assert account.info is not None and account.info.last_accumulation_slot == 3
    for store in stores:
        store.close()


def test_too_few_assurances_and_the_report_times_out(
    devnet: tuple[Path, GenesisConfig], chain: Chain, tmp_path: Path
) -> None:
    config, spec = devnet[1], chain.spec
    _, works = refine_on_core(chain, config, 1, 2)
    chain.extend(2, guarantees=(assemble_guarantee(works),))
    stores = shard_stores(tmp_path, spec, works[0])
    # Four of six assurances are not more than two thirds: still pending.
    state = chain.extend(3, assurances=assurances_of(chain, stores, 4))
    assert state.availability[1] is not None
    # Still pending at report slot + U - 1; dropped at report slot + U (eq. 11.17).
    timeout = 2 + spec.assurance_timeout_period
    assert chain.extend(timeout - 1).availability[1] is not None
    dropped = chain.extend(timeout)
    assert dropped.availability[1] is None
    assert storage_key(LOG, COUNT) not in dropped.services[LOG].entries
    assert all(not packages for packages in dropped.accumulated)
    assert all(not records for records in dropped.ready_queue)
    # The shards of the timed-out report are pruned.
    assert stores[0].prune(timeout) == 1 and not stores[0].has(works[0].erasure_root, 0)
    for store in stores:
        store.close()


def test_guarantees_from_the_wrong_or_too_few_guarantors_are_refused(
    devnet: tuple[Path, GenesisConfig], chain: Chain
) -> None:
    config, spec = devnet[1], chain.spec
    core, slot = 0, 2
    bundle, works = refine_on_core(chain, config, core, slot)
    report = works[0].report
    assigned = guarantors_of(core, chain.state, slot, spec)
    outsider = next(i for i in range(spec.validators_count) if i not in assigned)
    # The outsider's own node refuses to guarantee for a core it is not assigned to.
    with pytest.raises(NotAssigned):
        guarantors(config, chain.keys)[outsider].guarantee(bundle, core, chain.state, slot)
    # A guarantor refuses a package whose context is not its anchor's (eq. 11.33).
    stale = replace(bundle.package.context, state_root=bytes(32))
    bad = replace(bundle, package=replace(bundle.package, context=stale))
    with pytest.raises(GuarantorError):
        guarantors(config, chain.keys)[assigned[0]].guarantee(bad, core, chain.state, slot)
    # The outsider's signature in a credential: refused (wrong assignment, eq. 11.26).
    forged = sign_report(report, outsider, chain.keys[outsider].signing_key)
    wrong = make_guarantee(report, slot, (works[0].signature, forged))
    with pytest.raises(WrongAssignment) as refused:
        chain.block_with(slot, (wrong,))
    assert isinstance(refused.value, ReportsError)
    # One signature is not a credential (eq. 11.23).
    with pytest.raises(GuaranteeError):
        make_guarantee(report, slot, (works[0].signature,))
    with pytest.raises(GuarantorError):
        assemble_guarantee(works[:1])
    single = ReportGuarantee(report, slot, (works[0].signature,))
    with pytest.raises(InsufficientGuarantees):
        chain.block_with(slot, (single,))
    # A report that differs from the signed one fails its signatures.
    tampered = replace(report, auth_output=b"x")
    with pytest.raises(BadSignature):
        chain.block_with(slot, (replace(assemble_guarantee(works), report=tampered),))
    # Guarantors that disagree cannot be assembled.
    with pytest.raises(GuarantorError):
        assemble_guarantee([works[0], replace(works[1], report=tampered)])
    # The state is untouched and the honest guarantee still imports.
    assert chain.block_with(slot, (assemble_guarantee(works),)).availability[core] is not None


def test_a_third_of_the_shards_reconstruct_the_bundle(
    devnet: tuple[Path, GenesisConfig], chain: Chain, tmp_path: Path
) -> None:
    spec = chain.spec
    bundle, works = refine_on_core(chain, devnet[1], 0, 2)
    work = works[0]
    stores = shard_stores(tmp_path, spec, work)
    root, length = work.erasure_root, work.report.package_spec.length
    # Two thirds of the validators lose their shards: the other two suffice (k = 2).
    for store in stores[:4]:
        store.close()
    survivors = {i: stores[i].get(root, i) for i in (4, 5)}
    held = {i: shard for i, shard in survivors.items() if shard is not None}
    assert len(held) == 2 and spec.ec_data_shards == 2
    rebuilt = reconstruct_bundle(held, root, length, spec)
    assert rebuilt == work.bundle and decode_bundle(rebuilt) == bundle
    with pytest.raises(NotEnoughShards):
        reconstruct_bundle({5: held[5]}, root, length, spec)
    for store in stores[4:]:
        store.close()


def test_assignments_follow_the_posterior_entropy_across_an_epoch_change(
    devnet: tuple[Path, GenesisConfig], chain: Chain
) -> None:
    """A block opening an epoch checks guarantors against eta'_2 = eta_1 (G, eq. 11.21)
    and a guarantee of the previous epoch's last rotation against eta'_3 = eta_2 and
    lambda' (G*, eq. 11.22): `core_assignments` on the parent state predicts both."""
    config, spec = devnet[1], chain.spec
    length = spec.epoch_length
    chain.extend(length)  # epoch 1: eta_1 becomes the accumulated eta_0, unlike eta_2
    head = chain.extend(2 * length - 1)
    slot = 2 * length  # the block opening epoch 2
    assert head.entropy[1] != head.entropy[2]
    # G of the new epoch is shuffled by the prior eta_1, not eta_2 (with random devnet
    # entropy the two shuffles of six validators may still coincide by chance).
    assert core_assignments(head, slot, spec) == permute(head.entropy[1], slot, spec)
    assert core_assignments(head, slot, spec, guarantee_slot=slot - 1) == permute(
        head.entropy[2], slot - 1, spec
    )
    nodes = guarantors(config, chain.keys)
    guarantees = []
    for core, guarantee_slot in ((0, slot), (1, slot - 1)):
        bundle = log_bundle(head, spec, payload=bytes([core]))
        signers = guarantors_of(core, head, slot, spec, guarantee_slot)
        works = [nodes[i].guarantee(bundle, core, head, guarantee_slot) for i in signers]
        guarantees.append(assemble_guarantee(works))
    state = chain.extend(slot, guarantees=tuple(guarantees))
    assert all(pending is not None for pending in state.availability)
