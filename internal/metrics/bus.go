package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
)

// busCollector reads the server's view at scrape time: each stage
// consumer's lag (what KEDA scales on), its redelivered messages, and the
// dead letters recorded in REEL_DLQ.
type busCollector struct {
	b                                         *bus.Bus
	stages                                    []string
	deadLetters                               bool
	pending, ackPending, redelivered, letters *prometheus.Desc
	up                                        *prometheus.Desc
}

// WatchBus adds the consumer lag of the named stages and, with
// deadLetters, the dead-letter count: a stage process reports its own
// consumer, the server or gateway every one, so that no series is reported
// twice.
func (m *Metrics) WatchBus(b *bus.Bus, stages []string, deadLetters bool) {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	m.reg.MustRegister(&busCollector{
		b:           b,
		stages:      stages,
		deadLetters: deadLetters,
		pending:     d("consumer_pending_messages", "Messages a stage's consumer has not delivered yet.", "stage"),
		ackPending:  d("consumer_ack_pending_messages", "Messages delivered to a stage and not yet acknowledged.", "stage"),
		redelivered: d("consumer_redelivered_messages", "Messages delivered to a stage more than once and not yet acknowledged.", "stage"),
		letters:     d("dead_letters", "Dead-letter advisories kept in REEL_DLQ."),
		up:          d("bus_up", "1 when the NATS server answered this scrape."),
	})
}

func (c *busCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.ackPending, c.redelivered, c.letters, c.up} {
		ch <- d
	}
}

func (c *busCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	up := 1.0
	for _, stage := range c.stages {
		cons, err := c.b.Stream.Consumer(ctx, protocol.ConsumerName(stage))
		if err != nil {
			up = 0
			continue
		}
		info, err := cons.Info(ctx)
		if err != nil {
			up = 0
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.NumPending), stage)
		ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(info.NumAckPending), stage)
		ch <- prometheus.MustNewConstMetric(c.redelivered, prometheus.GaugeValue, float64(info.NumRedelivered), stage)
	}
	if c.deadLetters {
		if info, err := c.b.DLQ.Info(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(c.letters, prometheus.GaugeValue, float64(info.State.Msgs))
		} else {
			up = 0
		}
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
