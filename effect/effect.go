// Package effect defines the effect record: what a write did, in a form
// that replays deterministically (relative TTLs as absolute PXAT, random
// choices resolved, INCRBYFLOAT as SET). Effects are RESP multibulk
// commands, so the append-only log and the replication stream can carry
// them unchanged.
package effect

import "strconv"

// Log is an append-only buffer of effect records in RESP form. A Log is
// owned by one goroutine at a time (the loop or transaction that is
// executing); hand it off by value or by swapping buffers, never share it.
//
// A SELECT record precedes the first record of a Log and every record whose
// database differs from the previous one, so any Log replays on its own.
type Log struct {
	B   []byte // encoded records
	N   int    // number of records (SELECTs not counted)
	db  int    // database of the last record, valid when hasDB
	has bool
	// Discard counts records without encoding them, for a server that
	// neither logs nor replicates: nobody would read B.
	Discard bool
}

// Reset empties the log, keeping its buffer.
func (l *Log) Reset() { l.B, l.N, l.has = l.B[:0], 0, false }

// Empty reports whether no record was appended since the last Reset.
func (l *Log) Empty() bool { return l.N == 0 }

// Append adds one record: args applied to database db.
func (l *Log) Append(db int, args ...[]byte) {
	if l.Discard {
		l.N++
		return
	}
	l.selectDB(db)
	l.B = appendCommand(l.B, args)
	l.N++
}

// AppendStrings is Append for records built from literal words and values.
func (l *Log) AppendStrings(db int, args ...string) {
	if l.Discard {
		l.N++
		return
	}
	l.selectDB(db)
	l.B = append(l.B, '*')
	l.B = strconv.AppendInt(l.B, int64(len(args)), 10)
	l.B = append(l.B, '\r', '\n')
	for _, a := range args {
		l.B = append(l.B, '$')
		l.B = strconv.AppendInt(l.B, int64(len(a)), 10)
		l.B = append(l.B, '\r', '\n')
		l.B = append(l.B, a...)
		l.B = append(l.B, '\r', '\n')
	}
	l.N++
}

// AppendLog appends all records of o (used to merge a transaction's log).
func (l *Log) AppendLog(o *Log) {
	if o.N == 0 {
		return
	}
	l.B = append(l.B, o.B...)
	l.N += o.N
	l.db, l.has = o.db, o.has
}

func (l *Log) selectDB(db int) {
	if l.has && l.db == db {
		return
	}
	var tmp [20]byte
	l.B = appendCommand(l.B, [][]byte{[]byte("SELECT"), strconv.AppendInt(tmp[:0], int64(db), 10)})
	l.db, l.has = db, true
}

func appendCommand(b []byte, args [][]byte) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// Mark is a position in a Log, taken before a command runs.
type Mark struct{ off, n int }

// Mark returns the current end of the log.
func (l *Log) Mark() Mark { return Mark{len(l.B), l.N} }

var (
	multiRecord = []byte("*1\r\n$5\r\nMULTI\r\n")
	execRecord  = []byte("*1\r\n$4\r\nEXEC\r\n")
)

// Atomic makes the records appended since m replay all or nothing: when a
// command appended more than one record they are wrapped in MULTI/EXEC,
// which the AOF loader applies only once EXEC is read (as Redis does), so a
// torn log tail never leaves half a command applied.
func (l *Log) Atomic(m Mark) {
	if l.N-m.n < 2 || l.Discard {
		return
	}
	body := append([]byte(nil), l.B[m.off:]...)
	l.B = append(append(append(l.B[:m.off], multiRecord...), body...), execRecord...)
}
