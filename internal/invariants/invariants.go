//go:build !invariants

// Package invariants gates expensive self-checks. Build with
// `-tags invariants` to turn them on; without the tag Enabled is a false
// constant and guarded checks compile away.
package invariants

// Enabled reports whether invariant checks run.
const Enabled = false

// Check panics with msg when cond is false and checks are enabled.
func Check(cond bool, msg string) {}
