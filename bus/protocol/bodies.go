package protocol

// TextBody is published by textenc on reel.text.<job>.
type TextBody struct {
	Cond       Tensor `msgpack:"cond"` // f32 [L, D]
	CondMask   []bool `msgpack:"cond_mask"`
	Uncond     Tensor `msgpack:"uncond"` // f32 [L, D]
	UncondMask []bool `msgpack:"uncond_mask"`
}

// LatentBody is one normalised latent chunk on reel.latent.<job>.<chunk>
// (chunk index and count are in the envelope).
type LatentBody struct {
	Latent Tensor `msgpack:"latent"` // f32 [C, 4, h, w]
}

// FramesBody is one decoded chunk on reel.frames.<job>.<chunk>.
type FramesBody struct {
	Frames Tensor `msgpack:"frames"` // u8 [16, H, W, 3] RGB24
}

// VideoBody is published by encode on reel.video.<job>.
type VideoBody struct {
	Video VideoInfo `msgpack:"video"`
}

// VideoInfo describes a finished video and where its files are.
type VideoInfo struct {
	Object         string  `msgpack:"object" json:"object"` // MP4 in the blobs bucket
	Poster         string  `msgpack:"poster,omitempty" json:"poster,omitempty"`
	GIF            string  `msgpack:"gif,omitempty" json:"gif,omitempty"`
	Encoder        string  `msgpack:"encoder" json:"encoder"` // "ffmpeg" | "purego"
	FallbackReason string  `msgpack:"fallback_reason,omitempty" json:"fallback_reason,omitempty"`
	Frames         int     `msgpack:"frames" json:"frames"`
	FPS            int     `msgpack:"fps" json:"fps"`
	Width          int     `msgpack:"width" json:"width"`
	Height         int     `msgpack:"height" json:"height"`
	Bytes          int     `msgpack:"bytes" json:"bytes"`
	Seconds        float64 `msgpack:"seconds" json:"seconds"`
	FramesSHA256   string  `msgpack:"frames_sha256" json:"frames_sha256"` // hash of all RGB24 frames in order
	// SHA256 is the hash of the stored MP4: a download is checked against
	// it, so that an overwritten object is an error, not a file.
	SHA256 string `msgpack:"sha256,omitempty" json:"sha256,omitempty"`
}

// VideoObject etc. are the blob names of a job's outputs.
func VideoObject(job string) string  { return "video/" + job + ".mp4" }
func PosterObject(job string) string { return "video/" + job + ".png" }
func GIFObject(job string) string    { return "video/" + job + ".gif" }
