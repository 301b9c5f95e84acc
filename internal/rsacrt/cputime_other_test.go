//go:build !linux

package rsacrt

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }
