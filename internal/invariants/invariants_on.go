//go:build invariants

package invariants

// Enabled reports whether invariant checks run.
const Enabled = true

// Check panics with msg when cond is false.
func Check(cond bool, msg string) {
	if !cond {
		panic("invariant violated: " + msg)
	}
}
