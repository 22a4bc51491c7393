package aof

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/basaltdb/basalt/internal/crypt"
)

// LoadStats summarises a Load.
type LoadStats struct {
	Commands  int64 // commands passed to apply (MULTI/EXEC themselves not counted)
	Bytes     int64 // bytes of the files replayed, after any truncation
	Truncated bool  // the torn tail of the last file was cut off
}

// Load replays the AOF directory opts.Dir as its manifest lists it: the base
// file, then the incr files. A missing directory or manifest is an empty
// dataset. apply is called, on the caller's goroutine, for every command in
// order; args point into Load's buffers and are valid only during the
// call. Meanwhile a goroutine of Load's parses ahead (at most a few batches
// of commands, see replay). Commands between MULTI and EXEC are applied
// only once the EXEC is read, without the MULTI and EXEC themselves. An
// RDB at the start of a file (a base, or an old-style preamble followed by
// commands) goes to opts.LoadRDB, also on the caller's goroutine.
//
// A torn tail of the last file (an incomplete command, or a MULTI without its
// EXEC) is cut off with a warning if opts.LoadTruncated, as Redis's
// aof-load-truncated, and is an error otherwise. Any other damage is an error
// naming the file, the byte offset and what was expected there.
func Load(opts Options, apply func(args [][]byte) error) (LoadStats, error) {
	var st LoadStats
	m, err := readManifest(opts.Dir, opts.FileName)
	if m == nil || err != nil {
		return st, err
	}
	files := m.loadOrder()
	// As Redis, every listed file must exist before anything is replayed.
	for _, e := range files {
		if _, err := os.Stat(filepath.Join(opts.Dir, e.Name)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return st, fmt.Errorf("The append log file %s doesn't exist", e.Name)
			}
			return st, fmt.Errorf("Fatal error: can't open the append log file %s for reading: %w", e.Name, err)
		}
	}
	ld := &loader{opts: opts, apply: apply, st: &st}
	for i, e := range files {
		if err := ld.loadFile(e.Name, i == len(files)-1); err != nil {
			return st, err
		}
	}
	return st, nil
}

// loadChunk is how much of a file is read at a time.
const loadChunk = 1 << 20

// span is one argument of a queued MULTI command, as a file offset, since the
// read buffer may move before the EXEC arrives.
type span struct{ off, n int64 }

// loader replays files; its buffers are reused from file to file.
type loader struct {
	opts  Options
	apply func([][]byte) error
	st    *LoadStats

	name string
	f    io.ReaderAt // the file, or the plaintext of an encrypted one
	size int64
	buf  []byte // file bytes [base, base+len(buf))
	base int64

	// Used by the parsing goroutine only, while a file's commands are
	// replayed: buf and base above, and these.
	cur   []span // the arguments of the command being parsed
	tx    []span // the arguments of the queued MULTI commands
	txN   []int  // argument count of each queued command
	short bool   // the entry ran past the end of the file

	args [][]byte       // what apply gets
	free chan *cmdBatch // the batches not in flight, reused from file to file
}

// formatError is damage in the middle of a file.
func (ld *loader) formatError(off int64, expected string) error {
	return fmt.Errorf("Bad file format reading the append only file %s at offset %d: expected %s", ld.name, off, expected)
}

// ensure makes buf hold the file up to offset end, keeping what lies at or
// after keep. It reports false, and sets ld.short, when the file ends first.
func (ld *loader) ensure(keep, end int64) (bool, error) {
	if end <= ld.base+int64(len(ld.buf)) {
		return true, nil
	}
	if end > ld.size {
		ld.short = true
		return false, nil
	}
	if drop := keep - ld.base; drop > 0 {
		n := copy(ld.buf, ld.buf[drop:])
		ld.buf = ld.buf[:n]
		ld.base = keep
	}
	want := min(max(end-ld.base, int64(len(ld.buf))+loadChunk), ld.size-ld.base)
	if int64(cap(ld.buf)) < want {
		nb := make([]byte, len(ld.buf), max(want, 2*int64(cap(ld.buf))))
		copy(nb, ld.buf)
		ld.buf = nb
	}
	have := int64(len(ld.buf))
	n, err := ld.f.ReadAt(ld.buf[have:want], ld.base+have)
	ld.buf = ld.buf[:have+int64(n)]
	if err != nil && !(errors.Is(err, io.EOF) && have+int64(n) >= end-ld.base) {
		if errors.Is(err, io.EOF) { // the file shrank under us
			ld.short = true
			return false, nil
		}
		return false, fmt.Errorf("Unrecoverable error reading the append only file %s: %w", ld.name, err)
	}
	return true, nil
}

