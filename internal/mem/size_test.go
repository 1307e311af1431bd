package mem

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"1073741824", GiB, false},
		{"8GiB", 8 * GiB, false},
		{"512MiB", 512 * MiB, false},
		{"512 MiB", 512 * MiB, false},
		{"8gib", 8 * GiB, false},
		{"8Gi", 8 * GiB, false},
		{"8G", 8 * GiB, false},
		{"1.5GiB", 3 * GiB / 2, false},
		{"64KiB", 64 * KiB, false},
		{"2TiB", 2 * TiB, false},
		{"8GB", 8_000_000_000, false},
		{"100MB", 100_000_000, false},
		{"  4096B ", 4096, false},
		{"", 0, true},
		{"GiB", 0, true},
		{"8 gigabytes", 0, true},
		{"-1GiB", 0, true},
		{"0", 0, true},
		{"1.2.3GiB", 0, true},
		{"9999999TiB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if tt.err {
				if !errors.Is(err, ErrSize) {
					t.Fatalf("ParseSize(%q) = %d, %v; want ErrSize", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 B"},
		{900, "900 B"},
		{1536, "1.5 KiB"},
		{512 * MiB, "512.0 MiB"},
		{15 * GiB / 2, "7.5 GiB"},
		{-2 * GiB, "-2.0 GiB"},
		{3 * TiB, "3.0 TiB"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.in); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
