package mem

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrSize is wrapped by ParseSize errors.
var ErrSize = errors.New("mem: bad size")

// Byte multiples. Binary units are what memory is sold and limited in.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
	TiB int64 = 1 << 40
)

// unit returns the multiplier of a lower-case unit suffix.
func unit(u string) (float64, bool) {
	switch u {
	case "", "b":
		return 1, true
	case "k", "ki", "kib":
		return 1 << 10, true
	case "m", "mi", "mib":
		return 1 << 20, true
	case "g", "gi", "gib":
		return 1 << 30, true
	case "t", "ti", "tib":
		return 1 << 40, true
	case "kb":
		return 1e3, true
	case "mb":
		return 1e6, true
	case "gb":
		return 1e9, true
	case "tb":
		return 1e12, true
	}
	return 0, false
}

// ParseSize reads a byte count: plain bytes ("1073741824"), binary units
// ("8GiB", "512MiB", "8Gi", and the bare "8G" as docker and GOMEMLIMIT-style
// tools mean it), or decimal units ("8GB" = 8·10⁹). Fractions are allowed
// ("1.5GiB"); case and a space before the unit do not matter.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, suffix := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := unit(suffix)
	if !ok || num == "" {
		return 0, fmt.Errorf("%w: %q (want bytes or a number with KiB, MiB, GiB, TiB, or KB, MB, GB, TB)", ErrSize, s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrSize, s, err)
	}
	b := math.Round(v * mult)
	if b <= 0 || b >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: %q is not a positive size", ErrSize, s)
	}
	return int64(b), nil
}

// FormatSize renders bytes in the largest binary unit that keeps the number
// ≥ 1, with one decimal ("7.5 GiB", "512.0 MiB", "900 B").
func FormatSize(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	for _, u := range []struct {
		name string
		v    int64
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if n >= u.v {
			return fmt.Sprintf("%s%.1f %s", neg, float64(n)/float64(u.v), u.name)
		}
	}
	return fmt.Sprintf("%s%d B", neg, n)
}
