// Package video turns a job's decoded RGB24 chunks into a browser-playable
// MP4 plus a poster PNG and an animated GIF preview.
//
// Two encoders sit behind one Writer:
//
//   - ffmpeg (default): raw rgb24 is piped to ffmpeg/libx264 as chunks
//     arrive, producing H.264 yuv420p (High profile), +faststart, tagged
//     BT.709 limited range. The process is started by NewWriter, killed on
//     context cancel or Abort, reaped before the writer returns, and on Linux
//     receives SIGKILL if our process dies (Pdeathsig).
//   - pure Go: when ffmpeg is disabled (FFmpeg "none"), missing, or fails at
//     any point, the kept frames are encoded as H.264 Constrained Baseline
//     with every macroblock I_PCM — lossless in YUV 4:2:0, about 12 bits per
//     pixel — and muxed with mp4ff into a progressive MP4 (ftyp, moov, mdat).
//     A fallback from a wanted ffmpeg logs exactly one warning and sets
//     Result.FallbackReason; it never fails the job.
//
// Use: NewWriter, then WriteChunk for each chunk in order, then Close (the
// MP4 appears at path only when Close succeeds, by rename). NewSpareWriter
// is NewWriter on an ffmpeg started earlier (StartSpare), so that ffmpeg's
// start-up is not what a job ends up waiting for. Every Writer must
// end in Close or Abort; `defer w.Abort()` is safe, as Abort after a
// successful Close does nothing. Cancelling the context or calling Abort ends
// the job with an error (context.Canceled, ErrAborted), never a fallback.
// Options.Validate checks job settings up front.
//
// Previews: the poster is the first frame; the GIF has one median-cut
// palette over every pixel of the video. Its histogram is gathered as
// frames are emitted, so Close is left with per-colour work and LZW, which
// it does while ffmpeg finishes the MP4 (palette.go, preview.go).
//
// Colour: both paths convert RGB to BT.709 limited range (see yuv.go), so the
// two outputs decode to the same colours and the pure-Go file decodes to
// exactly RGBToYUV420 of the input.
//
// Seam blend: chunks are decoded independently, so consecutive chunks jump
// at their boundary. Like Step-Video, the writer mixes the last frame of a
// chunk with the first of the next, both ways (Options.SeamBlend, the weight
// taken from the neighbour). The default, 0.3, was chosen on real reel-tiny
// output: unblended, the largest frame-to-frame step around a boundary is
// 2.8× the typical step inside a chunk; 0.3 brings it to 1.5× (0.4,
// Step-Video's value, 1.6×; 0.2, 1.8×), with less double exposure than 0.4 when
// a shape changes across the boundary. Details and the contact sheet:
// docs/seam-blend.md, testdata/seam-sheet.png, internal/seamsheet.
package video
