// Package stages is the runner every pipeline stage uses, in its own process
// (`reel stage X`) or in-process (`reel generate`, `reel server --stages`):
// the same code path either way.
//
// A Runner pulls from the stage's durable consumer one message per worker
// slot (no prefetch), decodes the envelope, checks the job (cancelled,
// past its deadline), asks the admission hook, runs the handler under
// middleware while heartbeating InProgress, and then acks, naks with a delay
// (retry with backoff, or "retry later" from admission) or terminates with a
// reason (malformed input, permanent errors, MaxDeliver reached) after
// failing the job.
package stages
