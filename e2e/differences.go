package e2e

import (
	"bytes"
	"slices"
)

// Difference is a deliberate, written-down way in which a reply may differ
// between redis-server and Basalt (or between two instances of anything).
// The differential runner consults this list for every command that has no
// compare directive of its own in the script.
type Difference struct {
	// Match is a prefix of the command's arguments, compared without regard
	// to case; "*" matches any single argument.
	Match []string
	// Whole, when set, requires the command to have exactly len(Match)
	// arguments (bare COMMAND, not COMMAND GETKEYS ...).
	Whole bool
	// Cmp says how the replies are compared instead of byte for byte.
	Cmp Compare
	// Reason is why the difference is acceptable.
	Reason string
}

// differences is THE list of deliberate differences. Add entries here, with
// a reason, rather than weakening a script. It is a function so the list is
// not package-level mutable state.
func differences() []Difference {
	return []Difference{
		{Match: []string{"INFO"}, Cmp: Compare{Mode: CmpSkip},
			Reason: "INFO is free text full of per-instance numbers (uptime, pids, memory)"},
		{Match: []string{"TIME"}, Cmp: Compare{Mode: CmpSkip},
			Reason: "wall clock"},
		{Match: []string{"LASTSAVE"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "wall clock of start-up"},
		{Match: []string{"CLIENT", "LIST"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "addresses, ids, ages and memory fields differ per instance"},
		{Match: []string{"CLIENT", "INFO"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "addresses, ids, ages and memory fields differ per instance"},
		{Match: []string{"CLIENT", "ID"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "ids are allocated per instance; Basalt need not count like Redis"},
		{Match: []string{"HELLO"}, Cmp: Compare{Mode: CmpZeroFields, Fields: []string{"id"}},
			Reason: "the client id in HELLO's reply is per instance"},
		{Match: []string{"OBJECT", "IDLETIME"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "idle time is sampled from a clock; may tick between the two servers"},
		{Match: []string{"DEBUG", "OBJECT"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "reports addresses, serialized lengths and LRU clocks of the implementation"},
		{Match: []string{"CONFIG", "GET", "port"}, Cmp: Compare{Mode: CmpSkip},
			Reason: "each server listens on its own free port"},
		{Match: []string{"CONFIG", "GET", "dir"}, Cmp: Compare{Mode: CmpSkip},
			Reason: "each server runs in its own temporary directory"},
		{Match: []string{"COMMAND"}, Whole: true, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "bare COMMAND dumps the whole table; Basalt implements a subset of Redis's commands"},
		{Match: []string{"COMMAND", "COUNT"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "Basalt implements a subset of Redis's commands"},
		{Match: []string{"COMMAND", "LIST"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "Basalt implements a subset of Redis's commands"},
		{Match: []string{"COMMAND", "INFO"}, Cmp: Compare{Mode: CmpCommandMeta},
			Reason: "subcommand lists come from a hash table; Redis orders them randomly per process"},
		{Match: []string{"COMMAND", "DOCS"}, Cmp: Compare{Mode: CmpCommandMeta},
			Reason: "subcommand lists come from a hash table; Redis orders them randomly per process"},
		{Match: []string{"COMMAND", "DOCS"}, Whole: true, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "bare COMMAND DOCS covers the whole table (Basalt has a subset); DOCS of named commands are compared"},
		{Match: []string{"CLIENT", "SETINFO"}, Cmp: Compare{Mode: CmpUnsupported},
			Reason: "CLIENT SETINFO is Redis 7.2's; Basalt accepts it because go-redis v9 and other clients send it on connect, Redis 7.0 replies unknown subcommand"},
		{Match: []string{"CONFIG", "GET", "maxmemory"}, Cmp: Compare{Mode: CmpSkip},
			Reason: "Basalt has no maxmemory directive yet (no eviction in the foundation issue); CONFIG GET lists only directives Basalt has"},
		{Match: []string{"CONFIG", "GET", "maxmemory-policy"}, Cmp: Compare{Mode: CmpSkip},
			Reason: "Basalt has no maxmemory-policy directive yet (no eviction in the foundation issue)"},
		{Match: []string{"COMMAND", "GETKEYSANDFLAGS"}, Cmp: Compare{Mode: CmpUnsupported},
			Reason: "not implemented yet: needs per-command key flag functions (SET, BITFIELD); GETKEYS is implemented"},
		{Match: []string{"CLIENT", "HELP"}, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "Basalt's help lists only the CLIENT subcommands it implements"},
		{Match: []string{"COMMAND", "INFO"}, Whole: true, Cmp: Compare{Mode: CmpTypeOnly},
			Reason: "bare COMMAND INFO covers the whole table (Basalt has a subset); INFO of named commands is compared"},
	}
}

// basaltFeatures lists the features Basalt implements, for scripts that
// say "!requires FEATURE". Add a feature here when its commands land.
func basaltFeatures() []string {
	return []string{"strings", "bitmaps", "keys", "lists", "hashes", "sets", "zsets", "hll", "geo", "sort", "streams", "transactions"}
}

// lookupDifference returns the compare rule for args: the matching entry
// with the longest Match wins; without one, replies are compared exactly.
func lookupDifference(args [][]byte) (Difference, bool) {
	var best Difference
	found, bestScore := false, -1
	for _, d := range differences() {
		// Longer matches win; on a tie a Whole match wins.
		score := 2 * len(d.Match)
		if d.Whole {
			score++
		}
		if len(d.Match) > len(args) || d.Whole && len(d.Match) != len(args) || score <= bestScore {
			continue
		}
		ok := true
		for i, m := range d.Match {
			if m != "*" && !bytes.EqualFold([]byte(m), args[i]) {
				ok = false
				break
			}
		}
		if ok {
			best, found, bestScore = d, true, score
		}
	}
	return best, found
}

// hasFeature reports whether Basalt implements feature.
func hasFeature(feature string) bool { return slices.Contains(basaltFeatures(), feature) }
