package mem

// Arch is what the estimates need to know about the model and how the
// engine (package model) keeps it in memory. ReelTiny describes the built-in
// model; the numbers mirror reel_tiny.py's CONFIG and model.Load's storage
// choices, and the tests check them against the real engine (live heap
// after Load, embedded file sizes), so a change there fails here first.
type Arch struct {
	TextVocab, TextLen, TextDim, TextLayers int
	DiTDim, DiTLayers, DiTHeads             int
	LatentChannels                          int
	PatchIn                                 int // latent channels × patch volume (8·1·2·2)
	LatentSide                              int // latent height = width (8)
	PixelSide                               int // video height = width (64)
	LatentFramesPerChunk, FramesPerChunk    int
	VAEChannels                             [4]int

	// Checkpoint sizes in bytes. The built-in ones are embedded in the
	// binary: their pages become resident when Load parses them and stay
	// (file-backed, but counted in RSS). A DiT given by path instead is read
	// into the heap during Load and dropped.
	DiTFileFP8, DiTFileBF16, TextFile, VAEFile int64
}

// ReelTiny is the built-in reel-tiny model.
func ReelTiny() Arch {
	return Arch{
		TextVocab: 259, TextLen: 96, TextDim: 256, TextLayers: 4,
		DiTDim: 256, DiTLayers: 6, DiTHeads: 4,
		LatentChannels: 8, PatchIn: 32, LatentSide: 8, PixelSide: 64,
		LatentFramesPerChunk: 4, FramesPerChunk: 16,
		VAEChannels: [4]int{128, 64, 32, 16},
		DiTFileFP8:  7763088, DiTFileBF16: 13970552, TextFile: 6486344, VAEFile: 3823574,
	}
}

const f32 = 4 // bytes per float32

// textWeights: every text encoder tensor is widened to float32.
func (a Arch) textWeights() int64 {
	d := int64(a.TextDim)
	perLayer := 4*d + 12*d*d // two LayerNorms (w, b); qkv 3d², out d², fc1 4d², fc2 4d²
	return f32 * (int64(a.TextVocab)*d + int64(a.TextLen)*d + int64(a.TextLayers)*perLayer + 2*d)
}

// ditWeights: block linears are FP8 codes (1 byte) with a float32 scale per
// output row, or float32 when the checkpoint is not FP8. The small layers
// outside the blocks (timestep MLP, AdaLN, caption MLP: model's
// smallLinear) keep BF16 weights with an FP8 checkpoint ("compact", since
// the point of FP8 is memory) and widen to float32 otherwise; their biases
// and everything else are float32.
func (a Arch) ditWeights(fp8 bool) int64 {
	d := int64(a.DiTDim)
	hd := d / int64(a.DiTHeads)
	const linearsPerD2 = 16           // qkv 3, out1 1, q2 1, kv2 2, out2 1, fc1 4, fc2 4 (in units of d²)
	const rowsPerD = 13               // output rows of those linears, in units of d
	block := f32 * (6*d + 4*hd + 2*d) // AdaLN table, four QK norms, norm2 w and b
	smallW := int64(f32)
	if fp8 {
		block += linearsPerD2*d*d + f32*rowsPerD*d
		smallW = 2
	} else {
		block += f32 * linearsPerD2 * d * d
	}
	const timestepDim = 256 // t_fc1's input, fixed by reel_tiny.py
	pin := int64(a.PatchIn)
	small := smallW*(timestepDim*d+d*d+6*d*d+int64(a.TextDim)*d+d*d) + // t_fc1, t_fc2, adaln, cap_fc1, cap_fc2
		f32*(d+d+6*d+d+d) // their biases
	rest := f32 * (pin*d + d + // patch_embed
		2*d + // final table
		pin*d + pin) // proj_out
	return int64(a.DiTLayers)*block + small + rest
}

// vaeWeights: every VAE decoder tensor is widened to float32.
func (a Arch) vaeWeights() int64 {
	conv := func(cout, cin, kt, kh, kw int) int64 { return int64(cout*cin*kt*kh*kw + cout) }
	c0, c1, c2, c3 := a.VAEChannels[0], a.VAEChannels[1], a.VAEChannels[2], a.VAEChannels[3]
	res := func(ch, kt int) int64 { return 2*conv(ch, ch, kt, 3, 3) + 2*int64(ch) }
	n := conv(c0, a.LatentChannels, 3, 3, 3) + res(c0, 3) +
		conv(c1*8, c0, 1, 3, 3) + res(c1, 3) +
		conv(c2*8, c1, 1, 3, 3) + res(c2, 1) +
		conv(c3*4, c2, 1, 3, 3) + int64(c3) +
		conv(3, c3, 1, 3, 3) + 2*int64(a.LatentChannels) // latent mean and std
	return f32 * n
}

// Weights is the heap the engine keeps after Load.
func (a Arch) Weights(fp8 bool) int64 {
	return a.textWeights() + a.ditWeights(fp8) + a.vaeWeights()
}

// filePages is the embedded checkpoints Load reads (resident afterwards).
func (a Arch) filePages(fp8 bool) int64 {
	n := a.TextFile + a.VAEFile
	if fp8 {
		n += a.DiTFileFP8
	}
	return n
}
