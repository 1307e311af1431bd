# Generates bf16_amd64.s and bf16_decl_amd64.go (run from this directory:
# python3 gen_bf16.py).
#
# The BF16 micro-kernels of the FP8 Linear layers (see bf16.go): 1 to 6 rows
# x 32 columns, K taken two at a time by VDPBF16PS (AVX512-BF16), which does
# twice the multiply-adds of VFMADD231PS per instruction at the same rate on
# this project's CPUs (measured: 234 against 117 GFLOP/s a core, register
# operands); the vector rounder of A to BF16; and the decoder of FP8 codes
# to their BF16 values. Go's assembler has no AVX512-BF16 mnemonics, so the two
# instructions used here, VDPBF16PS and VCVTNE2PS2BF16 (register forms only),
# are emitted as EVEX-encoded bytes by evex() below; everything else is plain
# Go assembly. objdump -d on a test binary shows them by name.

def evex(op, pp, dst, src1, src2):
    """EVEX.512.<pp>.0F38.W0 <op> /r, all three operands zmm registers.
    dst is ModRM.reg (R, R'), src1 is EVEX.vvvv (V'), src2 is ModRM.rm (B, X)."""
    p0 = ((~dst >> 3) & 1) << 7 | ((~src2 >> 4) & 1) << 6 | ((~src2 >> 3) & 1) << 5 | ((~dst >> 4) & 1) << 4 | 0b10
    p1 = ((~src1) & 0xF) << 3 | 1 << 2 | pp
    p2 = 0b10 << 5 | ((~src1 >> 4) & 1) << 3
    modrm = 0xC0 | (dst & 7) << 3 | (src2 & 7)
    return "; ".join(f"BYTE ${b:#04x}" for b in (0x62, p0, p1, p2, op, modrm))

def vdpbf16ps(acc, b, a):
    """acc.f32[j] += b.bf16[2j+1]*a.bf16[2j+1], then += b.bf16[2j]*a.bf16[2j]."""
    return f"\t{evex(0x52, 0b10, acc, b, a)} // VDPBF16PS Z{a}, Z{b}, Z{acc}"

def vcvtne2ps2bf16(dst, hi, lo):
    """dst.bf16[0:16] = round(lo), dst.bf16[16:32] = round(hi)."""
    return f"\t{evex(0x72, 0b11, dst, hi, lo)} // VCVTNE2PS2BF16 Z{lo}, Z{hi}, Z{dst}"

