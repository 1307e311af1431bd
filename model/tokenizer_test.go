package model

import (
	"slices"
	"testing"
)

// Expected values printed by reel_tiny.py normalize_prompt and tokenize.
var tokenizerCases = []struct {
	prompt, norm string
	nTokens      int // BOS + bytes + EOS
}{
	{"a red circle moving right", "a red circle moving right", 27},
	{"  A RED\x09Circle\x0a\x0amoving   RIGHT  ", "a red circle moving right", 27},
	{"\u4e00\u4e2a\u84dd\u8272\u7684\u6b63\u65b9\u5f62\u5411\u4e0a\u79fb\u52a8\uff0c\u80cc\u666f\u662f\u767d\u8272", "\u4e00\u4e2a\u84dd\u8272\u7684\u6b63\u65b9\u5f62\u5411\u4e0a\u79fb\u52a8\uff0c\u80cc\u666f\u662f\u767d\u8272", 56},
	{"", "", 2},
	{"   ", "", 2},
	{"x\u3000y", "x y", 5},
	{"a\u00a0b\u2003c\u200bd", "a b c\u200bd", 11},
	{"f\x1cg\x1dh\x1ei\x1fj\u0085k", "f g h i j k", 13},
	{"\u00c9COLE Stra\u00dfe \u0130", "\u00c9cole stra\u00dfe \u0130", 19},
	{"\u2028line\u2029para\u202fnb\u205fmm\u1680og", "line para nb mm og", 20},
	{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 96},
	{"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", 96},
	{"ab\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d", "ab\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d\u4e2d", 96},
}

func testConfig(t testing.TB) Config {
	t.Helper()
	c, err := ParseConfig(`{"name": "reel-tiny", "height": 64, "width": 64, "fps": 8, "frames_per_chunk": 16, "latent_frames_per_chunk": 4, "latent_channels": 8, "spatial_compression": 8, "temporal_compression": 4, "text_vocab": 259, "text_max_len": 96, "text_dim": 256, "text_layers": 4, "text_heads": 4, "text_bos": 256, "text_eos": 257, "text_pad": 258, "dit_dim": 256, "dit_layers": 6, "dit_heads": 4, "patch": [1, 2, 2], "rope_split": [32, 16, 16], "rope_base": 10000.0, "norm_eps": 1e-06, "vae_channels": [128, 64, 32, 16]}`)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNormalizePrompt(t *testing.T) {
	for _, tc := range tokenizerCases {
		if got := NormalizePrompt(tc.prompt); got != tc.norm {
			t.Errorf("NormalizePrompt(%q) = %q, want %q", tc.prompt, got, tc.norm)
		}
	}
}

func TestTokenize(t *testing.T) {
	c := testConfig(t)
	for _, tc := range tokenizerCases {
		ids, mask := c.Tokenize(tc.prompt)
		b := []byte(tc.norm)
		if len(b) > c.TextMaxLen-2 {
			b = b[:c.TextMaxLen-2]
		}
		want := []int{c.TextBOS}
		for _, x := range b {
			want = append(want, int(x))
		}
		want = append(want, c.TextEOS)
		if len(want) != tc.nTokens {
			t.Fatalf("%q: test table disagrees with itself", tc.prompt)
		}
		for len(want) < c.TextMaxLen {
			want = append(want, c.TextPad)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("Tokenize(%q) ids = %v, want %v", tc.prompt, ids, want)
		}
		for i, m := range mask {
			if m != (i < tc.nTokens) {
				t.Errorf("Tokenize(%q) mask[%d] = %v", tc.prompt, i, m)
			}
		}
	}
}
