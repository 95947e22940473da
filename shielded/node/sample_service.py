"""A small PVM service, written with the project's assembler, for tests and the demo.

`sample_service_blob()` is the code preimage E(↕m, c) (eq. 9.4, B.5, B.9) of a standard
program (A.38) assembled by `jamcore.pvm.assembler`:

* pc 0, refine (Psi_R, eq. B.5): decodes its argument E(c, i, w_s, ↕w_y, H(p)) (compact
  naturals, C.1) and returns E_8(FNV-1a-64(w_y)), the 64-bit FNV-1a hash of the payload;
* pc 5, accumulate (Psi_A, eq. B.9): decodes E(t, s, |i|), fetches each input i_k
  (`fetch` kind 15, eq. B.6's Omega_Y), and for an operand tuple E(0, E_U(o))
  (eq. C.31-C.33: p, e, a, y, E(g), the result O(l), ↕t) whose result is ok writes the
  refined output to storage under `SAMPLE_OUTPUT_KEY` (`write`, Omega_W); transfers and
  error results are skipped. It halts with an empty output (no yield).

So a storage item equal to `sample_refine_output(payload)` in the service's account shows
that refine and accumulate both ran in the PVM.
"""

from __future__ import annotations

from functools import cache

from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import ZONE_SIZE, StandardProgram
from shielded.node.jam_genesis import code_preimage

__all__ = [
    "SAMPLE_METADATA",
    "SAMPLE_OUTPUT_KEY",
    "fnv1a_64",
    "sample_refine_output",
    "sample_service_blob",
    "sample_service_code",
]

SAMPLE_METADATA = b"jam-shielded/sample-service/fnv1a/v1"
"""The metadata m of the code preimage."""
SAMPLE_OUTPUT_KEY = b"refined"
"""The storage key accumulate writes the refined output under (read-only data, at Z_Z)."""

_KEY = ZONE_SIZE
"""The read-only data o starts at Z_Z (A.41): it holds the key."""
_HEAP = 2 * ZONE_SIZE + ZONE_SIZE
"""The heap starts at 2 Z_Z + Q(|o|) (A.41); |o| <= Z_Z."""
_VARS = _HEAP
"""n (the input count) at +0, k (the next input) at +8."""
_OUT = _HEAP + 16
"""Refine's 8-octet output."""
_BUF = _HEAP + 64
"""Where accumulate fetches one input to."""
_BUF_SIZE = 4096
_HEAP_PAGES = 2
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_FETCH, _WRITE = 1, 4
_FETCH_INPUT = 15
_OPERAND_HEAD = 1 + 4 * 32
"""The tag and the four hashes p, e, a, y before an operand's gas E(g) (eq. C.32)."""


def _compact(x: str) -> str:
    """Decode the compact natural (C.1) at r2 into r3, advancing r2 past it; clobbers r4,
    r5, r6, r9, r10. The first octet's leading ones count l the further octets, which hold
    E_l(x mod 2^8l); its other bits are x's high part (none for l = 8). Every branch target
    starts a basic block (A.5), so a label after an ordinary instruction gets a
    `fallthrough` first."""
    return f"""
    load_ind_u8 r4, r2, 0
    add_imm_64 r2, r2, 1
    load_imm r5, 0
    load_imm r6, 128
    fallthrough
{x}_count:
    and r9, r4, r6
    branch_eq_imm r9, 0, {x}_counted
    add_imm_64 r5, r5, 1
    shlo_r_imm_64 r6, r6, 1
    branch_ne_imm r6, 0, {x}_count
{x}_counted:
    load_imm r3, 0
    move_reg r9, r5
    fallthrough
{x}_octets:
    branch_eq_imm r9, 0, {x}_high
    add_imm_64 r9, r9, -1
    add_64 r10, r2, r9
    load_ind_u8 r10, r10, 0
    shlo_l_imm_64 r3, r3, 8
    or r3, r3, r10
    jump {x}_octets
{x}_high:
    branch_eq_imm r5, 8, {x}_done
    add_imm_64 r6, r6, -1
    and r4, r4, r6
    shlo_l_imm_64 r9, r5, 3
    shlo_l_64 r4, r4, r9
    or r3, r3, r4
    fallthrough
{x}_done:
    add_64 r2, r2, r5
"""