def kernel(rows):
    name = f"bf16Kernel{rows}x32"
    L = []
    a = L.append
    a(f"// func {name}(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, scale *float32, bias *float32, flags int)")
    a(f"TEXT ·{name}(SB), NOSPLIT, $0-72")
    a("\tMOVQ kp+0(FP), DI")
    a("\tMOVQ a+8(FP), AX")
    a("\tMOVQ lda+16(FP), BX")
    a("\tSHLQ $1, BX")
    a("\tMOVQ b+24(FP), CX")
    a("\tLEAQ (AX)(BX*2), R8")
    a("\tADDQ BX, R8 // R8 = row 3")
    for i in range(2 * rows):
        a(f"\tVPXORD Z{i}, Z{i}, Z{i}")
    arows = ["{d}(AX)", "{d}(AX)(BX*1)", "{d}(AX)(BX*2)", "{d}(R8)", "{d}(AX)(BX*4)", "{d}(R8)(BX*2)"]
    def step(u):
        # one pair of K: B is 32 columns x 2 values (128 bytes), A one
        # 4-byte pair per row, broadcast.
        a(f"\tVMOVUPS {128*u if u else ''}(CX), Z12")
        a(f"\tVMOVUPS {128*u+64}(CX), Z13")
        for r in range(rows):
            bc = 14 + (r & 1)
            addr = arows[r].format(d=4 * u if u else "")
            a(f"\tVPBROADCASTD {addr}, Z{bc}")
            a(vdpbf16ps(2 * r, 12, bc))
            a(vdpbf16ps(2 * r + 1, 13, bc))
    a("\tCMPQ DI, $4")
    a("\tJLT tail")
    a("loop4:")
    for u in range(4):
        step(u)
    a("\tADDQ $512, CX")
    a("\tADDQ $16, AX")
    a("\tADDQ $16, R8")
    a("\tSUBQ $4, DI")
    a("\tCMPQ DI, $4")
    a("\tJGE loop4")
    a("tail:")
    a("\tTESTQ DI, DI")
    a("\tJEQ done")
    a("loop1:")
    step(0)
    a("\tADDQ $128, CX")
    a("\tADDQ $4, AX")
    a("\tADDQ $4, R8")
    a("\tDECQ DI")
    a("\tJNE loop1")
    a("done:")
    a("\tMOVQ c+32(FP), SI")
    a("\tMOVQ ldc+40(FP), R9")
    a("\tSHLQ $2, R9")
    a("\tLEAQ (SI)(R9*2), R11")
    a("\tADDQ R9, R11 // R11 = row 3 of C")
    a("\tMOVQ flags+64(FP), R10")
    crow = ["(SI)", "(SI)(R9*1)", "(SI)(R9*2)", "(R11)", "(SI)(R9*4)", "(R11)(R9*2)"]
    a("\tTESTQ $1, R10")
    a("\tJEQ noacc")
    for r in range(rows):
        a(f"\tVADDPS {crow[r]}, Z{2*r}, Z{2*r}")
        a(f"\tVADDPS 64{crow[r]}, Z{2*r+1}, Z{2*r+1}")
    a("noacc:")
    a("\tTESTQ $8, R10")
    a("\tJEQ noscale")
    a("\tMOVQ scale+48(FP), R12")
    a("\tVMOVUPS (R12), Z12")
    a("\tVMOVUPS 64(R12), Z13")
    for r in range(rows):
        a(f"\tVMULPS Z12, Z{2*r}, Z{2*r}")
        a(f"\tVMULPS Z13, Z{2*r+1}, Z{2*r+1}")
    a("noscale:")
    a("\tTESTQ $2, R10")
    a("\tJEQ store")
    a("\tMOVQ bias+56(FP), R12")
    a("\tVMOVUPS (R12), Z12")
    a("\tVMOVUPS 64(R12), Z13")
    for r in range(rows):
        a(f"\tVADDPS Z12, Z{2*r}, Z{2*r}")
        a(f"\tVADDPS Z13, Z{2*r+1}, Z{2*r+1}")
    a("store:")
    for r in range(rows):
        a(f"\tVMOVUPS Z{2*r}, {crow[r]}")
        a(f"\tVMOVUPS Z{2*r+1}, 64{crow[r]}")
    a("\tVZEROUPPER")
    a("\tRET")
    return "\n".join(L) + "\n"

def rounder():
    L = [
        "// func bf16Round32(dst *uint16, src *float32, n int)",
        "// n (a multiple of 32) floats rounded to BF16 by VCVTNE2PS2BF16: nearest",
        "// even, denormals to signed zero, NaN quieted (roundBF16 is the same in Go).",
        "TEXT ·bf16Round32(SB), NOSPLIT, $0-24",
        "\tMOVQ dst+0(FP), DI",
        "\tMOVQ src+8(FP), SI",
        "\tMOVQ n+16(FP), CX",
        "\tSHRQ $5, CX",
        "\tJEQ rdone",
        "rloop:",
        "\tVMOVUPS (SI), Z0",
        "\tVMOVUPS 64(SI), Z1",
        vcvtne2ps2bf16(2, 1, 0),
        "\tVMOVUPS Z2, (DI)",
        "\tADDQ $128, SI",
        "\tADDQ $64, DI",
        "\tDECQ CX",
        "\tJNE rloop",
        "rdone:",
        "\tVZEROUPPER",
        "\tRET",
    ]
    return "\n".join(L) + "\n"

