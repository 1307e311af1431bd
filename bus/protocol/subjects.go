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

// Kinds of messages on stream REEL (the second subject token).
const (
	KindPrompt = "prompt"
	KindText   = "text"
	KindLatent = "latent"
	KindFrames = "frames"
	KindVideo  = "video"
)

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
