// Package metrics exposes a reel process to Prometheus
// (prometheus/client_golang) and to probes: jobs by state and their
// end-to-end latency (from the job records), per-stage handle durations,
// denoise step and chunk decode seconds, in-flight messages and
// redeliveries (a stage middleware, so the runner needs no hook), consumer
// lag and dead letters (read from the server at scrape time), and memory
// and GPU memory from the worker heartbeat's Describe hook. Probes serves
// /healthz, /readyz and /metrics for processes without the HTTP API.
package metrics
