# Generates winograd_amd64.s (run from this directory: python3
# gen_winograd.py): the vector input and output transforms of the
# Winograd F(2x2, 3x3) convolution (winograd.go), four tiles of one row of
# tiles at a time in 128-bit AVX registers, one tile per lane.
#
# Input: tile t of a row of tiles reads columns 2t..2t+3 of four
# zero-padded input rows; for four tiles, column c of every tile is one
# even or odd deinterleave (VSHUFPS) of two loads of the row. Then
# t_a = (Bt d)[a] across rows and V[a][b] = (t_a B)[b], the same operations
# in the same order as the scalar loop, and each of the 16 V[a][b] vectors
# is four consecutive floats of its plane: one store.
#
# Output: M_xi of four tiles is one load per plane; r_a = (M A) per row a,
# then the two output rows (At r) + bias, interleaved (VUNPCKLPS/HPS) into
# eight consecutive floats of each output row.

def input_kernel():
    L = []
    a = L.append
    a("// func winoInput4AVX(r0, r1, r2, r3 *float32, groups int, dst *float32, stride int)")
    a("// For g in [0, groups): the transformed input of tiles 4g..4g+3 of one row")
    a("// of tiles (tile t at column 2t of the zero-padded rows r0..r3) to")
    a("// dst[xi*stride + 4g .. +4] for xi = 4a+b (stride in floats).")
    a("TEXT ·winoInput4AVX(SB), NOSPLIT, $0-56")
    a("\tMOVQ r0+0(FP), SI")
    a("\tMOVQ r1+8(FP), DI")
    a("\tMOVQ r2+16(FP), R8")
    a("\tMOVQ r3+24(FP), R9")
    a("\tMOVQ groups+32(FP), CX")
    a("\tMOVQ dst+40(FP), DX")
    a("\tMOVQ stride+48(FP), BX")
    a("\tSHLQ $2, BX             // plane stride in bytes")
    a("\tLEAQ (BX)(BX*2), R14    // three planes")
    a("\tLEAQ (DX)(BX*4), R11    // planes 4..7")
    a("\tLEAQ (DX)(BX*8), R12    // planes 8..11")
    a("\tLEAQ (R11)(BX*8), R13   // planes 12..15")
    a("\tTESTQ CX, CX")
    a("\tJEQ done")
    a("loop:")

    def load_row(ptr, regs):
        # regs[c] = column c of the four tiles
        a(f"\tVMOVUPS ({ptr}), X12")
        a(f"\tVMOVUPS 16({ptr}), X13")
        a(f"\tVSHUFPS $0x88, X13, X12, X{regs[0]}")
        a(f"\tVSHUFPS $0xDD, X13, X12, X{regs[1]}")
        a(f"\tVMOVUPS 8({ptr}), X12")
        a(f"\tVMOVUPS 24({ptr}), X13")
        a(f"\tVSHUFPS $0x88, X13, X12, X{regs[2]}")
        a(f"\tVSHUFPS $0xDD, X13, X12, X{regs[3]}")

    planes = ["DX", "R11", "R12", "R13"]
    offs = ["({p})", "({p})(BX*1)", "({p})(BX*2)", "({p})(R14*1)"]

    def store_row(arow, t):
        # V[a][b] from t_a = X{t[0..3]}: (t0-t2, t1+t2, t2-t1, t1-t3)
        p = planes[arow]
        ops = [("VSUBPS", t[2], t[0]), ("VADDPS", t[2], t[1]), ("VSUBPS", t[1], t[2]), ("VSUBPS", t[3], t[1])]
        for b, (op, y, x) in enumerate(ops):
            a(f"\t{op} X{y}, X{x}, X14")
            a(f"\tVMOVUPS X14, {offs[b].format(p=p)}")

    d0, d2, d1, d3 = [0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3], [4, 5, 6, 7]
    load_row("SI", d0)
    load_row("R8", d2)
    for c in range(4):  # t0 = d0 - d2 (in d0's registers)
        a(f"\tVSUBPS X{d2[c]}, X{d0[c]}, X{d0[c]}")
    store_row(0, d0)
    load_row("DI", d1)
    for c in range(4):  # t1 = d1 + d2 (X8..X11), then t2 = d2 - d1 (in d2's)
        a(f"\tVADDPS X{d2[c]}, X{d1[c]}, X{8 + c}")
        a(f"\tVSUBPS X{d1[c]}, X{d2[c]}, X{d2[c]}")
    store_row(1, [8, 9, 10, 11])
    store_row(2, d2)
    load_row("R9", d3)
    for c in range(4):  # t3 = d1 - d3 (in d1's)
        a(f"\tVSUBPS X{d3[c]}, X{d1[c]}, X{d1[c]}")
    store_row(3, d1)
    for r in ["SI", "DI", "R8", "R9"]:
        a(f"\tADDQ $32, {r}")
    for r in planes:
        a(f"\tADDQ $16, {r}")
    a("\tDECQ CX")
    a("\tJNE loop")
    a("done:")
    a("\tRET")
    return "\n".join(L) + "\n"


