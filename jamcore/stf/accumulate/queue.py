"""History and queuing of accumulation (graypaper 0.7.2 section 12.1, eq. 12.1-12.12,
and the final shift of xi and omega, eq. 12.32-12.34)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jamcore.types.accumulation import ReadyRecord
from jamcore.work.report import WorkReport

ReadyQueue = tuple[tuple[ReadyRecord, ...], ...]
History = tuple[tuple[bytes, ...], ...]


def package_hashes(reports: Iterable[WorkReport]) -> set[bytes]:
    """P(r) (eq. 12.9): the work-package hashes of a set of reports."""
    return {report.package_spec.hash for report in reports}


def with_dependencies(report: WorkReport) -> ReadyRecord:
    """D(r) (eq. 12.6): the report with its prerequisites and segment-root lookup keys
    as dependencies (in that order, without repeats)."""
    dependencies = dict.fromkeys(report.context.prerequisites)
    dependencies.update(dict.fromkeys(report.segment_root_lookup))
    return ReadyRecord(report, tuple(dependencies))


def edit(records: Iterable[ReadyRecord], accumulated: set[bytes] | frozenset[bytes]) -> list[
    ReadyRecord
]:
    """E(r, x) (eq. 12.7): drop records whose package is in x, and x from the
    dependencies of the rest."""
    result = []
    for record in records:
        if record.report.package_spec.hash in accumulated:
            continue
        dependencies = record.dependencies
        if any(d in accumulated for d in dependencies):
            dependencies = tuple(d for d in dependencies if d not in accumulated)
            record = ReadyRecord(record.report, dependencies)
        result.append(record)
    return result


def accumulation_queue(records: Sequence[ReadyRecord]) -> list[WorkReport]:
    """Q(r) (eq. 12.8): repeatedly take the reports without dependencies, in order, and
    edit their packages out of the rest."""
    ordered: list[WorkReport] = []
    pending = list(records)
    while True:
        ready = [record.report for record in pending if not record.dependencies]
        if not ready:
            return ordered
        ordered += ready
        pending = edit(pending, package_hashes(ready))


def is_immediate(report: WorkReport) -> bool:
    """Whether r is in W^! (eq. 12.4): no prerequisites and no segment-root lookups."""
    return not report.context.prerequisites and not report.segment_root_lookup


def accumulatable(
    reports: Sequence[WorkReport],
    ready_queue: ReadyQueue,
    history: History,
    slot: int,
) -> tuple[list[WorkReport], list[ReadyRecord]]:
    """W* (eq. 12.10-12.11) and W^Q (eq. 12.5) for the newly available reports W at
    slot H_t: W^! then Q of the ready queue rotated to start at m = H_t mod E, followed
    by W^Q, edited by P(W^!)."""
    accumulated = {h for hashes in history for h in hashes}
    immediate = [r for r in reports if is_immediate(r)]
    queued = edit((with_dependencies(r) for r in reports if not is_immediate(r)), accumulated)
    m = slot % len(ready_queue)
    waiting = [record for records in ready_queue[m:] + ready_queue[:m] for record in records]
    candidates = edit(waiting + queued, package_hashes(immediate))
    return immediate + accumulation_queue(candidates), queued


def shift(
    ready_queue: ReadyQueue,
    history: History,
    queued: Sequence[ReadyRecord],
    accumulated: Sequence[WorkReport],
    slot: int,
    prior_slot: int,
) -> tuple[ReadyQueue, History]:
    """omega' and xi' (eq. 12.32-12.34): xi shifts by one with P(W*[..n]) last; omega's
    slot m = τ' mod E takes E(W^Q, xi'_{E-1}), slots passed over since τ are emptied and
    the others are edited by xi'_{E-1}."""
    epoch_length = len(history)
    newest = package_hashes(accumulated)
    history_post = (*history[1:], tuple(sorted(newest)))
    m = slot % epoch_length
    elapsed = slot - prior_slot
    ready_post: list[tuple[ReadyRecord, ...]] = [()] * epoch_length
    for i in range(epoch_length):
        index = (m - i) % epoch_length
        if i == 0:
            ready_post[index] = tuple(edit(queued, newest))
        elif i < elapsed:
            ready_post[index] = ()
        else:
            ready_post[index] = tuple(edit(ready_queue[index], newest))
    return tuple(ready_post), history_post