func (ld *loader) at(off int64) byte { return ld.buf[off-ld.base] }

// number reads the decimal number and CRLF that follow a '*' or '$' at
// pos-1, returning it and the offset after the CRLF. ok is false when the
// file ends first (ld.short) or on damage (err set).
func (ld *loader) number(keep, pos int64, what string) (n int64, next int64, ok bool, err error) {
	for i := int64(0); ; i++ {
		if ok, err := ld.ensure(keep, pos+i+1); !ok {
			return 0, 0, false, err
		}
		c := ld.at(pos + i)
		if c == '\r' && i > 0 {
			if ok, err := ld.ensure(keep, pos+i+2); !ok {
				return 0, 0, false, err
			}
			if ld.at(pos+i+1) != '\n' {
				return 0, 0, false, ld.formatError(pos+i+1, `'\n'`)
			}
			return n, pos + i + 2, true, nil
		}
		if c < '0' || c > '9' || i >= 18 {
			if i == 0 {
				return 0, 0, false, ld.formatError(pos+i, what)
			}
			return 0, 0, false, ld.formatError(pos+i, `a digit or '\r'`)
		}
		n = n*10 + int64(c-'0')
	}
}

// entry parses one entry at start: a '#' annotation line (args false) or a
// command, whose argument spans it leaves in ld.cur. ok false: see number.
func (ld *loader) entry(keep, start int64) (end int64, cmd bool, ok bool, err error) {
	if ok, err := ld.ensure(keep, start+1); !ok {
		return 0, false, false, err
	}
	switch ld.at(start) {
	case '#': // annotation such as #TS:<unix time>, up to '\n'
		for p := start + 1; ; p++ {
			if ok, err := ld.ensure(keep, p+1); !ok {
				return 0, false, false, err
			}
			if ld.at(p) == '\n' {
				return p + 1, false, true, nil
			}
		}
	case '*':
	default:
		return 0, false, false, ld.formatError(start, "'*'")
	}
	argc, p, ok, err := ld.number(keep, start+1, "the argument count")
	if !ok {
		return 0, false, false, err
	}
	if argc < 1 {
		return 0, false, false, ld.formatError(start+1, "an argument count of at least 1")
	}
	if argc > (ld.size-p)/6+1 { // each argument takes at least "$0\r\n\r\n"
		ld.short = true
		return 0, false, false, nil
	}
	ld.cur = ld.cur[:0]
	for range argc {
		if ok, err := ld.ensure(keep, p+1); !ok {
			return 0, false, false, err
		}
		if ld.at(p) != '$' {
			return 0, false, false, ld.formatError(p, "'$'")
		}
		var n int64
		n, p, ok, err = ld.number(keep, p+1, "the argument length")
		if !ok {
			return 0, false, false, err
		}
		if n > ld.size-p { // also keeps a damaged length from allocating
			ld.short = true
			return 0, false, false, nil
		}
		if ok, err := ld.ensure(keep, p+n+2); !ok {
			return 0, false, false, err
		}
		if ld.at(p+n) != '\r' || ld.at(p+n+1) != '\n' {
			return 0, false, false, ld.formatError(p+n, `"\r\n" after the argument`)
		}
		ld.cur = append(ld.cur, span{p, n})
		p += n + 2
	}
	return p, true, true, nil
}

