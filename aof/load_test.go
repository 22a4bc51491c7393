package aof

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/rdb"
)

// writeDir writes an AOF directory: files in load order (the first one a
// base when base is true) and the manifest listing them.
func writeDir(t testing.TB, dir string, base bool, files ...[]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &manifest{}
	for i, content := range files {
		var e manifestEntry
		if i == 0 && base {
			e = manifestEntry{Name: "appendonly.aof.1.base.aof", Seq: 1, Type: typeBase}
			if bytes.HasPrefix(content, []byte("REDIS")) {
				e.Name = "appendonly.aof.1.base.rdb"
			}
			m.Base = &e
		} else {
			e = manifestEntry{Name: incrName("appendonly.aof", int64(i+1)), Seq: int64(i + 1), Type: typeIncr}
			m.Incr = append(m.Incr, e)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "appendonly.aof.manifest"), []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAbsent(t *testing.T) {
	opts := testOpts(t)
	for _, dir := range []string{filepath.Join(opts.Dir, "nope"), opts.Dir} {
		opts.Dir = dir
		st, err := Load(opts, func([][]byte) error { t.Fatal("applied"); return nil })
		if err != nil || st != (LoadStats{}) {
			t.Fatalf("%s: %+v %v", dir, st, err)
		}
	}
}

func TestLoadMultiFile(t *testing.T) {
	opts := testOpts(t)
	base := cat(resp("SET", "a", "1"), resp("RPUSH", "l", "x", "y"))
	incr1 := cat([]byte("#TS:1700000000\r\n"), resp("SELECT", "2"), resp("MULTI"), resp("SET", "b", ""), resp("INCR", "c"), resp("exec"))
	incr2 := []byte{}
	incr3 := cat(resp("SELECT", "0"), resp("DEL", "a"), resp("EXEC"), resp("SET", "big", strings.Repeat("v", 3*loadChunk+7)))
	writeDir(t, opts.Dir, true, base, incr1, incr2, incr3)
	// A history file in the manifest is not replayed.
	mf := filepath.Join(opts.Dir, "appendonly.aof.manifest")
	data, _ := os.ReadFile(mf)
	os.WriteFile(mf, append([]byte("file appendonly.aof.9.incr.aof seq 9 type h\n"), data...), 0o644)

	var c collect
	st, err := Load(opts, c.apply)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SET a 1", "RPUSH l x y", "SELECT 2", "SET b ", "INCR c", "SELECT 0", "DEL a", "SET big " + strings.Repeat("v", 3*loadChunk+7)}
	if strings.Join(c.got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q", c.got)
	}
	if st.Commands != int64(len(want)) || st.Bytes != int64(len(base)+len(incr1)+len(incr3)) || st.Truncated {
		t.Fatalf("stats %+v", st)
	}

	// An RDB base without keys followed by an old-style AOF tail.
	opts.Dir = t.TempDir()
	writeDir(t, opts.Dir, true, cat(emptyRDB(1), resp("SET", "p", "1")), resp("SET", "q", "2"))
	c = collect{}
	if _, err := Load(opts, c.apply); err != nil || strings.Join(c.got, ",") != "SET p 1,SET q 2" {
		t.Fatalf("%q %v", c.got, err)
	}

	// An RDB base holding keys is refused.
	opts.Dir = t.TempDir()
	writeDir(t, opts.Dir, true, append([]byte("REDIS0010\xfe\x00\x00\x01k\x01v\xff"), make([]byte, 8)...))
	if _, err := Load(opts, c.apply); err == nil || !strings.Contains(err.Error(), "RDB base files are not supported yet") ||
		!strings.Contains(err.Error(), "appendonly.aof.1.base.rdb") {
		t.Fatal(err)
	}

	// A file the manifest lists must exist.
	os.Remove(filepath.Join(opts.Dir, "appendonly.aof.1.base.rdb"))
	if _, err := Load(opts, c.apply); err == nil || !strings.Contains(err.Error(), "doesn't exist") {
		t.Fatal(err)
	}

	// apply's errors stop the load, with file and offset.
	opts.Dir = t.TempDir()
	writeDir(t, opts.Dir, false, cat(resp("SET", "a", "1"), resp("BOOM")))
	_, err = Load(opts, func(args [][]byte) error {
		if string(args[0]) == "BOOM" {
			return errors.New("unknown command")
		}
		return nil
	})
	if err == nil || err.Error() != "Error replaying the append only file appendonly.aof.1.incr.aof at offset 27: unknown command" {
		t.Fatal(err)
	}
}

// tornContent is a small AOF and the offsets where its complete units end
// (a transaction is one unit).
func tornContent() ([]byte, []int, [][]string) {
	units := [][]byte{
		resp("SELECT", "0"),
		[]byte("#TS:1\r\n"),
		resp("SET", "k", "v"),
		cat(resp("MULTI"), resp("INCR", "n"), resp("SET", "x", "ab\r\ncd"), resp("EXEC")),
		resp("DEL", "k"),
	}
	applied := [][]string{{"SELECT 0"}, nil, {"SET k v"}, {"INCR n", "SET x ab\r\ncd"}, {"DEL k"}}
	var b []byte
	var ends []int
	for _, u := range units {
		b = append(b, u...)
		ends = append(ends, len(b))
	}
	return b, ends, applied
}

// TestLoadTornTail cuts the last file at every byte: with aof-load-truncated
// the file is cut back to the last complete unit, otherwise Load fails naming
// the file and that offset. Torn non-last files always fail.
func TestLoadTornTail(t *testing.T) {
	full, ends, applied := tornContent()
	for cut := 0; cut <= len(full); cut++ {
		valid, units := 0, 0
		for units < len(ends) && ends[units] <= cut {
			valid = ends[units]
			units++
		}
		var want []string
		for _, a := range applied[:units] {
			want = append(want, a...)
		}
		torn := cut != valid

		for _, truncated := range []bool{true, false} {
			opts := testOpts(t)
			opts.LoadTruncated = truncated
			var logs []string
			opts.Logf = func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
			writeDir(t, opts.Dir, true, emptyRDB(1), full[:cut])
			var c collect
			st, err := Load(opts, c.apply)
			incr := filepath.Join(opts.Dir, "appendonly.aof.2.incr.aof")
			size := fileSize(t, incr)
			switch {
			case !torn || truncated:
				if err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				if strings.Join(c.got, "|") != strings.Join(want, "|") {
					t.Fatalf("cut %d: applied %q, want %q", cut, c.got, want)
				}
				if size != int64(valid) || st.Truncated != torn || st.Bytes != int64(valid+len(emptyRDB(1))) {
					t.Fatalf("cut %d: size %d, stats %+v, want size %d", cut, size, st, valid)
				}
				if torn && !strings.Contains(strings.Join(logs, "\n"), fmt.Sprintf("Truncating the AOF appendonly.aof.2.incr.aof at offset %d", valid)) {
					t.Fatalf("cut %d: logs %q", cut, logs)
				}
			default:
				wantErr := fmt.Sprintf("reading the append only file appendonly.aof.2.incr.aof at offset %d", valid)
				if err == nil || !strings.Contains(err.Error(), wantErr) {
					t.Fatalf("cut %d: err %v, want %q", cut, err, wantErr)
				}
				if size != int64(cut) {
					t.Fatalf("cut %d: file changed to %d without aof-load-truncated", cut, size)
				}
			}
		}

		// The same cut in a file that is not the last one is fatal.
		if torn {
			opts := testOpts(t)
			opts.LoadTruncated = true
			writeDir(t, opts.Dir, false, full[:cut], resp("SET", "z", "1"))
			_, err := Load(opts, func([][]byte) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "not the last file") ||
				!strings.Contains(err.Error(), fmt.Sprintf("appendonly.aof.1.incr.aof at offset %d", valid)) {
				t.Fatalf("cut %d in a middle file: %v", cut, err)
			}
		}
	}
}

func fileSize(t testing.TB, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestLoadUnterminatedMulti: a complete MULTI block without its EXEC at the
// end is dropped (and cut off) like a short read.
func TestLoadUnterminatedMulti(t *testing.T) {
	opts := testOpts(t)
	opts.LoadTruncated = true
	head := cat(resp("SET", "a", "1"))
	writeDir(t, opts.Dir, false, cat(head, resp("MULTI"), resp("SET", "b", "2"), resp("SET", "c", "3")))
	var c collect
	st, err := Load(opts, c.apply)
	if err != nil || strings.Join(c.got, ",") != "SET a 1" || !st.Truncated {
		t.Fatalf("%q %+v %v", c.got, st, err)
	}
	if got := fileSize(t, filepath.Join(opts.Dir, "appendonly.aof.1.incr.aof")); got != int64(len(head)) {
		t.Fatalf("size %d, want %d", got, len(head))
	}
	opts.LoadTruncated = false
	writeDir(t, opts.Dir, false, cat(head, resp("MULTI"), resp("SET", "b", "2")))
	if _, err := Load(opts, c.apply); err == nil || !strings.Contains(err.Error(), "MULTI without EXEC") ||
		!strings.Contains(err.Error(), "offset 27") {
		t.Fatal(err)
	}
}

// TestLoadDamage: a wrong byte in the middle of the last file is refused
// with the file, the offset and what was expected, even with
// aof-load-truncated.
func TestLoadDamage(t *testing.T) {
	full, _, _ := tornContent()
	for _, c := range []struct {
		off  int
		b    byte
		want string
	}{
		{0, '+', "at offset 0: expected '*'"},
		{1, 'x', "at offset 1: expected the argument count"},
		{2, 'x', `at offset 2: expected a digit or '\r'`},
		{3, 'x', `at offset 3: expected '\n'`},
		{4, '*', "at offset 4: expected '$'"},
		{5, 'x', "at offset 5: expected the argument length"},
		{14, 'x', `at offset 14: expected "\r\n" after the argument`},
		{23, 'Z', "at offset 23: expected '*'"},
	} {
		b := bytes.Clone(full)
		b[c.off] = c.b
		opts := testOpts(t)
		opts.LoadTruncated = true
		writeDir(t, opts.Dir, false, b)
		_, err := Load(opts, func([][]byte) error { return nil })
		want := "Bad file format reading the append only file appendonly.aof.1.incr.aof " + c.want
		if err == nil || err.Error() != want {
			t.Errorf("byte %d = %q: err %v, want %q", c.off, c.b, err, want)
		}
	}
	opts := testOpts(t)
	writeDir(t, opts.Dir, false, resp())
	if _, err := Load(opts, func([][]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "at offset 1: expected an argument count of at least 1") {
		t.Fatal(err)
	}
}

// FuzzLoad: any file content either loads (possibly cut back, with the
// file then holding exactly what loads again without truncation) or fails
// with an error; never a panic.
func FuzzLoad(f *testing.F) {
	full, _, _ := tornContent()
	f.Add(full, true)
	f.Add(full[:17], true)
	f.Add(cat(emptyRDB(1), resp("SET", "a", "b")), false)
	f.Add([]byte("*1\r\n$999999999999\r\n"), true)
	f.Add([]byte("*3\r\n$3\r\nSET\r\n"), true)
	f.Fuzz(func(t *testing.T, content []byte, truncated bool) {
		opts := Options{Dir: t.TempDir(), FileName: "appendonly.aof", LoadTruncated: truncated}
		writeDir(t, opts.Dir, false, content)
		var c1 collect
		st, err := Load(opts, c1.apply)
		if err != nil {
			return
		}
		path := filepath.Join(opts.Dir, "appendonly.aof.1.incr.aof")
		if size := fileSize(t, path); size != st.Bytes || (!st.Truncated && size != int64(len(content))) {
			t.Fatalf("size %d, stats %+v, content %d", size, st, len(content))
		}
		if st.Truncated && !truncated {
			t.Fatal("truncated without aof-load-truncated")
		}
		opts.LoadTruncated = false
		var c2 collect
		st2, err := Load(opts, c2.apply)
		if err != nil || st2.Truncated || strings.Join(c1.got, "\x00") != strings.Join(c2.got, "\x00") {
			t.Fatalf("reload: %v %+v %q vs %q", err, st2, c1.got, c2.got)
		}
	})
}

// rdbWithKeys is an RDB (version 10) holding string keys in database 0,
// its CRC64 set: the preamble of an old-style AOF.
func rdbWithKeys(kv ...string) []byte {
	b := []byte("REDIS0010\xfa\x09redis-ver\x067.0.15\xfe\x00")
	str := func(s string) {
		if len(s) < 64 {
			b = append(b, byte(len(s)))
		} else {
			b = append(b, 0x80, byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s)))
		}
		b = append(b, s...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b = append(b, 0) // string
		str(kv[i])
		str(kv[i+1])
	}
	b = append(b, rdbOpEOF)
	return append(b, binary.LittleEndian.AppendUint64(nil, rdbCRC(b))...)
}

// rdbHook is a LoadRDB that reads the RDB with package rdb (which reads
// ahead in blocks and seeks back over the excess) and records each key as
// an "RDB key value" command.
func rdbHook(c *collect) func(io.ReadSeeker, string) (int64, error) {
	return func(f io.ReadSeeker, name string) (int64, error) {
		err := rdb.Load(f, name, nil, func(db int, key []byte, v rdb.Value, _ int64) error {
			return c.apply([][]byte{[]byte("RDB"), key, v.Str})
		})
		if err != nil {
			return 0, err
		}
		return f.Seek(0, io.SeekCurrent)
	}
}

// TestLoadRDBPreambleWithKeys: an old-style AOF (Redis before 7.0, moved
// into the directory as its base by Upgrade) that is an RDB holding keys
// followed by commands loads both parts, as Redis 7.0 does; then the incr
// files.
func TestLoadRDBPreambleWithKeys(t *testing.T) {
	big := strings.Repeat("x", 2*loadChunk+3) // the RDB reader reads past the footer
	preamble := rdbWithKeys("a", "1", "big", big)
	tail := cat(resp("SET", "b", "2"), resp("MULTI"), resp("INCR", "n"), resp("EXEC"), resp("SET", "big", "small"))
	for _, name := range []string{"appendonly.aof", "appendonly.aof.1.base.rdb"} {
		opts := testOpts(t)
		var c collect
		opts.LoadRDB = rdbHook(&c)
		writeDir(t, opts.Dir, true, cat(preamble, tail), resp("DEL", "a"))
		if name == "appendonly.aof" { // as Upgrade leaves it
			os.Rename(filepath.Join(opts.Dir, "appendonly.aof.1.base.rdb"), filepath.Join(opts.Dir, name))
			m := &manifest{Base: &manifestEntry{Name: name, Seq: 1, Type: typeBase},
				Incr: []manifestEntry{{Name: incrName("appendonly.aof", 2), Seq: 2, Type: typeIncr}}}
			os.WriteFile(filepath.Join(opts.Dir, "appendonly.aof.manifest"), []byte(m.String()), 0o644)
		}
		st, err := Load(opts, c.apply)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := []string{"RDB a 1", "RDB big " + big, "SET b 2", "INCR n", "SET big small", "DEL a"}
		if strings.Join(c.got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: got %.200q", name, c.got)
		}
		if st.Commands != 4 || st.Bytes != int64(len(preamble)+len(tail)+len(resp("DEL", "a"))) || st.Truncated {
			t.Fatalf("%s: stats %+v", name, st)
		}
	}

	// A torn tail after the preamble is cut back to the last complete
	// command, never into the RDB part.
	for _, cut := range []int{len(preamble), len(preamble) + 3, len(preamble) + len(resp("SET", "b", "2")) + 5} {
		opts := testOpts(t)
		opts.LoadTruncated = true
		var c collect
		opts.LoadRDB = rdbHook(&c)
		content := cat(preamble, tail)[:cut]
		writeDir(t, opts.Dir, true, content)
		st, err := Load(opts, c.apply)
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		valid := len(preamble)
		if cut > len(preamble)+len(resp("SET", "b", "2")) {
			valid += len(resp("SET", "b", "2"))
		}
		path := filepath.Join(opts.Dir, "appendonly.aof.1.base.rdb")
		if size := fileSize(t, path); size != int64(valid) || st.Truncated != (cut != valid) || st.Bytes != int64(valid) {
			t.Fatalf("cut %d: size %d, want %d; stats %+v", cut, size, valid, st)
		}
	}

	// Without the hook such a file is refused; a hook that reports a
	// length the file cannot hold is an error, not a guess.
	opts := testOpts(t)
	writeDir(t, opts.Dir, true, cat(preamble, tail))
	var c collect
	if _, err := Load(opts, c.apply); err == nil || !strings.Contains(err.Error(), "RDB base files are not supported yet") {
		t.Fatal(err)
	}
	opts.LoadRDB = func(io.ReadSeeker, string) (int64, error) { return int64(len(preamble) + len(tail) + 1), nil }
	if _, err := Load(opts, c.apply); err == nil || !strings.Contains(err.Error(), "the RDB loader reported") {
		t.Fatal(err)
	}
	opts.LoadRDB = func(io.ReadSeeker, string) (int64, error) { return 0, errors.New("boom") }
	if _, err := Load(opts, c.apply); err == nil || err.Error() != "Error reading the RDB base file appendonly.aof.1.base.rdb, AOF loading aborted: boom" {
		t.Fatal(err)
	}
}

// TestLoadManyFiles: more files than the parser has batches in flight,
// empty ones and ones that end inside a batch or exactly at its end, and
// commands bigger than a batch; everything arrives once, in order.
func TestLoadManyFiles(t *testing.T) {
	opts := testOpts(t)
	var files [][]byte
	var want []string
	n := 0
	for f := range 3 * pipeDepth {
		var content []byte
		k := (f % 4) * batchCmds / 2 // 0, half, one and one and a half batches
		for range k {
			content = append(content, resp("SET", fmt.Sprint("k", n), "v")...)
			want = append(want, fmt.Sprint("SET k", n, " v"))
			n++
		}
		if f%5 == 2 {
			big := strings.Repeat("b", batchBytes*5+1)
			content = append(content, resp("SET", "big", big)...)
			want = append(want, "SET big "+big)
		}
		files = append(files, content)
	}
	for range pipeDepth + 1 {
		files = append(files, nil)
	}
	files = append(files, resp("SET", "last", "1"))
	want = append(want, "SET last 1")
	writeDir(t, opts.Dir, false, files...)
	var c collect
	st, err := Load(opts, c.apply)
	if err != nil {
		t.Fatal(err)
	}
	if st.Commands != int64(len(want)) || strings.Join(c.got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%d commands, want %d", st.Commands, len(want))
	}
}

// TestLoadApplyErrorStopsParsing: an apply error ends the load at once
// (the parser stops too, leaving nothing running), naming the command's
// offset; a transaction's commands are reported at its MULTI.
func TestLoadApplyErrorStopsParsing(t *testing.T) {
	opts := testOpts(t)
	var content []byte
	for i := range 5 * batchCmds {
		content = append(content, resp("SET", fmt.Sprint("k", i), "v")...)
	}
	multiAt := len(content)
	content = cat(content, resp("MULTI"), resp("SET", "a", "1"), resp("BOOM"), resp("EXEC"))
	for i := range 5 * batchCmds {
		content = append(content, resp("SET", fmt.Sprint("z", i), "v")...)
	}
	writeDir(t, opts.Dir, false, content)
	applied := 0
	_, err := Load(opts, func(args [][]byte) error {
		if string(args[0]) == "BOOM" {
			return errors.New("unknown command")
		}
		applied++
		return nil
	})
	want := fmt.Sprintf("Error replaying the append only file appendonly.aof.1.incr.aof at offset %d: unknown command", multiAt)
	if err == nil || err.Error() != want {
		t.Fatalf("%v, want %s", err, want)
	}
	if applied != 5*batchCmds+1 {
		t.Fatalf("%d applied", applied)
	}
}
