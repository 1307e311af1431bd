// Package stages is the contract between a pipeline stage's handler and
// whatever delivers its messages: Handler, the Delivery a handler sees,
// middleware (retry, recover, logging), the error classes the transport
// acts on, and the Descriptor every stage declares once, in its own package.
//
// It links no NATS: handlers (stages/textenc, denoise, vaedecode, encode)
// depend only on this package and bus/protocol, so each can be unit-tested
// on stages/stagemem's in-memory Delivery and served by stages/worker over
// JetStream (or by another transport) unchanged.
package stages
