package build

import (
	"bytes"
	"testing"

	"github.com/reel-video/reel/model/safetensors"
)

func file(t *testing.T, names ...string) []byte {
	t.Helper()
	var ts []safetensors.Tensor
	for _, n := range names {
		ts = append(ts, safetensors.Tensor{Name: n, DType: safetensors.F32, Shape: []int{1}, Data: []byte{0, 0, 0x80, 0x3f}})
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, map[string]string{"config": "{}"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVAE(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string // tensors kept; nil: error expected
		wantErr bool
	}{
		{"drops the encoder", []string{"vae.decoder.a", "vae.encoder.b", "vae.latent_mean", "vae.latent_std"}, []string{"vae.decoder.a", "vae.latent_mean", "vae.latent_std"}, false},
		{"needs latent stats", []string{"vae.decoder.a", "vae.latent_mean"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := VAE(file(t, tc.in...))
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Parse("out", b)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Tensors) != len(tc.want) || f.Metadata["config"] != "{}" {
				t.Fatalf("got %d tensors, metadata %v", len(f.Tensors), f.Metadata)
			}
			for i, n := range tc.want {
				if f.Tensors[i].Name != n {
					t.Errorf("tensor %d = %q, want %q", i, f.Tensors[i].Name, n)
				}
			}
		})
	}
}

func TestRejectsInvalidInput(t *testing.T) {
	for name, f := range map[string]func([]byte) ([]byte, error){"DiT": DiT, "Text": Text, "VAE": VAE} {
		if _, err := f([]byte("not a safetensors file")); err == nil {
			t.Errorf("%s accepted garbage", name)
		}
	}
}
