// Package mem keeps reel's stages inside their memory: it finds a process's
// budget (--mem-budget, cgroup, GOMEMLIMIT, physical memory), estimates the
// peak a request needs before a stage takes it, decides admission (take it,
// leave it for another worker, or fail the job plainly), and reads the
// process's RSS for heartbeats.
//
// The seed of the project is a process SIGKILLed while decoding a video. The
// answer here is arithmetic done before the work: every estimate is weights
// resident + peak live activations (with the Go heap's headroom) + runtime
// overhead, and tests check them against peaks measured in child processes.
//
// Estimates start from what the engine declares after Load (a
// protocol.Manifest: the weights' resident and file sizes, the latent and
// frame geometry, the text shape) plus the model's layer widths (Arch);
// each stage's descriptor says which estimate its messages need.
//
// The package links no NATS (only the wire types of bus/protocol) and not
// the stage runner: admission errors wrap this package's ErrRetryLater /
// ErrTooBig, which the policy in stages/pipeline turns into waiting,
// handing the message over, or failing the job.
package mem
