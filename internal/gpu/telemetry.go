package gpu

import (
	"context"
	"os"
	"time"
)

// Telemetry is the device part of a worker heartbeat: small, flat, and
// enough for `reel workers` to show where a stage runs and how full it is.
type Telemetry struct {
	Index int    `json:"index" msgpack:"index"`
	UUID  string `json:"uuid" msgpack:"uuid"`
	Name  string `json:"name" msgpack:"name"`
	// Memory is the whole device's memory, all processes together.
	Memory      Memory       `json:"memory" msgpack:"memory"`
	Utilization *Utilization `json:"utilization,omitempty" msgpack:"utilization,omitempty"`
	// SelfUsed is what this process holds on the device (0 for the CPU
	// engine, which only watches the device).
	SelfUsed uint64    `json:"self_used" msgpack:"self_used"`
	At       time.Time `json:"at" msgpack:"at"`
}

// Telemetry samples the pinned device. It returns nil, nil on the CPU, so a
// heartbeat can carry the pointer as is.
func (p *Placement) Telemetry(ctx context.Context) (*Telemetry, error) {
	if !p.OnGPU() {
		return nil, nil
	}
	d, err := p.Device(ctx)
	if err != nil {
		return nil, err
	}
	t := TelemetryOf(d, uint32(os.Getpid()))
	t.At = time.Now()
	return &t, nil
}

// TelemetryOf condenses a device reading; self is the PID whose device
// memory counts as SelfUsed.
func TelemetryOf(d Device, self uint32) Telemetry {
	t := Telemetry{Index: d.Index, UUID: d.UUID, Name: d.Name, Memory: d.Memory, Utilization: d.Utilization}
	for _, p := range d.Processes {
		if p.PID == self {
			t.SelfUsed = p.UsedMemory
		}
	}
	return t
}
