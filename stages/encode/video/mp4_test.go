package video

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"
)

// topBoxes lists the top-level MP4 box types of a file.
func topBoxes(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for off := 0; off+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[off:]))
		types = append(types, string(b[off+4:off+8]))
		if size == 1 && off+16 <= len(b) {
			size = int(binary.BigEndian.Uint64(b[off+8:]))
		}
		if size < 8 {
			t.Fatalf("bad box size %d at %d", size, off)
		}
		off += size
	}
	return types
}

// TestMoovBeforeMdat: both paths write a progressive file whose moov comes
// before mdat (what +faststart does), so playback starts before the whole
// file is downloaded; and neither is fragmented.
func TestMoovBeforeMdat(t *testing.T) {
	needTool(t, "ffmpeg")
	for _, ff := range []string{"", "none"} {
		path := tempPath(t, "boxes.mp4")
		var lb bytes.Buffer
		encode(t, context.Background(), path, Options{Width: tw, Height: th, FPS: tfps, FFmpeg: ff}, synthFrames(16, tw, th), testLog(&lb))
		types := topBoxes(t, path)
		moov, mdat := -1, -1
		for i, ty := range types {
			switch ty {
			case "moov":
				moov = i
			case "mdat":
				mdat = i
			case "moof":
				t.Fatalf("FFmpeg=%q: fragmented file %v", ff, types)
			}
		}
		if types[0] != "ftyp" || moov < 0 || mdat < 0 || moov > mdat {
			t.Fatalf("FFmpeg=%q: boxes %v, want ftyp … moov … mdat", ff, types)
		}
	}
}
