package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every reel metric.
const Namespace = "reel"

// Metrics is one process's registry and reel's collectors in it.
type Metrics struct {
	reg *prometheus.Registry

	jobs       *prometheus.GaugeVec
	jobsEnded  *prometheus.CounterVec
	jobSeconds prometheus.Observer

	handleSeconds *prometheus.HistogramVec
	stepSeconds   prometheus.Observer
	chunkSeconds  prometheus.Observer
	inFlight      *prometheus.GaugeVec
	redeliveries  *prometheus.CounterVec

	memBudget, memUsed, gpuBudget, gpuUsed *prometheus.GaugeVec
}

// New builds the registry with the Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		reg.MustRegister(g)
		return g
	}
	hist := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
		reg.MustRegister(h)
		return h
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	// Steps and chunks take milliseconds on reel-tiny and seconds on a real
	// model; whole jobs from a second to many minutes.
	fine := prometheus.ExponentialBuckets(0.001, 2.5, 14)
	coarse := prometheus.ExponentialBuckets(0.1, 2, 14)
	return &Metrics{
		reg:           reg,
		jobs:          f("jobs", "Job records by state.", "state"),
		jobsEnded:     counter("jobs_ended_total", "Jobs that reached a terminal state while this process watched.", "state"),
		jobSeconds:    hist("job_seconds", "End-to-end latency of succeeded jobs, submission to stored video.", coarse).WithLabelValues(),
		handleSeconds: hist("stage_handle_seconds", "Time a stage handler took per message.", fine, "stage", "outcome"),
		stepSeconds:   hist("denoise_step_seconds", "Time of one denoise step.", fine).WithLabelValues(),
		chunkSeconds:  hist("chunk_decode_seconds", "Time to decode one latent chunk into frames.", fine).WithLabelValues(),
		inFlight:      f("stage_in_flight", "Messages a stage handler is working on in this process.", "stage"),
		redeliveries:  counter("stage_redeliveries_total", "Messages handled on a second or later delivery.", "stage"),
		memBudget:     f("memory_budget_bytes", "A worker's memory budget.", "stage", "worker"),
		memUsed:       f("memory_used_bytes", "A worker's memory in use.", "stage", "worker"),
		gpuBudget:     f("gpu_memory_budget_bytes", "A pinned worker's GPU memory budget.", "stage", "worker", "device"),
		gpuUsed:       f("gpu_memory_used_bytes", "A pinned worker's GPU memory in use.", "stage", "worker", "device"),
	}
}

// Registry is the registry, for more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
