"""The assembler and disassembler: encodings, errors, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from jamcore.pvm.assembler import assemble, immediate_length
from jamcore.pvm.blob import deblob
from jamcore.pvm.disassembler import disassemble
from jamcore.pvm.exits import PvmError
from jamcore.pvm.program import Program
from tests.jamcore.pvm.pvm_strategies import assembly_programs


def test_encodings_match_the_graypaper_layout() -> None:
    # the same octets as the inst_add_32 and inst_branch_eq_ok vectors' disassembly
    assert deblob(assemble("add_32 r9, r7, r8")).code == bytes.fromhex("be8709")
    code = deblob(assemble("load_imm r7, 1234\nload_imm_64 r7, 0xdeadbeef")).code
    assert code == bytes.fromhex("3307d204" "1407efbeadde00000000")
    assert deblob(assemble("store_imm_u8 0x20000, 18")).code == bytes.fromhex("1e03000002" "12")


def test_labels_jump_table_and_dynamic_addresses() -> None:
    text = "load_imm r1, &target\njump_ind r1, 0\ntarget:\ntrap\n.jump_table target"
    program = Program.from_blob(assemble(text))
    assert program.jump_table == (5,)
    assert program.instruction(0).args == (1, 2)


@pytest.mark.parametrize(
    "value, length", [(0, 0), (1, 1), (-1, 1), (127, 1), (128, 2), (-129, 2), (2**31 - 1, 4)]
)
def test_immediates_take_the_fewest_octets(value: int, length: int) -> None:
    assert immediate_length(value) == length


@pytest.mark.parametrize(
    "text, message",
    [
        ("frobnicate r1", "unknown instruction"),
        ("add_64 r1, r2", "takes 3 operands"),
        ("move_reg r13, r1", "register r0..r12"),
        ("jump nowhere", "unknown label"),
        ("load_imm r1, 2**40", "integer"),
        ("load_imm r1, 0x100000000", "32 signed bits"),
        ("x:\nx:\ntrap", "defined twice"),
        ("load_imm r1, &x\nx:\ntrap", "not in the jump table"),
        ("trap\n.jump_table y", "neither a label"),
    ],
)
def test_invalid_assembly_is_rejected(text: str, message: str) -> None:
    with pytest.raises(PvmError, match=message):
        assemble(text)


@settings(max_examples=60, deadline=None)
@given(text=assembly_programs())
def test_disassembly_reassembles_to_the_same_blob(text: str) -> None:
    blob = assemble(text)
    listing = disassemble(Program.from_blob(blob))
    assert assemble(listing) == blob
