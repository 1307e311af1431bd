package protocol

// Headers carried by every stage message (outside the reserved Nats- prefix),
// readable even when the body is not.
const (
	HeaderJob    = "Reel-Job"
	HeaderStage  = "Reel-Stage"
	HeaderSchema = "Reel-Schema"
	HeaderChunk  = "Reel-Chunk"
	// HeaderDeadline (RFC 3339) on a prompt message sets the job's
	// deadline; past it the job fails.
	HeaderDeadline = "Reel-Deadline"
)
