"""The dimensions of a compiled program as the C driver and the Python side see them.

:class:`DriverShape` is built from what a compiled library needs at run time (kept in the
engine cache next to it, so a cached library is used without tracing again): the leaf
layout and its packing into 64-bit words, per template its action and choice slots, the
layout of one step's outputs, the coverage tags and the number of checks. The C source
itself is :mod:`mmspec.engine.cgen`'s.
"""

from __future__ import annotations

__all__ = ["DriverShape"]


class DriverShape:
    """The dimensions of a program as the driver and the Python side see them: the packing
    of the leaves into words, the layout of a step's outputs, the action codes.

    Built from what a compiled library needs at run time (kept in the cache next to it, so
    a cached library is used without tracing again): the leaf layout, per template its
    action and choice slots, the coverage tags and the number of checks."""

    def __init__(self, layout, actions, slots, tags, nchk: int) -> None:
        self.layout = layout
        self.actions = list(actions)
        self.slots = [list(sl) for sl in slots]          # per template: [(key, cands)]
        self.nleaf = len(layout)
        self.bits = [max(0, (h - l).bit_length()) for l, h in zip(layout.lo, layout.hi)]
        words, shifts, w, sh = [], [], 0, 0
        for b in self.bits:
            if b and sh + b > 64:
                w, sh = w + 1, 0
            words.append(w)
            shifts.append(sh)
            sh += b
        self.words, self.shifts = words, shifts
        self.nw = max(1, w + (1 if sh else 0))
        self.nt = len(self.actions)
        self.tags = list(tags)
        self.nchk = nchk
        self.nslots = [len(sl) for sl in self.slots]
        self.ncands = [[len(c) for _, c in sl] for sl in self.slots]
        self.slotmax = max(self.nslots + [0])
        self.candmax = max([n for ns in self.ncands for n in ns] + [0])
        maxcode = self.nt
        for ns in self.ncands:
            prod = 1
            for n in ns:
                prod *= n + 1
            maxcode = max(maxcode, prod * self.nt)
        self.action_t = "uint32_t" if maxcode < (1 << 32) else "uint64_t"
        self.off_tag = self.nleaf + 3
        self.off_need = self.off_tag + len(self.tags)
        self.off_elig = self.off_need + self.slotmax
        self.off_chk = self.off_elig + self.slotmax * self.candmax
        self.nout = self.off_chk + 3 * self.nchk

    @classmethod
    def of(cls, prog) -> "DriverShape":
        return cls(prog.layout, [t.action for t in prog.templates],
                   [t.slots for t in prog.templates], prog.tags, len(prog.checks))

    def decode_action(self, code: int):
        """The :class:`~mmspec.state.Action` an action code stands for."""
        t = code % self.nt
        rest = code // self.nt
        victims = []
        for k, n in enumerate(self.ncands[t]):
            d = rest % (n + 1)
            rest //= n + 1
            if d:
                victims.append(tuple(self.slots[t][k][1][d - 1]))
        return self.actions[t]._replace(victims=tuple(victims))

    def encode_action(self, action) -> int:
        """The code of an :class:`~mmspec.state.Action` (inverse of :meth:`decode_action`;
        each victim is given to the first remaining choice slot that can take it)."""
        base = action._replace(victims=())
        t = self.actions.index(base)
        digits = [0] * len(self.slots[t])
        k = 0
        for v in action.victims:
            while tuple(v) not in [tuple(c) for c in self.slots[t][k][1]]:
                k += 1
            digits[k] = [tuple(c) for c in self.slots[t][k][1]].index(tuple(v)) + 1
            k += 1
        code = 0
        for k in range(len(digits) - 1, -1, -1):
            code = code * (self.ncands[t][k] + 1) + digits[k]
        return code * self.nt + t

    def unpack(self, key) -> list[int]:
        lay, out = self.layout, []
        for i in range(self.nleaf):
            b = self.bits[i]
            out.append(((key[self.words[i]] >> self.shifts[i]) & ((1 << b) - 1)) + lay.lo[i]
                       if b else lay.lo[i])
        return out

    def pack(self, leaves) -> list[int]:
        lay, key = self.layout, [0] * self.nw
        for i in range(self.nleaf):
            if self.bits[i]:
                key[self.words[i]] |= (leaves[i] - lay.lo[i]) << self.shifts[i]
        return key
