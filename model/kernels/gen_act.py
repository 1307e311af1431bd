# Generates act_amd64.s (run from this directory: python3 gen_act.py): the
# vectorised exp and the loops built on it (softmax numerators, GELU-tanh,
# SiLU) and the scale-and-max pass of softmax, for AVX-512 and AVX2. Both
# ISAs run the same instruction sequence on different widths, so they give
# bit-identical results.
import struct

# Constants, each replicated over a whole ZMM (64 bytes) so either width can
# use them as full-vector memory operands.
consts = [
    ("hi", 89.0), ("lo", -104.0),             # exp clamp: beyond, exp is +Inf / 0
    ("log2e", 1.44269504088896341),
    ("c1", 0.693359375), ("c2", -2.12194440e-4),  # ln 2 = c1 + c2 (Cody-Waite)
    ("p0", 1.9875691500e-4), ("p1", 1.3981999507e-3), ("p2", 8.3334519073e-3),
    ("p3", 4.1665795894e-2), ("p4", 1.6666665459e-1), ("p5", 5.0000001201e-1),
    ("one", 1.0),
    ("g1", -2 * 0.7978845608028654),               # -2·sqrt(2/pi)
    ("g2", -2 * 0.7978845608028654 * 0.044715),
    ("ninf", float("-inf")),
]
off = {name: 64 * i for i, (name, _) in enumerate(consts)}
ioff = 64 * len(consts)  # int32 127, replicated


def data():
    L = []
    for i, (name, v) in enumerate(consts):
        bits = struct.unpack("<I", struct.pack("<f", v))[0]
        for j in range(16):
            L.append(f"DATA actc<>+{64*i + 4*j}(SB)/4, ${bits:#010x}")
    for j in range(16):
        L.append(f"DATA actc<>+{ioff + 4*j}(SB)/4, $127")
    L.append(f"GLOBL actc<>(SB), RODATA|NOPTR, ${ioff + 64}")
    return "\n".join(L) + "\n"


def c(name):
    return f"actc<>+{off[name]}(SB)"


# Integer constants of the BF16 rounding (roundSwap), each replicated over
# a ZMM like the float ones.
iconsts = [("one", 1), ("bias", 0x7FFF), ("hi16", 0xFFFF0000), ("exp", 0x7F800000),
           ("sign", 0x80000000), ("abs", 0x7FFFFFFF), ("quiet", 0x00400000)]
ioffs = {name: 64 * i for i, (name, _) in enumerate(iconsts)}


def idata():
    L = []
    for i, (name, v) in enumerate(iconsts):
        for j in range(16):
            L.append(f"DATA bf16c<>+{64*i + 4*j}(SB)/4, ${v:#010x}")
    L.append(f"GLOBL bf16c<>(SB), RODATA|NOPTR, ${64 * len(iconsts)}")
    return "\n".join(L) + "\n"


def ic(name):
    return f"bf16c<>+{ioffs[name]}(SB)"