def decoder():
    L = [
        "// func fp8ToBF16(dst *uint16, codes *uint8, n int, table *[128]uint16)",
        "// n (a multiple of 32) E4M3FN codes to their BF16 values: a lookup of the",
        "// code's low 7 bits in the 128-entry table (two 64-word VPERMI2W tables,",
        "// chosen by bit 6), then its sign bit moved to bit 15. Exact for every code.",
        "TEXT ·fp8ToBF16(SB), NOSPLIT, $0-32",
        "\tMOVQ dst+0(FP), DI",
        "\tMOVQ codes+8(FP), SI",
        "\tMOVQ n+16(FP), CX",
        "\tMOVQ table+24(FP), DX",
        "\tVMOVDQU16 (DX), Z16",
        "\tVMOVDQU16 64(DX), Z17",
        "\tVMOVDQU16 128(DX), Z18",
        "\tVMOVDQU16 192(DX), Z19",
        "\tMOVL $0x007f007f, AX",
        "\tVPBROADCASTD AX, Z20",
        "\tMOVL $0x00800080, AX",
        "\tVPBROADCASTD AX, Z21",
        "\tMOVL $0x00400040, AX",
        "\tVPBROADCASTD AX, Z22",
        "\tSHRQ $5, CX",
        "\tJEQ ddone",
        "dloop:",
        "\tVPMOVZXBW (SI), Z0",
        "\tVPANDD Z20, Z0, Z1",
        "\tVMOVDQA64 Z1, Z2",
        "\tVPERMI2W Z17, Z16, Z1 // Z1 = table[idx] for idx < 64",
        "\tVPERMI2W Z19, Z18, Z2 // Z2 = table[64 + idx&63]",
        "\tVPTESTMW Z22, Z0, K1",
        "\tVPBLENDMW Z2, Z1, K1, Z3",
        "\tVPANDD Z21, Z0, Z0",
        "\tVPSLLW $8, Z0, Z0",
        "\tVPORD Z0, Z3, Z3",
        "\tVMOVDQU16 Z3, (DI)",
        "\tADDQ $32, SI",
        "\tADDQ $64, DI",
        "\tDECQ CX",
        "\tJNE dloop",
        "ddone:",
        "\tVZEROUPPER",
        "\tRET",
    ]
    return "\n".join(L) + "\n"

hdr = """// Code generated by gen_bf16.py; DO NOT EDIT.

//go:build amd64 && !purego

#include "textflag.h"

// BF16 micro-kernels: one tile of 1 to 6 rows x 32 columns of C from rows of
// A in BF16 (row stride lda elements, kp/2 pairs of K) and a BF16 panel of
// B (kp/2 pairs, each 32 columns x 2 values, 128 bytes). Each pair is
// accumulated as VDPBF16PS does: the odd K's product first, then the
// even's, each one rounded (products of two BF16 values are exact in
// float32). flags bit 0: C += A*B (load C), then bit 3: times scale[j],
// then bit 1: plus bias[j]; none: C = A*B.

"""
body = [kernel(r) for r in range(1, 7)] + [rounder(), decoder()]
open("bf16_amd64.s", "w").write(hdr + "\n".join(body))
decl = "".join(
    f"//go:noescape\nfunc bf16Kernel{r}x32(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, scale *float32, bias *float32, flags int)\n\n"
    for r in range(1, 7))
open("bf16_decl_amd64.go", "w").write("""// Code generated by gen_bf16.py; DO NOT EDIT.

//go:build amd64 && !purego

package kernels

""" + decl + """//go:noescape
func bf16Round32(dst *uint16, src *float32, n int)

//go:noescape
func fp8ToBF16(dst *uint16, codes *uint8, n int, table *[128]uint16)

// bf16Fns are the BF16 kernels by row count (index 0 unused).
var bf16Fns = [7]bf16KernelFunc{nil""" + "".join(f", bf16Kernel{r}x32" for r in range(1, 7)) + """}
""")
