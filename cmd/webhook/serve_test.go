package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	debug.SetMemoryLimit(math.MaxInt64)

	got, err := applyMemoryLimit("", "268435456") // the chart's 256Mi
	if err != nil || got != 241591910 || debug.SetMemoryLimit(-1) != 241591910 {
		t.Errorf("256Mi container limit: runtime limit %d (%v), want 90%%", got, err)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	if got, _ := applyMemoryLimit("100MiB", "268435456"); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: the runtime's own reading must stand, got %d", got)
	}
	if got, _ := applyMemoryLimit("", ""); got != math.MaxInt64 {
		t.Errorf("no container limit: got %d", got)
	}
	if _, err := applyMemoryLimit("", "256Mi"); err == nil {
		t.Error("a quantity that is not bytes must be refused")
	}
}
