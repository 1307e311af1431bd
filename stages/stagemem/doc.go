// Package stagemem is an in-memory transport for stage handlers, the second
// implementation of stages.Delivery beside the JetStream one in
// stages/worker (the idea of Watermill's gochannel pub/sub).
//
// A Bus holds a stream of write-once subjects, a blobs bucket and the
// recorded events; Deliver hands one of its messages to a handler. It is for
// unit tests of handlers (no NATS server, no network) and for embedding a
// handler in-process. It keeps the promises handlers depend on, exactly as
// the JetStream delivery does: a second publish on a subject is a dropped
// duplicate, published envelopes inherit the delivered job, stage, attempt
// and settings, Follow yields matching messages in stream order from the
// start (those published later too), and a context that has ended refuses
// publishes, blobs and events. It keeps no history beyond the process and
// has no acks, redelivery or retention: those are the runner's.
//
// It links no NATS.
package stagemem
