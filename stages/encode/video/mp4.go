package video

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/Eyevinn/mp4ff/mp4"
)

// writePCMFile encodes RGB24 frames with the I_PCM encoder and writes a
// progressive MP4 to path: ftyp, moov, mdat — moov first, like ffmpeg's
// +faststart, so a browser can start playing before the download ends.
func writePCMFile(path string, frames [][]byte, o Options) error {
	if len(frames) == 0 {
		return errors.New("no frames")
	}
	s := newPCMStream(o.Width, o.Height, o.FPS)
	samples := make([][]byte, len(frames))
	var yuv []byte
	for i, f := range frames {
		yuv = RGBToYUV420(yuv, f, o.Width, o.Height)
		samples[i] = s.frameNAL(yuv, uint32(i%2))
	}
	return muxAVC(path, s.sps, s.pps, samples, o.FPS)
}

// muxAVC writes one H.264 track of sync samples (NAL units, one per sample)
// at a constant fps as a progressive MP4 with an avc1/avcC sample entry.
func muxAVC(path string, sps, pps []byte, nalus [][]byte, fps int) error {
	// Media timescale fps·1000 with a delta of 1000 per frame keeps every
	// timestamp exact for any integer fps.
	const delta = 1000
	timescale := uint32(fps * delta)
	n := uint32(len(nalus))
	mediaDur := uint64(n) * delta
	movieTimescale := uint32(1000)
	movieDur := uint64(n) * 1000 / uint64(fps)

	var mdatPayload uint64
	sizes := make([]uint32, n)
	for i, u := range nalus {
		sizes[i] = uint32(4 + len(u)) // AVCC: 4-byte length prefix
		mdatPayload += uint64(sizes[i])
	}
	if mdatPayload+8 > math.MaxUint32 {
		return fmt.Errorf("mdat of %d bytes needs 64-bit offsets", mdatPayload)
	}

	ftyp := mp4.NewFtyp("isom", 0x200, []string{"isom", "iso2", "avc1", "mp41"})
	moov := mp4.NewMoovBox()
	mvhd := mp4.CreateMvhd()
	mvhd.Timescale = movieTimescale
	mvhd.Duration = movieDur
	moov.AddChild(mvhd)

	trak := mp4.CreateEmptyTrak(1, timescale, "video", "und")
	moov.AddChild(trak)
	if err := trak.SetAVCDescriptor("avc1", [][]byte{sps}, [][]byte{pps}, true); err != nil {
		return err
	}
	trak.Tkhd.Duration = movieDur
	trak.Mdia.Mdhd.Duration = mediaDur
	stbl := trak.Mdia.Minf.Stbl
	stbl.Stts.SampleCount = []uint32{n}
	stbl.Stts.SampleTimeDelta = []uint32{delta}
	// One chunk holding every sample. No stss box: its absence means every
	// sample is a sync sample, which is true (all IDR).
	if err := stbl.Stsc.AddEntry(1, n, 1); err != nil {
		return err
	}
	stbl.Stsz.SampleNumber = n
	stbl.Stsz.SampleSize = sizes
	stbl.Stco.ChunkOffset = []uint32{0}
	// The offset does not change the box sizes, so compute it after.
	stbl.Stco.ChunkOffset[0] = uint32(ftyp.Size() + moov.Size() + 8)

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = ftyp.Encode(bw)
	if err == nil {
		err = moov.Encode(bw)
	}
	if err == nil {
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], uint32(8+mdatPayload))
		copy(hdr[4:], "mdat")
		_, err = bw.Write(hdr[:])
	}
	for _, u := range nalus {
		if err != nil {
			break
		}
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(u)))
		if _, err = bw.Write(l[:]); err == nil {
			_, err = bw.Write(u)
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
