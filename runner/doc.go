// Package runner runs a model in a separate runner process, ollama-style:
// the stage schedules, the runner computes, over the local protocol of
// docs/runner.md (length-prefixed msgpack frames on the child's stdin and
// stdout; stderr is its log).
//
// Start launches the runner command, sends hello with the checkpoint paths
// and waits for the model's manifest; the returned *Engine has the calls the
// stages use (EncodeText, Sample, DecodeChunk) plus Manifest and Health. A
// runner that crashes, hangs (stops answering health pings) or breaks the
// protocol is killed; the call in flight fails with an error matching
// ErrTransient, so the stage's message is redelivered, and the next call
// starts a fresh runner after an exponential backoff. The child gets
// SIGKILL when the parent dies (Linux parent-death signal) and on Close.
//
// Nothing here is specific to PyTorch except TorchCommand, which builds the
// command line of the bundled runner in runner/torch.
package runner