def output_kernel():
    L = []
    a = L.append
    a("// func winoOutput4AVX(m *float32, stride int, groups int, y0, y1 *float32, bias float32)")
    a("// For g in [0, groups): At M A + bias of tiles 4g..4g+3 of one row of tiles")
    a("// (M_xi at m[xi*stride + 4g .. +4], stride in floats) to the output rows")
    a("// y0 and y1, columns 8g..8g+7.")
    a("TEXT ·winoOutput4AVX(SB), NOSPLIT, $0-44")
    a("\tMOVQ m+0(FP), SI")
    a("\tMOVQ stride+8(FP), BX")
    a("\tSHLQ $2, BX")
    a("\tMOVQ groups+16(FP), CX")
    a("\tMOVQ y0+24(FP), DI")
    a("\tMOVQ y1+32(FP), R8")
    a("\tVBROADCASTSS bias+40(FP), X15")
    a("\tLEAQ (BX)(BX*2), R14")
    a("\tLEAQ (SI)(BX*4), R11")
    a("\tLEAQ (SI)(BX*8), R12")
    a("\tLEAQ (R11)(BX*8), R13")
    a("\tTESTQ CX, CX")
    a("\tJEQ done")
    a("loop:")
    planes = ["SI", "R11", "R12", "R13"]
    offs = ["({p})", "({p})(BX*1)", "({p})(BX*2)", "({p})(R14*1)"]
    # r_a = (m0+m1+m2, m1-m2-m3) of row a into X{2a}, X{2a+1}
    for arow, p in enumerate(planes):
        for b in range(4):
            a(f"\tVMOVUPS {offs[b].format(p=p)}, X{8 + b}")
        r0, r1 = 2 * arow, 2 * arow + 1
        a(f"\tVADDPS X9, X8, X{r0}")
        a(f"\tVADDPS X10, X{r0}, X{r0}")
        a(f"\tVSUBPS X10, X9, X{r1}")
        a(f"\tVSUBPS X11, X{r1}, X{r1}")
    # u = X0,X1 v = X2,X3 x = X4,X5 z = X6,X7
    # y0 = (u+v+x)+bias, y1 = (v-x-z)+bias, per column of the tile
    a("\tVADDPS X2, X0, X8")
    a("\tVADDPS X4, X8, X8")
    a("\tVADDPS X15, X8, X8    // row 0, column 0")
    a("\tVADDPS X3, X1, X9")
    a("\tVADDPS X5, X9, X9")
    a("\tVADDPS X15, X9, X9    // row 0, column 1")
    a("\tVSUBPS X4, X2, X10")
    a("\tVSUBPS X6, X10, X10")
    a("\tVADDPS X15, X10, X10  // row 1, column 0")
    a("\tVSUBPS X5, X3, X11")
    a("\tVSUBPS X7, X11, X11")
    a("\tVADDPS X15, X11, X11  // row 1, column 1")
    a("\tVUNPCKLPS X9, X8, X12")
    a("\tVUNPCKHPS X9, X8, X13")
    a("\tVMOVUPS X12, (DI)")
    a("\tVMOVUPS X13, 16(DI)")
    a("\tVUNPCKLPS X11, X10, X12")
    a("\tVUNPCKHPS X11, X10, X13")
    a("\tVMOVUPS X12, (R8)")
    a("\tVMOVUPS X13, 16(R8)")
    for r in planes:
        a(f"\tADDQ $16, {r}")
    a("\tADDQ $32, DI")
    a("\tADDQ $32, R8")
    a("\tDECQ CX")
    a("\tJNE loop")
    a("done:")
    a("\tRET")
    return "\n".join(L) + "\n"


hdr = """// Code generated by gen_winograd.py; DO NOT EDIT.

//go:build amd64 && !purego

#include "textflag.h"

"""
open("winograd_amd64.s", "w").write(hdr + input_kernel() + "\n" + output_kernel())
