// Package bus is reel's transport: an embedded nats-server, the JetStream
// layout (streams, durable consumers, KV buckets, object store), the subject
// scheme, schema-versioned msgpack envelopes with tensors, and the object-store
// claim check for bodies larger than the server's max_payload.
//
// Layout (all streams use Limits retention so that every stage input stays
// replayable until MaxAge/MaxBytes remove it):
//
//	stream REEL         reel.prompt.<job>            job request
//	                    reel.text.<job>              text embeddings (cond + uncond)
//	                    reel.latent.<job>.<chunk>    one normalised latent chunk
//	                    reel.frames.<job>.<chunk>    16 RGB24 frames of one chunk
//	                    reel.video.<job>             video ready
//	stream REEL_EVENTS  reel.events.<job>            progress / state events (JSON)
//	stream REEL_DLQ     $JS.EVENT.ADVISORY.CONSUMER.{MAX_DELIVERIES,MSG_TERMINATED}.REEL.>
//	KV reel-jobs        <job> -> job record (JSON)
//	KV reel-workers     <stage>.<worker> -> worker heartbeat (JSON, TTL)
//	object store reel-blobs  videos, previews, claim-checked bodies
//
// Every stage output subject is write-once: it is published with
// Nats-Expected-Last-Subject-Sequence: 0 (and Nats-Msg-Id = subject), so a
// redelivered or re-run handler can never add a second message for the same
// chunk. A deliberate re-run (replay) gets a new job id linked to the
// original, hence fresh subjects.
package bus