def _assembly() -> str:
    """The program text: the two entry points (A.43: refine at pc 0, accumulate at 5)."""
    return f"""
    jump refine
    jump accumulate

refine:                         ; r7 = the argument's address (A.42)
    move_reg r2, r7
{_compact("core")}
{_compact("item")}
{_compact("service")}
{_compact("length")}
    add_64 r8, r2, r3           ; r8 = the payload's end
    load_imm_64 r11, {_FNV_OFFSET}
    load_imm_64 r12, {_FNV_PRIME}
    fallthrough
fnv:
    branch_ge_u r2, r8, fnv_done
    load_ind_u8 r4, r2, 0
    xor r11, r11, r4
    mul_64 r11, r11, r12
    add_imm_64 r2, r2, 1
    jump fnv
fnv_done:
    load_imm r7, {_OUT}
    store_ind_u64 r11, r7, 0
    load_imm r8, 8
    jump_ind r0, 0              ; halt: the output is mu[r7..+r8]

accumulate:                     ; the argument E(t, s, |i|)
    move_reg r2, r7
{_compact("slot")}
{_compact("id")}
{_compact("count")}
    store_u64 r3, {_VARS}
    store_imm_u64 {_VARS + 8}, 0
    fallthrough
next:
    load_u64 r3, {_VARS}
    load_u64 r4, {_VARS + 8}
    branch_ge_u r4, r3, done
    add_imm_64 r5, r4, 1
    store_u64 r5, {_VARS + 8}
    load_imm r7, {_BUF}         ; fetch(kind 15, input k) into the buffer
    load_imm r8, 0
    load_imm r9, {_BUF_SIZE}
    load_imm r10, {_FETCH_INPUT}
    move_reg r11, r4
    load_imm r12, 0
    ecalli {_FETCH}
    branch_gt_u_imm r7, {_BUF_SIZE}, next   ; none, or larger than the buffer
    load_imm r2, {_BUF}
    add_64 r11, r2, r7          ; r11 = the input's end
    load_ind_u8 r4, r2, 0
    branch_ne_imm r4, 0, next   ; a transfer
    add_imm_64 r2, r2, {_OPERAND_HEAD}
{_compact("gas")}
    load_ind_u8 r4, r2, 0
    branch_ne_imm r4, 0, next   ; an error result
    add_imm_64 r2, r2, 1
{_compact("output")}
    add_64 r4, r2, r3
    branch_lt_u r11, r4, next   ; the output runs past the input
    load_imm r7, {_KEY}
    load_imm r8, {len(SAMPLE_OUTPUT_KEY)}
    move_reg r9, r2
    move_reg r10, r3
    ecalli {_WRITE}
    jump next
done:
    load_imm r7, 0
    load_imm r8, 0
    jump_ind r0, 0
"""


@cache
def sample_service_code() -> bytes:
    """The standard program (A.38): the key as read-only data, two heap pages, no stack."""
    program = assemble(_assembly())
    return StandardProgram(SAMPLE_OUTPUT_KEY, b"", _HEAP_PAGES, 0, program).encode()


def sample_service_blob() -> bytes:
    """The code preimage E(↕m, c) to deploy (its hash is the service's code hash a_c)."""
    return code_preimage(sample_service_code(), SAMPLE_METADATA)


def fnv1a_64(data: bytes) -> int:
    """FNV-1a, 64 bits: what the service's refine computes in the PVM."""
    value = _FNV_OFFSET
    for octet in data:
        value = ((value ^ octet) * _FNV_PRIME) % (1 << 64)
    return value


def sample_refine_output(payload: bytes) -> bytes:
    """The refined output for `payload`, E_8(FNV-1a-64(payload)), which accumulate writes
    under `SAMPLE_OUTPUT_KEY`."""
    return fnv1a_64(payload).to_bytes(8, "little")
