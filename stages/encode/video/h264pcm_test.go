package video

import (
	"bytes"
	"testing"

	"github.com/Eyevinn/mp4ff/avc"
)

func TestExpGolomb(t *testing.T) {
	var b bitWriter
	// ue: 0→1, 1→010, 2→011, 3→00100; se(-1)=ue(2)→011
	b.ue(0)
	b.ue(1)
	b.ue(2)
	b.ue(3)
	b.se(-1)
	b.trailing()
	// 1 010 011 00100 011, then the stop bit: 1010 0110 0100 0111
	if want := []byte{0xA6, 0x47}; !bytes.Equal(b.buf, want) {
		t.Fatalf("got %x want %x", b.buf, want)
	}
}

func TestEmulationPrevention(t *testing.T) {
	got := nal(nalIDR, []byte{0, 0, 0, 0, 0, 1, 0, 0, 4, 0, 0, 3})
	want := []byte{0x65, 0, 0, 3, 0, 0, 3, 0, 1, 0, 0, 4, 0, 0, 3, 3}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
}

// TestSPSParses: mp4ff's independent SPS parser reads back our fields.
func TestSPSParses(t *testing.T) {
	s := newPCMStream(40, 24, 8)
	sps, err := avc.ParseSPSNALUnit(s.sps, true)
	if err != nil {
		t.Fatal(err)
	}
	if sps.Profile != 66 || sps.Width != 40 || sps.Height != 24 || !sps.FrameMbsOnlyFlag || sps.PicOrderCntType != 2 {
		t.Fatalf("sps %+v", sps)
	}
	if sps.VUI == nil || sps.VUI.MatrixCoefficients != 1 || sps.VUI.VideoFullRangeFlag || sps.VUI.TimeScale != 16 {
		t.Fatalf("vui %+v", sps.VUI)
	}
}

func TestLevel(t *testing.T) {
	// 64×64 at 8 fps ≈ 400 kbit/s of I_PCM: above 1.2's 384 kbit/s.
	if l := h264Level(4, 4, 8); l != 13 {
		t.Fatalf("64x64@8: level %d, want 13", l)
	}
	if l := h264Level(120, 68, 30); l != 52 {
		t.Fatalf("1920x1088@30: level %d, want 52", l)
	}
}
