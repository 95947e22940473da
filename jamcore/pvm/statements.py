"""Python statements for single PVM instructions, used by `jamcore.pvm.codegen`.

Each function returns source lines that implement one instruction of Appendix A.5 on
registers held in locals `r0`..`r12`, gas in `g`, memory pages in `RD`/`WR` (the
`Memory.readable`/`writable` dicts) and the memory in `m`. Common operations are inlined
with 64-bit wrap-around folded into cheap comparisons; in-page memory accesses use `struct`
directly on the page; everything else calls `jamcore.pvm.semantics` (`T<op>`, `W<op>`,
`U<op>`) or the slow-path `LD`/`ST` helpers of `jamcore.pvm.fast`.

Memory access (A.7) caches the last page found readable (`RN`/`RP`) and writable
(`WN`/`WP`) in locals. Within one call of a unit that is exact: a page, once mapped, keeps
its bytearray and never loses a right there (only `sbrk` maps, and it only adds writable
pages); a page not found is never cached, so lazily mapped pages are picked up when they
are first written. Consecutive accesses relative to one base register share one page
lookup, adjacent 8-octet ones one multi-word `struct` call; when their page does not cover
them the unit returns `K_RESUME` and the rest of the block runs in the reference semantics.
"""

from __future__ import annotations

from jamcore.pvm import semantics as sem
from jamcore.pvm.instructions import ArgKind
from jamcore.pvm.program import Instruction

M64 = "0xFFFFFFFFFFFFFFFF"
M32 = "0xFFFFFFFF"
SIGN = 1 << 63
TWO64 = 1 << 64
K_CONTINUE, K_HALT, K_PANIC, K_OOG, K_FAULT, K_HOST, K_RESUME = range(7)
"""How a unit ended: continue at `pc`, one of the exit reasons, or resume at `pc` inside a
block whose gas is paid (the rest of the block runs in the reference semantics)."""


def _sx32(dest: str, expr: str) -> list[str]:
    """dest = X_4(expr mod 2^32), without a 64-bit mask on the common path."""
    return [
        f"{dest} = ({expr}) & {M32}",
        f"if {dest} > 0x7FFFFFFF: {dest} += 0xFFFFFFFF00000000",
    ]


def _wrap_add(dest: str, expr: str) -> list[str]:
    """dest = expr mod 2^64 for a sum of two naturals below 2^64."""
    return [f"{dest} = {expr}", f"if {dest} > {M64}: {dest} -= {TWO64}"]


def _add_imm(dest: str, b: str, x: int) -> list[str]:
    """dest = (b + x) mod 2^64 with the immediate folded in: small subtractions for
    negative immediates, so intermediate values stay small."""
    if x == 0:
        return [f"{dest} = {b}"]
    if x >> 63:
        n = TWO64 - x
        return [f"{dest} = {b} - {n} if {b} >= {n} else {b} + {x}"]
    return [f"{dest} = {b} + {x} if {b} < {TWO64 - x} else {b} - {TWO64 - x}"]


def three_register(op: int, a: str, b: str, d: str) -> list[str]:
    """Statements computing a three-register instruction into `d`."""
    inline = {
        190: lambda: _sx32(d, f"{a} + {b}"),
        191: lambda: _sx32(d, f"{a} - {b}"),
        192: lambda: _sx32(d, f"{a} * {b}"),
        200: lambda: _wrap_add(d, f"{a} + {b}"),
        201: lambda: [f"{d} = {a} - {b}", f"if {d} < 0: {d} += {TWO64}"],
        202: lambda: [f"{d} = ({a} * {b}) & {M64}"],
        207: lambda: [f"{d} = ({a} << ({b} & 63)) & {M64}"],
        208: lambda: [f"{d} = {a} >> ({b} & 63)"],
        210: lambda: [f"{d} = {a} & {b}"],
        211: lambda: [f"{d} = {a} ^ {b}"],
        212: lambda: [f"{d} = {a} | {b}"],
        216: lambda: [f"{d} = 1 if {a} < {b} else 0"],
        217: lambda: [f"{d} = 1 if ({a} ^ {SIGN}) < ({b} ^ {SIGN}) else 0"],
        218: lambda: [f"if {b} == 0: {d} = {a}"],
        219: lambda: [f"if {b} != 0: {d} = {a}"],
        228: lambda: [f"{d} = {a} if {a} > {b} else {b}"],
        230: lambda: [f"{d} = {a} if {a} < {b} else {b}"],
    }.get(op)
    return inline() if inline else [f"{d} = T{op}({a}, {b}, {d})"]