def round_swap(R):
    """R1 = BF16 rounding of the float32 bits in R0 as roundBF16 (nearest even,
    denormals to a signed zero, NaN quieted), widened back to float32, each
    pair of lanes swapped; clobbers R2, R3. Integer operations only, so the
    AVX-512 sequence (masks) and the AVX2 one (blends) agree bit for bit."""
    if R == "Z":
        return [
            "VPSRLD $16, Z0, Z1", f"VPANDD {ic('one')}, Z1, Z1", f"VPADDD {ic('bias')}, Z1, Z1",
            "VPADDD Z0, Z1, Z1", f"VPANDD {ic('hi16')}, Z1, Z1",
            f"VPTESTNMD {ic('exp')}, Z0, K1", f"VPANDD {ic('sign')}, Z0, K1, Z1",
            f"VPANDD {ic('abs')}, Z0, Z2", f"VPCMPUD $6, {ic('exp')}, Z2, K2",
            f"VPANDD {ic('hi16')}, Z0, Z3", f"VPORD {ic('quiet')}, Z3, K2, Z1",
            "VPSHUFD $0xb1, Z1, Z1",
        ]
    return [
        "VPSRLD $16, Y0, Y1", f"VPAND {ic('one')}, Y1, Y1", f"VPADDD {ic('bias')}, Y1, Y1",
        "VPADDD Y0, Y1, Y1", f"VPAND {ic('hi16')}, Y1, Y1",
        f"VPAND {ic('exp')}, Y0, Y2", "VPXOR Y3, Y3, Y3", "VPCMPEQD Y3, Y2, Y2",
        f"VPAND {ic('sign')}, Y0, Y3", "VPBLENDVB Y2, Y3, Y1, Y1",
        f"VPAND {ic('abs')}, Y0, Y2", f"VPCMPGTD {ic('exp')}, Y2, Y2",
        f"VPAND {ic('hi16')}, Y0, Y3", f"VPOR {ic('quiet')}, Y3, Y3", "VPBLENDVB Y2, Y3, Y1, Y1",
        "VPSHUFD $0xb1, Y1, Y1",
    ]


def exp(R, x, n, p, t):
    """x = exp(x); clobbers n, p, t (Cephes expf: 2^n·P(r), |r| ≤ ln2/2)."""
    return [
        f"VMINPS {c('hi')}, {R}{x}, {R}{x}",
        f"VMAXPS {c('lo')}, {R}{x}, {R}{x}",
        f"VMULPS {c('log2e')}, {R}{x}, {R}{n}",
        f"VCVTPS2DQ {R}{n}, {R}{n}",  # round to nearest (MXCSR default)
        f"VCVTDQ2PS {R}{n}, {R}{t}",
        f"VFNMADD231PS {c('c1')}, {R}{t}, {R}{x}",
        f"VFNMADD231PS {c('c2')}, {R}{t}, {R}{x}",  # x = r
        f"VMOVUPS {c('p0')}, {R}{p}",
        f"VFMADD213PS {c('p1')}, {R}{x}, {R}{p}",
        f"VFMADD213PS {c('p2')}, {R}{x}, {R}{p}",
        f"VFMADD213PS {c('p3')}, {R}{x}, {R}{p}",
        f"VFMADD213PS {c('p4')}, {R}{x}, {R}{p}",
        f"VFMADD213PS {c('p5')}, {R}{x}, {R}{p}",
        f"VMULPS {R}{x}, {R}{x}, {R}{t}",
        f"VFMADD213PS {R}{x}, {R}{t}, {R}{p}",  # p = p·r² + r
        f"VADDPS {c('one')}, {R}{p}, {R}{p}",
        # 2^n as 2^(n>>1)·2^(n-(n>>1)): both factors are normal floats
        # for n in [-150, 129], and the product overflows to +Inf or
        # rounds into the subnormals exactly as exp should.
        f"VPSRAD $1, {R}{n}, {R}{t}",
        f"VPSUBD {R}{t}, {R}{n}, {R}{n}",
        f"VPADDD actc<>+{ioff}(SB), {R}{t}, {R}{t}",
        f"VPSLLD $23, {R}{t}, {R}{t}",
        f"VPADDD actc<>+{ioff}(SB), {R}{n}, {R}{n}",
        f"VPSLLD $23, {R}{n}, {R}{n}",
        f"VMULPS {R}{t}, {R}{p}, {R}{p}",
        f"VMULPS {R}{n}, {R}{p}, {R}{x}",
    ]


def xor(R, r):
    """Zero a register: VXORPS on ZMM would need AVX512DQ, VPXORD only F."""
    return f"VPXORD Z{r}, Z{r}, Z{r}" if R == "Z" else f"VXORPS Y{r}, Y{r}, Y{r}"


