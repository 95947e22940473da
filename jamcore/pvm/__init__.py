"""The Polkadot Virtual Machine (graypaper Appendix A): blobs, interpreter, fast path.

Typical use:

    program = Program.from_blob(blob)                       # A.2, PvmBlobError if malformed
    state = MachineState.create(pc=0, gas=10_000, registers=[0] * 13, memory=Memory())
    exit_ = invoke(program, state, host_call)               # Ψ_H, fast path by default
    result = invoke_standard(blob, pc, gas, args, host_call)  # Ψ_M with Y initialisation
"""

from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import ProgramCode, StandardProgram, deblob, standard_program
from jamcore.pvm.disassembler import disassemble
from jamcore.pvm.exits import Exit, ExitStatus, MemoryFault, MemoryPanic, PvmBlobError, PvmError
from jamcore.pvm.host import HostCall, InvocationResult, invoke, invoke_standard, run
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory
from jamcore.pvm.program import Program

__all__ = [
    "Exit",
    "ExitStatus",
    "HostCall",
    "InvocationResult",
    "MachineState",
    "Memory",
    "MemoryFault",
    "MemoryPanic",
    "Program",
    "ProgramCode",
    "PvmBlobError",
    "PvmError",
    "StandardProgram",
    "assemble",
    "deblob",
    "disassemble",
    "invoke",
    "invoke_standard",
    "run",
    "standard_program",
]