def with_immediate(op: int, a: str, b: str, x: int) -> list[str]:
    """Statements computing a two-register-and-immediate instruction into `a`."""
    inline = {
        131: lambda: _sx32(a, f"{b} + {x & 0xFFFFFFFF}"),
        132: lambda: [f"{a} = {b} & {x}"],
        133: lambda: [f"{a} = {b} ^ {x}"],
        134: lambda: [f"{a} = {b} | {x}"],
        135: lambda: _sx32(a, f"{b} * {x & 0xFFFFFFFF}"),
        136: lambda: [f"{a} = 1 if {b} < {x} else 0"],
        137: lambda: [f"{a} = 1 if ({b} ^ {SIGN}) < {x ^ SIGN} else 0"],
        138: lambda: _sx32(a, f"{b} << {x & 31}"),
        139: lambda: _sx32(a, f"({b} & {M32}) >> {x & 31}"),
        142: lambda: [f"{a} = 1 if {b} > {x} else 0"],
        143: lambda: [f"{a} = 1 if ({b} ^ {SIGN}) > {x ^ SIGN} else 0"],
        147: lambda: [f"if {b} == 0: {a} = {x}"],
        148: lambda: [f"if {b} != 0: {a} = {x}"],
        149: lambda: _add_imm(a, b, x),
        150: lambda: [f"{a} = ({b} * {x}) & {M64}"],
        151: lambda: [f"{a} = ({b} << {x & 63}) & {M64}"],
        152: lambda: [f"{a} = {b} >> {x & 63}"],
        154: lambda: [f"{a} = {x} - {b}", f"if {a} < 0: {a} += {TWO64}"],
    }.get(op)
    return inline() if inline else [f"{a} = W{op}({a}, {b}, {x})"]


_CONDITIONS = {81: "==", 82: "!=", 83: "<", 84: "<=", 85: ">=", 86: ">", 170: "==",
               171: "!=", 172: "<", 174: ">="}
_SIGNED_CONDITIONS = {87: "<", 88: "<=", 89: ">=", 90: ">", 173: "<", 175: ">="}


def condition(op: int, a: str, b: str | int) -> str:
    """The Python test of a conditional branch (A.5.7, A.5.10): unsigned comparisons
    directly, signed ones with the sign bit flipped on both sides."""
    if op in _CONDITIONS:
        return f"{a} {_CONDITIONS[op]} {b}"
    flipped = b ^ SIGN if isinstance(b, int) else f"({b} ^ {SIGN})"
    return f"({a} ^ {SIGN}) {_SIGNED_CONDITIONS[op]} {flipped}"


def _in_page(width: int) -> tuple[str, str]:
    """Conditions (to append) that an access of `width` octets at page offset `o` stays in
    the page, and that it does not; empty for single octets, which always fit."""
    if width == 1:
        return "", ""
    return f" and o <= {4096 - width}", f" or o > {4096 - width}"


def _load_lines(pc: int, address: int | str, width: int, is_signed: bool, dest: str
                ) -> list[str]:
    """dest = the loaded value: in-page reads inline, others through Memory.load."""
    slow = f"LD(m, a, {width}, {pc})"
    if isinstance(address, int) and (address & 4095) <= 4096 - width:
        lines = [f"a = {address}; p = RD.get({address >> 12})",
                 f"{dest} = UNPACK{width}(p, {address & 4095})[0] if p is not None else {slow}"]
    else:
        fits, spills = _in_page(width)
        lines = [f"a = {address}; n = a >> 12; o = a & 4095",
                 f"if n == RN{fits}: {dest} = UNPACK{width}(RP, o)[0]",
                 "else:",
                 " p = RD.get(n)",
                 f" if p is None{spills}: {dest} = {slow}",
                 f" else: RN = n; RP = p; {dest} = UNPACK{width}(p, o)[0]"]
    if is_signed:
        top = 1 << (8 * width - 1)
        lines.append(f"if {dest} >= {top}: {dest} += {(1 << 64) - 2 * top}")
    return lines