def hreduce(R, op, acc, tmp, ret):
    """Reduce the lanes of vector acc with op (VADDPS or VMAXPS) into ret."""
    L = []
    if R == "Z":
        L += [f"VEXTRACTF64X4 $1, Z{acc}, Y{tmp}", f"{op} Y{tmp}, Y{acc}, Y{acc}"]
    L += [f"VEXTRACTF128 $1, Y{acc}, X{tmp}", f"{op} X{tmp}, X{acc}, X{acc}",
          f"VPERMILPS $0x4e, X{acc}, X{tmp}", f"{op} X{tmp}, X{acc}, X{acc}",
          f"VPERMILPS $0xb1, X{acc}, X{tmp}", f"{op} X{tmp}, X{acc}, X{acc}",
          f"MOVSS X{acc}, {ret}"]
    return L


def loop(name, isa, R, vw, args, frame, setup, body, finish=()):
    L = [f"// func {name}{args}", f"TEXT ·{name}(SB), NOSPLIT, {frame}",
         "\tMOVQ x+0(FP), SI", "\tMOVQ n+8(FP), CX"]
    L += ["\t" + s for s in setup]
    L += ["\tTESTQ CX, CX", "\tJEQ done", "loop:"]
    L += ["\t" + s for s in body]
    L += [f"\tADDQ ${vw}, SI", f"\tSUBQ ${vw // 4}, CX", "\tJNE loop", "done:"]
    L += ["\t" + s for s in finish]
    L += ["\tVZEROUPPER", "\tRET", ""]
    return "\n".join(L)


