package protocol

import (
	"fmt"
	"strconv"
	"strings"
)

// Stream, bucket and subject names.
const (
	StreamName       = "REEL"
	EventsStreamName = "REEL_EVENTS"
	DLQStreamName    = "REEL_DLQ"
	JobsBucket       = "reel-jobs"
	WorkersBucket    = "reel-workers"
	BlobsBucket      = "reel-blobs"

	SubjectPrefix = "reel"
	EventsPrefix  = "reel.events"
)

// Stage names. Each stage has one durable pull consumer, named
// "reel-<stage>", shared by all of its replicas.
const (
	StageTextEnc   = "textenc"
	StageDenoise   = "denoise"
	StageVAEDecode = "vaedecode"
	StageEncode    = "encode"
)

// Stages lists the pipeline in order.
func Stages() []string {
	return []string{StageTextEnc, StageDenoise, StageVAEDecode, StageEncode}
}

// Kinds of messages on stream REEL (the second subject token).
const (
	KindPrompt = "prompt"
	KindText   = "text"
	KindLatent = "latent"
	KindFrames = "frames"
	KindVideo  = "video"
)

// InputKind is the kind of message a stage consumes.
func InputKind(stage string) (string, error) {
	switch stage {
	case StageTextEnc:
		return KindPrompt, nil
	case StageDenoise:
		return KindText, nil
	case StageVAEDecode:
		return KindLatent, nil
	case StageEncode:
		return KindFrames, nil
	}
	return "", fmt.Errorf("unknown stage %q (want one of %s)", stage, strings.Join(Stages(), ", "))
}

// ConsumerName is the durable consumer of a stage.
func ConsumerName(stage string) string { return "reel-" + stage }

// ConsumerFilter is the filter subject of a stage's consumer. The encode
// stage is triggered by chunk 0 of a job's frames and reads the other chunks
// of that job itself, so that one encode worker assembles one whole video.
func ConsumerFilter(stage string) (string, error) {
	kind, err := InputKind(stage)
	if err != nil {
		return "", err
	}
	switch kind {
	case KindFrames:
		return "reel.frames.*.0", nil
	case KindLatent:
		return "reel.latent.*.*", nil
	}
	return "reel." + kind + ".*", nil
}

// PromptSubject etc. build subjects.
func PromptSubject(job string) string { return "reel.prompt." + job }
func TextSubject(job string) string   { return "reel.text." + job }
func LatentSubject(job string, chunk int) string {
	return "reel.latent." + job + "." + strconv.Itoa(chunk)
}
func FramesSubject(job string, chunk int) string {
	return "reel.frames." + job + "." + strconv.Itoa(chunk)
}
func FramesFilter(job string) string { return "reel.frames." + job + ".*" }
func LatentFilter(job string) string { return "reel.latent." + job + ".*" }
func VideoSubject(job string) string { return "reel.video." + job }
func EventSubject(job string) string { return EventsPrefix + "." + job }

// Subject is a parsed stage subject.
type Subject struct {
	Kind  string
	Job   string
	Chunk int // -1 when the kind has no chunk
}

// ParseSubject splits reel.<kind>.<job>[.<chunk>].
func ParseSubject(s string) (Subject, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 3 || parts[0] != SubjectPrefix {
		return Subject{}, fmt.Errorf("subject %q: not reel.<kind>.<job>", s)
	}
	out := Subject{Kind: parts[1], Job: parts[2], Chunk: -1}
	if err := ValidJobID(out.Job); err != nil {
		return Subject{}, fmt.Errorf("subject %q: %w", s, err)
	}
	switch out.Kind {
	case KindLatent, KindFrames:
		if len(parts) != 4 {
			return Subject{}, fmt.Errorf("subject %q: want reel.%s.<job>.<chunk>", s, out.Kind)
		}
		c, err := strconv.Atoi(parts[3])
		if err != nil || c < 0 {
			return Subject{}, fmt.Errorf("subject %q: bad chunk index %q", s, parts[3])
		}
		out.Chunk = c
	default:
		if len(parts) != 3 {
			return Subject{}, fmt.Errorf("subject %q: want reel.%s.<job>", s, out.Kind)
		}
	}
	return out, nil
}

// ValidJobID reports whether id can be used as one subject token and KV key.
func ValidJobID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("job id %q: must be 1..64 characters", id)
	}
	for _, r := range id {
		ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return fmt.Errorf("job id %q: only letters, digits, '-' and '_' allowed", id)
		}
	}
	return nil
}
