// Package api serves reel over HTTP for people and programs that do not
// speak NATS: an OpenAI-compatible Videos API (/v1/videos, so the official
// SDKs work unchanged), live progress as Server-Sent Events, a web UI at /
// (embedded, no build step) and, when the caller wires one, /metrics.
//
// The API is a client of the bus like `reel submit`: it publishes prompts
// and reads job state from the job record and the events stream. It sees
// them only through Backend, so the server can be tested and run against
// any implementation of it (NewBusBackend is the real one).
//
// API keys (Authorization: Bearer) identify owners: a key sees only the
// videos it created. Without keys the API is open, which Listen refuses on
// anything but a loopback address.
package api
