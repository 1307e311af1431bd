// Package safetensors reads and writes the safetensors file format
// (https://github.com/huggingface/safetensors), including the FP8 dtypes
// (F8_E4M3, F8_E5M2) that the only existing Go library lacks.
//
// A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// mapping tensor names to {dtype, shape, data_offsets} (plus an optional
// "__metadata__" string map), then the data buffer. Parse enforces the
// format's rules the way the reference Rust implementation does
// (safetensors/src/tensor.rs, Metadata::validate): header length at most
// 100 MB, valid UTF-8 JSON object, known dtypes, no duplicate names,
// data_offsets tiling the buffer contiguously from 0 with no gaps or
// overlaps, byte size = numel × dtype size, and the file length equal to
// 8 + N + buffer size. Every error names the file and, where one is
// involved, the tensor.
//
// Write produces the same bytes as the reference model's Python writer
// (reel_tiny.py save_safetensors): tensors ordered by name, compact JSON
// with Python's json.dumps escaping, "__metadata__" last with its keys
// sorted, header padded with spaces to a multiple of 8. Parse followed by
// Write therefore reproduces those files byte for byte.
package safetensors
