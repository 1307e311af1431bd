package model

import (
	"strings"
)

// NormalizePrompt reproduces reel_tiny.py normalize_prompt: ASCII A-Z are
// lower-cased (nothing else is: the model was trained on exactly this), and
// runs of whitespace collapse to one space with the ends trimmed, like
// Python's " ".join(p.split()).
func NormalizePrompt(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for _, f := range strings.FieldsFunc(p, isPySpace) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		for i := 0; i < len(f); i++ {
			c := f[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c) // byte-wise: non-ASCII UTF-8 passes through untouched
		}
	}
	return b.String()
}

// isPySpace is Python 3's str.isspace for one code point, which is what
// str.split() splits on. It differs from unicode.IsSpace: Python also
// counts the information separators U+001C..U+001F.
func isPySpace(r rune) bool {
	switch {
	case r == ' ' || ('\t' <= r && r <= '\r') || (0x1c <= r && r <= 0x1f):
		return true
	case r < 0x80:
		return false
	}
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

// Tokenize turns a prompt into the text encoder's input: ids are
// [BOS] + UTF-8 bytes of the normalised prompt (cut to TextMaxLen-2 bytes,
// even inside a multi-byte character, as the reference does) + [EOS],
// padded with PAD to TextMaxLen; mask is true on non-PAD positions.
// Invalid UTF-8 in p is passed through byte for byte.
func (c Config) Tokenize(p string) (ids []int, mask []bool) {
	b := NormalizePrompt(p)
	if len(b) > c.TextMaxLen-2 {
		b = b[:c.TextMaxLen-2]
	}
	ids = make([]int, c.TextMaxLen)
	mask = make([]bool, c.TextMaxLen)
	ids[0] = c.TextBOS
	for i := 0; i < len(b); i++ {
		ids[1+i] = int(b[i])
	}
	ids[1+len(b)] = c.TextEOS
	for i := range ids {
		if i < len(b)+2 {
			mask[i] = true
		} else {
			ids[i] = c.TextPad
		}
	}
	return ids, mask
}
