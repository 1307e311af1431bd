package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// fields type-checks the known fields of a decoded JSON or msgpack map one
// by one and keeps the first error, which names the field. Numbers come as
// json.Number from JSON (decoded with UseNumber) and as Go integer or float
// types from msgpack; a JavaScript client cannot tell 5 from 5.0, so an
// integral float is a valid integer and any number is a valid float.
type fields struct {
	m   map[string]any
	err *error // shared with nested maps' fields
}

func newFields(m map[string]any) *fields { return &fields{m: m, err: new(error)} }

// first is the first error found.
func (f *fields) first() error { return *f.err }

func (f *fields) fail(field, reason string) {
	if *f.err == nil {
		*f.err = malformedField(field, reason)
	}
}

// get returns a present, non-nil field (null counts as absent: a client may
// spell "use the default" either way).
func (f *fields) get(name string) (any, bool) {
	v, ok := f.m[name]
	return v, ok && v != nil
}

func (f *fields) wrong(name, want string, v any) {
	f.fail(name, fmt.Sprintf("want %s, got %s", want, typeName(v)))
}

func (f *fields) string(name string) (string, bool) {
	v, ok := f.get(name)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		f.wrong(name, "a string", v)
	}
	return s, ok
}

func (f *fields) bytes(name string) ([]byte, bool) {
	v, ok := f.get(name)
	if !ok {
		return nil, false
	}
	b, ok := v.([]byte)
	if !ok {
		f.wrong(name, "bytes (msgpack bin)", v)
	}
	return b, ok
}

func (f *fields) object(name string) (*fields, bool) {
	v, ok := f.get(name)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		f.wrong(name, "a map", v)
		return nil, false
	}
	return &fields{m: m, err: f.err}, true // its errors are f's
}

func (f *fields) int(name string) (int64, bool) {
	v, ok := f.get(name)
	if !ok {
		return 0, false
	}
	n, ok := asInt(v)
	if !ok {
		f.wrong(name, "an integer", v)
	}
	return n, ok
}

func (f *fields) float(name string) (float64, bool) {
	v, ok := f.get(name)
	if !ok {
		return 0, false
	}
	x, ok := asFloat(v)
	if !ok {
		f.wrong(name, "a number", v)
	}
	return x, ok
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, true
		}
		if x, err := n.Float64(); err == nil {
			return floatInt(x)
		}
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), true
		}
	case float32:
		return floatInt(float64(n))
	case float64:
		return floatInt(n)
	}
	return 0, false
}

func floatInt(x float64) (int64, bool) {
	if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
		return 0, false
	}
	return int64(x), true
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		x, err := n.Float64()
		return x, err == nil
	case float32:
		return float64(n), true
	case float64:
		return n, true
	}
	if i, ok := asInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

// typeName names a decoded value's type in the words of docs/protocol.md.
func typeName(v any) string {
	switch n := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case []byte:
		return "bytes"
	case []any:
		return "array"
	case map[string]any:
		return "map"
	case json.Number:
		if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return "int"
		}
		return "float " + string(n)
	case float32, float64:
		return fmt.Sprintf("float %v", n)
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
		return "int"
	}
	return fmt.Sprintf("%T", v)
}
