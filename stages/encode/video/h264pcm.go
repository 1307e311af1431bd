package video

// A minimal H.264 encoder: Constrained Baseline, every picture an IDR slice,
// every macroblock I_PCM. I_PCM carries the 4:2:0 samples verbatim, so the
// stream is lossless in YUV and needs no transform, prediction or entropy
// coder — a few hundred lines instead of an encoder. The cost is size
// (12 bits/pixel: ~400 kbit/s for 64×64 at 8 fps), which is fine as a
// fallback. Every decoder must support I_PCM, and Constrained Baseline is
// the profile every browser plays.

// bitWriter writes an RBSP most-significant bit first.
type bitWriter struct {
	buf  []byte
	cur  byte
	nbit uint // bits used in cur
}

func (b *bitWriter) bit(v uint) {
	b.cur = b.cur<<1 | byte(v&1)
	b.nbit++
	if b.nbit == 8 {
		b.buf = append(b.buf, b.cur)
		b.cur, b.nbit = 0, 0
	}
}

func (b *bitWriter) bits(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		b.bit(uint(v >> uint(i)))
	}
}

// ue writes unsigned Exp-Golomb.
func (b *bitWriter) ue(v uint32) {
	x := uint64(v) + 1
	n := 0
	for t := x; t > 1; t >>= 1 {
		n++
	}
	b.bits(0, n)
	b.bits(x, n+1)
}

// se writes signed Exp-Golomb.
func (b *bitWriter) se(v int32) {
	if v > 0 {
		b.ue(uint32(2*v - 1))
	} else {
		b.ue(uint32(-2 * v))
	}
}

// alignZero pads with zero bits to a byte boundary (pcm_alignment_zero_bit).
func (b *bitWriter) alignZero() {
	for b.nbit != 0 {
		b.bit(0)
	}
}

// trailing writes rbsp_trailing_bits.
func (b *bitWriter) trailing() {
	b.bit(1)
	b.alignZero()
}

// bytes appends whole bytes; the writer must be aligned.
func (b *bitWriter) bytes(p []byte) { b.buf = append(b.buf, p...) }

// NAL unit types and the nal_ref_idc used for all of them (every NAL here
// is a reference: parameter sets and IDR slices).
const (
	nalIDR    = 5
	nalSPS    = 7
	nalPPS    = 8
	nalRefIdc = 3
	mbIPCM    = 25 // mb_type of I_PCM in an I slice
)