def _store_lines(pc: int, address: int | str, width: int, value: str) -> list[str]:
    """Store `value` (already reduced to the width): in-page writes inline."""
    fits, spills = _in_page(width)
    if isinstance(address, int) and (address & 4095) <= 4096 - width:
        return [
            f"p = WR.get({address >> 12})",
            f"if p is not None: PACK{width}(p, {address & 4095}, {value})",
            f"else: ST(m, {address}, {width}, {value}, {pc})",
        ]
    return [
        f"a = {address}; n = a >> 12; o = a & 4095",
        f"if n == WN{fits}: PACK{width}(WP, o, {value})",
        "else:",
        " p = WR.get(n)",
        f" if p is None{spills}: ST(m, a, {width}, {value}, {pc})",
        f" else: WN = n; WP = p; PACK{width}(p, o, {value})",
    ]


def _indirect_access(ins: Instruction) -> tuple[int, int, int, bool] | None:
    """(base register, signed 32-bit offset, width, is a store) of a register-relative
    load or store, else None."""
    op, args = ins.opcode.number, ins.args
    if op in sem.LOAD_WIDTH and len(args) == 3:
        base, offset, width, store = args[1], args[2], sem.LOAD_WIDTH[op][0], False
    elif op in sem.STORE_WIDTH and ins.opcode.kind is ArgKind.REG_REG_IMM:
        base, offset, width, store = args[1], args[2], sem.STORE_WIDTH[op], True
    elif op in sem.STORE_WIDTH and ins.opcode.kind is ArgKind.REG_IMM_IMM:
        base, offset, width, store = args[0], args[1], sem.STORE_WIDTH[op], True
    else:
        return None
    offset &= 0xFFFFFFFF
    return base, offset - (1 << 32) if offset >> 31 else offset, width, store


def same_page_group(body: list[Instruction], start: int, end: int
                     ) -> list[tuple[int, int, int, bool]]:
    """The consecutive accesses from `start` relative to one unchanged base register
    spanning at most a page (a load into the base ends the group)."""
    group: list[tuple[int, int, int, bool]] = []
    for ins in body[start:end]:
        access = _indirect_access(ins)
        if access is None or (group and access[0] != group[0][0]):
            break
        low = min(a[1] for a in [*group, access])
        high = max(a[1] + a[2] for a in [*group, access])
        if high - low > 4096:
            break
        group.append(access)
        if not access[3] and ins.args[0] == access[0]:
            break
    return group


def group_lines(
    body: list[Instruction], group: list[tuple[int, int, int, bool]], lines: list[str]
) -> None:
    """Accesses that share a page when the first one's page is mapped: one page lookup,
    then direct `struct` calls; otherwise the unit returns and the rest of the block runs
    in the reference semantics (its gas already paid)."""
    base = group[0][0]
    low = min(offset for _, offset, _, _ in group)
    span = max(offset + width for _, offset, width, _ in group) - low
    pages, cached = ("WR", "W") if any(store for *_, store in group) else ("RD", "R")
    lines += [
        f"a = (r{base} + {low}) & {M32}; o = a & 4095; n = a >> 12",
        f"if n == {cached}N: p = {cached}P",
        "else:",
        f" p = {pages}.get(n)",
        f" if p is not None: {cached}N = n; {cached}P = p",
        f"if p is not None and o <= {4096 - span}:",
    ]
    index = 0
    while index < len(group):
        run = _word_run(body, group, index)
        if len(run) > 1:
            ordered = sorted(run, key=lambda k: group[k][1])
            first = group[ordered[0]][1]
            at = f"o + {first - low}" if first != low else "o"
            if group[index][3]:
                values = ", ".join(_stored_value(body[k], 8) for k in ordered)
                lines.append(f" PACKQ{len(run)}(p, {at}, {values})")
            else:
                dests = ", ".join(f"r{body[k].args[0]}" for k in ordered)
                lines.append(f" {dests} = UNPACKQ{len(run)}(p, {at})")
            index += len(run)
            continue
        ins, (_, offset, width, store) = body[index], group[index]
        index += 1
        at = f"o + {offset - low}" if offset != low else "o"
        if not store:
            dest = f"r{ins.args[0]}"
            lines.append(f" {dest} = UNPACK{width}(p, {at})[0]")
            if sem.LOAD_WIDTH[ins.opcode.number][1]:
                top = 1 << (8 * width - 1)
                lines.append(f" if {dest} >= {top}: {dest} += {(1 << 64) - 2 * top}")
            continue
        lines.append(f" PACK{width}(p, {at}, {_stored_value(ins, width)})")
    lines.append(f"else: return ({K_RESUME}, {body[0].pc}, g, 0)")