out = ["""// Code generated by gen_act.py; DO NOT EDIT.

//go:build amd64 && !purego

#include "textflag.h"

// Each function processes n elements, n a multiple of the vector width; the
// Go wrappers do the remainder with the scalar code of act_exp.go, which
// uses the same polynomial.
""", data(), idata()]
for isa, R, vw in [("AVX512", "Z", 64), ("AVX2", "Y", 32)]:
    bc = "VBROADCASTSS shift+16(FP), " + R + "6"
    out.append(loop(
        f"expSum{isa}", isa, R, vw, "(x *float32, n int, shift float32) (sum float32)", "$0-28",
        [bc, xor(R, 7)],
        [f"VMOVUPS (SI), {R}0", f"VSUBPS {R}6, {R}0, {R}0"] + exp(R, 0, 1, 2, 3) +
        [f"VMOVUPS {R}0, (SI)", f"VADDPS {R}0, {R}7, {R}7"],
        hreduce(R, "VADDPS", 7, 8, "sum+24(FP)")))
    out.append(loop(
        f"gelu{isa}", isa, R, vw, "(x *float32, n int)", "$0-16", [],
        # x = v·(g1 + g2·v²) = -2u;  gelu = v / (1 + exp(-2u))
        [f"VMOVUPS (SI), {R}4", f"VMULPS {R}4, {R}4, {R}0",
         f"VMOVUPS {c('g2')}, {R}5", f"VFMADD213PS {c('g1')}, {R}0, {R}5",
         f"VMULPS {R}4, {R}5, {R}0"] + exp(R, 0, 1, 2, 3) +
        [f"VADDPS {c('one')}, {R}0, {R}0", f"VDIVPS {R}0, {R}4, {R}4", f"VMOVUPS {R}4, (SI)"]))
    out.append(loop(
        f"silu{isa}", isa, R, vw, "(x *float32, n int)", "$0-16", [],
        # silu = v / (1 + exp(-v))
        [f"VMOVUPS (SI), {R}4", xor(R, 0), f"VSUBPS {R}4, {R}0, {R}0"] + exp(R, 0, 1, 2, 3) +
        [f"VADDPS {c('one')}, {R}0, {R}0", f"VDIVPS {R}0, {R}4, {R}4", f"VMOVUPS {R}4, (SI)"]))
    out.append(loop(
        f"scaleMax{isa}", isa, R, vw, "(x *float32, n int, scale float32) (max float32)", "$0-28",
        ["VBROADCASTSS scale+16(FP), " + R + "6", f"VMOVUPS {c('ninf')}, {R}7"],
        # x *= scale; acc = max(acc, x)
        [f"VMULPS (SI), {R}6, {R}0", f"VMOVUPS {R}0, (SI)", f"VMAXPS {R}0, {R}7, {R}7"],
        hreduce(R, "VMAXPS", 7, 8, "max+24(FP)")))
    # Elementwise passes of a model's residual stream, rounding as the scalar
    # Go code (act_exp.go) does: a product, then a sum, never fused.
    out.append(loop(
        f"addGated{isa}", isa, R, vw, "(x *float32, n int, o, gate *float32)", "$0-32",
        ["MOVQ o+16(FP), DI", "MOVQ gate+24(FP), DX"],
        # x += gate·o
        [f"VMOVUPS (DI), {R}0", f"VMULPS (DX), {R}0, {R}0", f"VADDPS (SI), {R}0, {R}0",
         f"VMOVUPS {R}0, (SI)", f"ADDQ ${vw}, DI", f"ADDQ ${vw}, DX"]))
    out.append(loop(
        f"addInto{isa}", isa, R, vw, "(x *float32, n int, o *float32)", "$0-24",
        ["MOVQ o+16(FP), DI"],
        [f"VMOVUPS (DI), {R}0", f"VADDPS (SI), {R}0, {R}0", f"VMOVUPS {R}0, (SI)", f"ADDQ ${vw}, DI"]))
    out.append(loop(
        f"scaleShift{isa}", isa, R, vw, "(x *float32, n int, scale, shift *float32)", "$0-32",
        ["MOVQ scale+16(FP), DI", "MOVQ shift+24(FP), DX"],
        # x = x·(1+scale) + shift, (1+scale) rounded first
        [f"VMOVUPS {c('one')}, {R}0", f"VADDPS (DI), {R}0, {R}0", f"VMULPS (SI), {R}0, {R}0",
         f"VADDPS (DX), {R}0, {R}0", f"VMOVUPS {R}0, (SI)", f"ADDQ ${vw}, DI", f"ADDQ ${vw}, DX"]))
    # The FP8 products' float32 fallback (bf16.go): A rounded to BF16 with
    # each pair of K swapped, and the row scale (and bias) applied to the
    # sums, a product then a sum as the BF16 kernel's VMULPS and VADDPS.
    out.append(loop(
        f"roundSwap{isa}", isa, R, vw, "(x *float32, n int, o *float32)", "$0-24",
        ["MOVQ o+16(FP), DI"],
        # o[i^1] = bf16(x[i])
        [f"VMOVUPS (SI), {R}0"] + round_swap(R) + [f"VMOVUPS {R}1, (DI)", f"ADDQ ${vw}, DI"]))
    out.append(loop(
        f"mulAdd{isa}", isa, R, vw, "(x *float32, n int, scale, bias *float32)", "$0-32",
        ["MOVQ scale+16(FP), DI", "MOVQ bias+24(FP), DX"],
        # x = x·scale + bias
        [f"VMOVUPS (SI), {R}0", f"VMULPS (DI), {R}0, {R}0", f"VADDPS (DX), {R}0, {R}0",
         f"VMOVUPS {R}0, (SI)", f"ADDQ ${vw}, DI", f"ADDQ ${vw}, DX"]))
    out.append(loop(
        f"mulInto{isa}", isa, R, vw, "(x *float32, n int, scale *float32)", "$0-24",
        ["MOVQ scale+16(FP), DI"],
        [f"VMOVUPS (SI), {R}0", f"VMULPS (DI), {R}0, {R}0", f"VMOVUPS {R}0, (SI)", f"ADDQ ${vw}, DI"]))
open("act_amd64.s", "w").write("\n".join(out))