func (ld *loader) run(args [][]byte, off int64) error {
	ld.st.Commands++
	if err := ld.apply(args); err != nil {
		return fmt.Errorf("Error replaying the append only file %s at offset %d: %w", ld.name, off, err)
	}
	return nil
}

// loadFile replays one file; last says whether a torn tail may be cut off.
func (ld *loader) loadFile(name string, last bool) (err error) {
	path := filepath.Join(ld.opts.Dir, name)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("Fatal error: can't open the append log file %s for reading: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("Unrecoverable error reading the append only file %s: %w", name, err)
	}
	ld.name, ld.f, ld.size, ld.base, ld.buf, ld.short = name, f, fi.Size(), 0, ld.buf[:0], false

	var pos int64
	// A file that starts with "REDIS" is an RDB base (or an old-style RDB
	// preamble, followed by AOF commands).
	if ok, err := ld.ensure(0, min(9, ld.size)); !ok || err != nil {
		return err
	}
	encrypted := crypt.IsAppendOnly(ld.buf)
	if encrypted {
		if err := ld.decrypt(path, name, last); err != nil {
			return err
		}
		if ok, err := ld.ensure(0, min(5, ld.size)); !ok || err != nil {
			return err
		}
	}
	// An RDB base encrypted by encryption-key-file (package crypt): only
	// the server's RDB loader, which holds the key, can read it, and it
	// reads the whole file.
	if crypt.IsEncrypted(ld.buf) {
		if ld.opts.LoadRDB == nil {
			return fmt.Errorf("Error reading the RDB base file %s, AOF loading aborted: the file is encrypted", name)
		}
		if _, err := ld.opts.LoadRDB(io.NewSectionReader(ld.f, 0, ld.size), name); err != nil {
			return fmt.Errorf("Error reading the RDB base file %s, AOF loading aborted: %w", name, err)
		}
		ld.st.Bytes += ld.size
		return nil
	}
	if ld.size >= 5 && bytes.Equal(ld.buf[:5], []byte("REDIS")) {
		for {
			n, rerr := checkEmptyRDB(ld.buf)
			if rerr == nil {
				pos = int64(n)
				break
			}
			if rerr == errRDBNotSupported && ld.opts.LoadRDB != nil {
				// An RDB with keys: a base file, or the preamble of an
				// old-style AOF whose commands follow it, as Redis's
				// loadSingleAppendOnlyFile reads them.
				n, err := ld.opts.LoadRDB(io.NewSectionReader(ld.f, 0, ld.size), name)
				if err != nil {
					return fmt.Errorf("Error reading the RDB base file %s, AOF loading aborted: %w", name, err)
				}
				if n < 9 || n > ld.size {
					return fmt.Errorf("Error reading the RDB base file %s, AOF loading aborted: the RDB loader reported %d bytes of %d", name, n, ld.size)
				}
				pos, ld.base, ld.buf = n, n, ld.buf[:0]
				break
			}
			var re *rdbError
			if errors.As(rerr, &re) && re.off >= int64(len(ld.buf)) && int64(len(ld.buf)) < ld.size {
				if _, err := ld.ensure(0, min(ld.size, 2*int64(len(ld.buf))+loadChunk)); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("Error reading the RDB base file %s, AOF loading aborted: %w", name, rerr)
		}
	}

	res, err := ld.replay(pos)
	if err != nil {
		return err
	}
	valid, inTx := res.valid, res.inTx
	if !res.short && !inTx {
		ld.st.Bytes += ld.size
		return nil
	}
	if encrypted {
		// Chunks hold whole group-commit writes: a command cut inside
		// complete chunks is damage, not a crash.
		return fmt.Errorf("Bad file format reading the append only file %s: the decrypted data ends inside a command", name)
	}

	// A torn tail: an incomplete entry, or a MULTI never closed.
	what := "incomplete command"
	if !res.short {
		what = "MULTI without EXEC"
	}
	logf := ld.opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if !last {
		return fmt.Errorf("Unexpected end of file reading the append only file %s at offset %d (%s): the truncated file is not the last file", name, valid, what)
	}
	if !ld.opts.LoadTruncated {
		return fmt.Errorf("Unexpected end of file reading the append only file %s at offset %d (%s): make a backup of your AOF file, then use redis-check-aof --fix <filename.manifest>, or set aof-load-truncated yes", name, valid, what)
	}
	if inTx {
		logf("Revert incomplete MULTI/EXEC transaction in AOF file %s", name)
	}
	logf("!!! Warning: short read while loading the AOF file %s!!!", name)
	logf("!!! Truncating the AOF %s at offset %d !!!", name, valid)
	if err := truncateFile(path, valid); err != nil {
		return fmt.Errorf("Error truncating the AOF file %s: %w", name, err)
	}
	logf("AOF %s loaded anyway because aof-load-truncated is enabled", name)
	ld.st.Bytes += valid
	ld.st.Truncated = true
	return nil
}

// Parsing and applying overlap: a second goroutine parses the file into
// batches of commands (their arguments copied out of the read buffer) while
// the caller's goroutine applies them, in file order. pipeDepth batches
// circulate; one is flushed at batchBytes of arguments or batchCmds
// commands.
const (
	pipeDepth  = 4
	batchBytes = 256 << 10
	batchCmds  = 4096
)

// cmdBatch is a run of parsed commands: command j has argc[j] arguments, whose
// lengths follow one another in lens and whose bytes follow one another in
// data, and is reported at file offset offs[j] if it fails (a transaction's
// commands at its MULTI).
type cmdBatch struct {
	data []byte
	lens []int
	argc []int
	offs []int64
}

// parseResult is how the command part of a file ended.
type parseResult struct {
	valid int64 // end of the last complete command or transaction
	inTx  bool  // a MULTI is open at the end
	short bool  // the last entry runs past the end of the file
	err   error // damage, or a read error
}

// replay parses the file from pos on a goroutine of its own and applies
// what it parses on this one. It returns how the file ended, or the first
// error: an apply error stops the parsing; a parse error is returned once
// every command before the damage has been applied, as a sequential
// replay would.
func (ld *loader) replay(pos int64) (parseResult, error) {
	if ld.free == nil {
		ld.free = make(chan *cmdBatch, pipeDepth)
		for range pipeDepth {
			ld.free <- &cmdBatch{}
		}
	}
	out := make(chan *cmdBatch, pipeDepth)
	stop := make(chan struct{})
	var res parseResult
	go func() {
		defer close(out)
		res = ld.parse(pos, out, stop)
	}()
	var err error
	for b := range out {
		if err == nil {
			if err = ld.applyBatch(b); err != nil {
				close(stop)
			}
		}
		b.data, b.lens, b.argc, b.offs = b.data[:0], b.lens[:0], b.argc[:0], b.offs[:0]
		if cap(b.data) > 4*batchBytes {
			b.data = nil // a huge argument went through: don't keep its buffer
		}
		ld.free <- b // cannot block: only pipeDepth batches exist
	}
	if err == nil {
		err = res.err
	}
	return res, err
}

// applyBatch applies b's commands in order.
func (ld *loader) applyBatch(b *cmdBatch) error {
	p, k := 0, 0
	for j, n := range b.argc {
		ld.args = ld.args[:0]
		for _, l := range b.lens[k : k+n] {
			ld.args = append(ld.args, b.data[p:p+l:p+l])
			p += l
		}
		k += n
		if err := ld.run(ld.args, b.offs[j]); err != nil {
			return err
		}
	}
	return nil
}

// parse reads the commands from pos to the end of the file into batches
// sent on out; it stops early when stop is closed. It runs on its own
// goroutine and alone uses the read buffer and the span slices.
func (ld *loader) parse(pos int64, out chan<- *cmdBatch, stop <-chan struct{}) parseResult {
	var b *cmdBatch
	select {
	case b = <-ld.free:
	case <-stop:
		return parseResult{}
	}
	// send hands b over, and takes the next batch unless last.
	send := func(last bool) bool {
		select {
		case out <- b:
		case <-stop:
			return false
		}
		if last {
			return true
		}
		select {
		case b = <-ld.free:
			return true
		case <-stop:
			return false
		}
	}
	// emit copies one command's arguments into b.
	emit := func(spans []span, off int64) bool {
		for _, sp := range spans {
			i := sp.off - ld.base
			b.data = append(b.data, ld.buf[i:i+sp.n]...)
			b.lens = append(b.lens, int(sp.n))
		}
		b.argc = append(b.argc, len(spans))
		b.offs = append(b.offs, off)
		return (len(b.data) < batchBytes && len(b.argc) < batchCmds) || send(false)
	}

	valid := pos      // end of the last complete command or transaction
	inTx := false     // a MULTI is open
	var txStart int64 // where it began
	end := func(err error) parseResult {
		if len(b.argc) == 0 {
			ld.free <- b // cannot block, as in replay
		} else if !send(true) {
			return parseResult{}
		}
		return parseResult{valid: valid, inTx: inTx, short: ld.short, err: err}
	}
	for pos < ld.size {
		keep := pos
		if inTx {
			keep = txStart
		}
		next, cmd, ok, err := ld.entry(keep, pos)
		if err != nil {
			return end(err)
		}
		if !ok {
			break // ld.short: a torn tail
		}
		if !cmd {
			pos = next
			if !inTx {
				valid = next
			}
			continue
		}
		i := ld.cur[0].off - ld.base
		name0 := ld.buf[i : i+ld.cur[0].n]
		switch {
		case inTx && bytes.EqualFold(name0, []byte("EXEC")):
			k := 0
			for _, n := range ld.txN {
				if !emit(ld.tx[k:k+n], txStart) {
					return parseResult{}
				}
				k += n
			}
			inTx = false
			valid = next
		case inTx:
			ld.tx = append(ld.tx, ld.cur...)
			ld.txN = append(ld.txN, len(ld.cur))
		case bytes.EqualFold(name0, []byte("MULTI")):
			inTx, txStart = true, pos
			ld.tx, ld.txN = ld.tx[:0], ld.txN[:0]
		case bytes.EqualFold(name0, []byte("EXEC")):
			// EXEC without MULTI: Redis replies an error to its fake client
			// and goes on, so it is skipped.
			valid = next
		default:
			if !emit(ld.cur, pos) {
				return parseResult{}
			}
			valid = next
		}
		pos = next
	}
	return end(nil)
}

// decrypt replaces the file being loaded by its plaintext (an incr file
// written with encryption-key-file). A torn last chunk is the torn tail of
// an encrypted file: cut off under the same rule as a torn command.
func (ld *loader) decrypt(path, name string, last bool) error {
	if ld.opts.Key == nil {
		return fmt.Errorf("The append only file %s is encrypted: set encryption-key-file", name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("Unrecoverable error reading the append only file %s: %w", name, err)
	}
	plain, _, torn, err := crypt.OpenAppend(ld.opts.Key, data, name)
	if err != nil {
		return fmt.Errorf("Bad file format reading the append only file %s: %w", name, err)
	}
	if torn < int64(len(data)) {
		switch {
		case !last:
			return fmt.Errorf("Unexpected end of file reading the append only file %s at offset %d (incomplete encrypted chunk): the truncated file is not the last file", name, torn)
		case !ld.opts.LoadTruncated:
			return fmt.Errorf("Unexpected end of file reading the append only file %s at offset %d (incomplete encrypted chunk): set aof-load-truncated yes", name, torn)
		}
		ld.opts.logf("!!! Warning: short read while loading the AOF file %s!!!", name)
		ld.opts.logf("!!! Truncating the AOF %s at offset %d !!!", name, torn)
		if err := truncateFile(path, torn); err != nil {
			return fmt.Errorf("Error truncating the AOF file %s: %w", name, err)
		}
		ld.st.Truncated = true
	}
	ld.f, ld.size, ld.base, ld.buf, ld.short = bytes.NewReader(plain), int64(len(plain)), 0, ld.buf[:0], false
	return nil
}

// truncateFile cuts path to size and makes that durable before new appends.
func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
