package main

import (
	"testing"
	"time"
)

func TestParseBefore(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"72h", now.Add(-72 * time.Hour), true},
		{"2026-11-30T00:00:00Z", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"-1h", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	} {
		got, err := parseBefore(c.in, now)
		if (err == nil) != c.ok || (c.ok && !got.Equal(c.want)) {
			t.Errorf("parseBefore(%q) = %v, %v", c.in, got, err)
		}
	}
}
