package bus

import (
	"io/fs"
	"path/filepath"
)

// DiskShare is the share of the store's filesystem (what the store holds
// plus what is free when the server starts) that JetStream may use: the
// rest covers the file store's own indexes and the filesystem's metadata.
const DiskShare = 0.9

// fitDisk lowers a JetStream disk limit to what the filesystem under dir
// can hold. A limit above it lets the disk fill before the limit does, and
// nats-server answers "no space left on device" by disabling JetStream
// until it restarts (issue 13 item 4): the streams' limits, and the
// intake's store-full check that works from them, must be reached first.
// ok is false when the filesystem's size is unknown (limit unchanged).
func fitDisk(dir string, limit int64) (fitted int64, ok bool) {
	free, known := freeBytes(dir)
	if !known {
		return limit, false
	}
	capacity := float64(free + usedBytes(dir))
	return min(limit, int64(DiskShare*capacity)), true
}

// usedBytes is the size of the files under dir (what the store already
// holds: it is space the limit may count on).
func usedBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
