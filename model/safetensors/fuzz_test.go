package safetensors

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// survives Write and Parse unchanged. Seeds: testdata/fuzz/FuzzParse plus
// the ones added here. Run with: go test -fuzz FuzzParse ./model/safetensors/
func FuzzParse(f *testing.F) {
	f.Add(build(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, make([]byte, 4)))
	f.Add(build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, []byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse("fuzz", b)
		if err != nil {
			return
		}
		for _, tn := range file.Tensors {
			size, err := tn.DType.ByteSize(tn.NumEl())
			if err != nil || size != len(tn.Data) {
				t.Fatalf("accepted tensor %q with %d bytes for shape %v %s", tn.Name, len(tn.Data), tn.Shape, tn.DType)
			}
			if tn.DType == F32 || tn.DType == F16 || tn.DType == BF16 {
				if _, err := tn.Float32(); err != nil {
					t.Fatal(err)
				}
			}
		}
		var buf bytes.Buffer
		if err := Write(&buf, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("Write of an accepted file failed: %v", err)
		}
		again, err := Parse("rewritten", buf.Bytes())
		if err != nil {
			t.Fatalf("Parse of the rewritten file failed: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) || !reflect.DeepEqual(again.Metadata, file.Metadata) {
			t.Fatalf("round trip changed the file")
		}
		for i := range again.Tensors {
			x, y := again.Tensors[i], file.Tensors[i]
			if x.Name != y.Name || x.DType != y.DType || len(x.Shape) != len(y.Shape) || !bytes.Equal(x.Data, y.Data) {
				t.Fatalf("round trip changed tensor %q", y.Name)
			}
		}
	})
}