// nal wraps an RBSP into a NAL unit (no start code, no length): header byte
// then the payload with emulation prevention — a 0x03 after any two zero
// bytes that precede a byte <= 3, so no start code appears inside.
func nal(typ byte, rbsp []byte) []byte {
	out := make([]byte, 0, len(rbsp)+len(rbsp)/64+2)
	out = append(out, nalRefIdc<<5|typ)
	zeros := 0
	for _, c := range rbsp {
		if zeros == 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// h264Level picks the lowest level (Table A-1) whose frame size, macroblock
// rate and Baseline bit rate fit an I_PCM stream of these dimensions.
func h264Level(mbW, mbH, fps int) byte {
	levels := []struct {
		idc       byte
		maxMBPS   int
		maxFS     int
		maxBRkbps int // Baseline/Main: 1000 bits per unit
	}{
		{10, 1485, 99, 64}, {11, 3000, 396, 192}, {12, 6000, 396, 384},
		{13, 11880, 396, 768}, {20, 11880, 396, 2000}, {21, 19800, 792, 4000},
		{22, 20250, 1620, 4000}, {30, 40500, 1620, 10000}, {31, 108000, 3600, 14000},
		{32, 216000, 5120, 20000}, {40, 245760, 8192, 20000}, {41, 245760, 8192, 50000},
		{42, 522240, 8704, 50000}, {50, 589824, 22080, 135000}, {51, 983040, 36864, 240000},
		{52, 2073600, 36864, 240000},
	}
	fs := mbW * mbH
	mbps := fs * fps
	// 384 sample bytes per macroblock plus a generous allowance for the
	// mb_type code, alignment and slice/NAL headers.
	kbps := (fs*(384*8+16) + 512) * fps / 1000
	for _, l := range levels {
		if fs <= l.maxFS && mbps <= l.maxMBPS && kbps <= l.maxBRkbps {
			return l.idc
		}
	}
	return 52 // beyond 5.2 nothing fits anyway; decoders still decode it
}

// pcmStream holds the parameter sets for one video size.
type pcmStream struct {
	w, h, mbW, mbH int
	sps, pps       []byte // NAL units without start code or length
}

func newPCMStream(w, h, fps int) *pcmStream {
	s := &pcmStream{w: w, h: h, mbW: (w + 15) / 16, mbH: (h + 15) / 16}
	s.sps = nal(nalSPS, s.spsRBSP(fps))
	s.pps = nal(nalPPS, ppsRBSP())
	return s
}

func (s *pcmStream) spsRBSP(fps int) []byte {
	var b bitWriter
	b.bits(66, 8) // profile_idc: Baseline
	// constraint_set0 (Baseline) and constraint_set1 (Main-compatible):
	// together, Constrained Baseline.
	b.bits(0b11000000, 8)
	b.bits(uint64(h264Level(s.mbW, s.mbH, fps)), 8)
	b.ue(0)  // seq_parameter_set_id
	b.ue(0)  // log2_max_frame_num_minus4: frame_num is 4 bits (always 0 here)
	b.ue(2)  // pic_order_cnt_type 2: output order = decode order, no POC in slices
	b.ue(1)  // max_num_ref_frames
	b.bit(0) // gaps_in_frame_num_value_allowed_flag
	b.ue(uint32(s.mbW - 1))
	b.ue(uint32(s.mbH - 1))
	b.bit(1)                                           // frame_mbs_only_flag
	b.bit(1)                                           // direct_8x8_inference_flag
	cropR, cropB := (s.mbW*16-s.w)/2, (s.mbH*16-s.h)/2 // 4:2:0 crop unit is 2
	if cropR != 0 || cropB != 0 {
		b.bit(1)
		b.ue(0)
		b.ue(uint32(cropR))
		b.ue(0)
		b.ue(uint32(cropB))
	} else {
		b.bit(0)
	}
	b.bit(1) // vui_parameters_present_flag
	s.vui(&b, fps)
	b.trailing()
	return b.buf
}

// vui signals BT.709 limited range (so players use the matrix the samples
// were made with), the frame rate, and that no frame is reordered or held
// back (max_dec_frame_buffering 1), so decoders output each frame at once.
func (s *pcmStream) vui(b *bitWriter, fps int) {
	b.bit(0)                  // aspect_ratio_info_present_flag
	b.bit(0)                  // overscan_info_present_flag
	b.bit(1)                  // video_signal_type_present_flag
	b.bits(5, 3)              // video_format: unspecified
	b.bit(0)                  // video_full_range_flag: limited (16..235/240)
	b.bit(1)                  // colour_description_present_flag
	b.bits(1, 8)              // colour_primaries: BT.709
	b.bits(1, 8)              // transfer_characteristics: BT.709
	b.bits(1, 8)              // matrix_coefficients: BT.709
	b.bit(0)                  // chroma_loc_info_present_flag
	b.bit(1)                  // timing_info_present_flag
	b.bits(1, 32)             // num_units_in_tick
	b.bits(uint64(2*fps), 32) // time_scale: two ticks per frame
	b.bit(1)                  // fixed_frame_rate_flag
	b.bit(0)                  // nal_hrd_parameters_present_flag
	b.bit(0)                  // vcl_hrd_parameters_present_flag
	b.bit(0)                  // pic_struct_present_flag
	b.bit(1)                  // bitstream_restriction_flag
	b.bit(1)                  // motion_vectors_over_pic_boundaries_flag
	b.ue(0)                   // max_bytes_per_pic_denom
	b.ue(0)                   // max_bits_per_mb_denom
	b.ue(16)                  // log2_max_mv_length_horizontal
	b.ue(16)                  // log2_max_mv_length_vertical
	b.ue(0)                   // max_num_reorder_frames
	b.ue(1)                   // max_dec_frame_buffering
}

func ppsRBSP() []byte {
	var b bitWriter
	b.ue(0)  // pic_parameter_set_id
	b.ue(0)  // seq_parameter_set_id
	b.bit(0) // entropy_coding_mode_flag: CAVLC
	b.bit(0) // bottom_field_pic_order_in_frame_present_flag
	b.ue(0)  // num_slice_groups_minus1
	b.ue(0)  // num_ref_idx_l0_default_active_minus1
	b.ue(0)  // num_ref_idx_l1_default_active_minus1
	b.bit(0) // weighted_pred_flag
	b.bits(0, 2)
	b.se(0)  // pic_init_qp_minus26
	b.se(0)  // pic_init_qs_minus26
	b.se(0)  // chroma_qp_index_offset
	b.bit(1) // deblocking_filter_control_present_flag: lets slices turn it off
	b.bit(0) // constrained_intra_pred_flag
	b.bit(0) // redundant_pic_cnt_present_flag
	b.trailing()
	return b.buf
}

// frameNAL encodes one I420 frame (s.w×s.h) as an IDR slice NAL unit.
// idrPicID must differ between consecutive IDR pictures, so callers alternate
// 0 and 1. Samples beyond the picture (when the size is not a multiple of 16)
// repeat the edge; the SPS crops them away.
func (s *pcmStream) frameNAL(yuv []byte, idrPicID uint32) []byte {
	var b bitWriter
	b.buf = make([]byte, 0, s.mbW*s.mbH*(384+1)+16)
	b.ue(0)      // first_mb_in_slice
	b.ue(7)      // slice_type: I, and all slices of the picture are I
	b.ue(0)      // pic_parameter_set_id
	b.bits(0, 4) // frame_num: 0 for IDR
	b.ue(idrPicID)
	b.bit(0) // no_output_of_prior_pics_flag
	b.bit(0) // long_term_reference_flag
	b.se(0)  // slice_qp_delta
	// disable_deblocking_filter_idc 1. I_PCM macroblocks have qP 0, where
	// the filter thresholds are 0, so deblocking would change nothing anyway;
	// turning it off says so and spares the decoder the work.
	b.ue(1)

	w, h := s.w, s.h
	cw, ch := w/2, h/2
	yp, cb, cr := yuv[:w*h], yuv[w*h:w*h+cw*ch], yuv[w*h+cw*ch:]
	var mb [384]byte
	for my := 0; my < s.mbH; my++ {
		for mx := 0; mx < s.mbW; mx++ {
			b.ue(mbIPCM)
			b.alignZero()
			copyBlock(mb[:256], yp, w, h, mx*16, my*16, 16)
			copyBlock(mb[256:320], cb, cw, ch, mx*8, my*8, 8)
			copyBlock(mb[320:384], cr, cw, ch, mx*8, my*8, 8)
			b.bytes(mb[:])
		}
	}
	b.trailing()
	return nal(nalIDR, b.buf)
}

// copyBlock copies an n×n block at (x0,y0) of a w×h plane, clamping
// coordinates at the edges.
func copyBlock(dst, plane []byte, w, h, x0, y0, n int) {
	for y := 0; y < n; y++ {
		sy := min(y0+y, h-1)
		for x := 0; x < n; x++ {
			sx := min(x0+x, w-1)
			dst[y*n+x] = plane[sy*w+sx]
		}
	}
}