WORD_RUN_LIMIT = 8
"""The most consecutive 8-octet accesses done by one `struct` call (`PACKQ<n>`/`UNPACKQ<n>`)."""


def _stored_value(ins: Instruction, width: int) -> str:
    """The expression a grouped store writes, reduced to its width."""
    mask = (1 << 8 * width) - 1
    if ins.opcode.kind is ArgKind.REG_IMM_IMM:
        return str(ins.args[2] & mask)
    return f"r{ins.args[0]}" + (f" & {mask}" if width < 8 else "")


def _word_run(body: list[Instruction], group: list[tuple[int, int, int, bool]], start: int
              ) -> list[int]:
    """Indices from `start` of consecutive 8-octet accesses of one kind (all loads into
    distinct registers, or all stores) whose offsets tile a contiguous range, so one
    multi-word `struct` call does them all with the same effect."""
    if group[start][2] != 8:
        return [start]
    store = group[start][3]
    run, dests = [start], {body[start].args[0]}
    for k in range(start + 1, min(len(group), start + WORD_RUN_LIMIT)):
        _, _, width, is_store = group[k]
        if width != 8 or is_store != store or (not store and body[k].args[0] in dests):
            break
        run.append(k)
        dests.add(body[k].args[0])
    while len(run) > 1:
        offsets = sorted(group[k][1] for k in run)
        if all(b - a == 8 for a, b in zip(offsets, offsets[1:], strict=False)):
            return run
        run.pop()
    return run


def instruction(ins: Instruction, lines: list[str]) -> None:
    """Append the statements of one non-terminating instruction (not ecalli)."""
    op, args, kind = ins.opcode.number, ins.args, ins.opcode.kind
    if op in (20, 51):
        lines.append(f"r{args[0]} = {args[1]}")
    elif op in sem.LOAD_WIDTH:
        width, is_signed = sem.LOAD_WIDTH[op]
        address: int | str
        if len(args) == 2:
            address = args[1] & 0xFFFFFFFF
        else:
            address = f"(r{args[1]} + {args[2]}) & {M32}"
        lines += _load_lines(ins.pc, address, width, is_signed, f"r{args[0]}")
    elif op in sem.STORE_WIDTH:
        width = sem.STORE_WIDTH[op]
        mask = (1 << 8 * width) - 1
        if kind is ArgKind.IMM_IMM:
            address, value = args[0] & 0xFFFFFFFF, str(args[1] & mask)
        elif kind is ArgKind.REG_IMM:
            address, value = args[1] & 0xFFFFFFFF, f"r{args[0]}"
        elif kind is ArgKind.REG_IMM_IMM:
            address, value = f"(r{args[0]} + {args[1]}) & {M32}", str(args[2] & mask)
        else:
            address, value = f"(r{args[1]} + {args[2]}) & {M32}", f"r{args[0]}"
        if value.startswith("r") and width < 8:
            value = f"{value} & {mask}"
        lines += _store_lines(ins.pc, address, width, value)
    elif op == 101:
        lines.append(f"r{args[0]} = m.sbrk(r{args[1]})")
    elif kind is ArgKind.REG_REG:
        value = f"r{args[1]}" if op == 100 else f"U{op}(r{args[1]})"
        lines.append(f"r{args[0]} = {value}")
    elif kind is ArgKind.REG_REG_IMM:
        lines += with_immediate(op, f"r{args[0]}", f"r{args[1]}", args[2])
    else:
        lines += three_register(op, f"r{args[0]}", f"r{args[1]}", f"r{args[2]}")
