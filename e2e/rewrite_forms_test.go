package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The forms of an AOF rewrite: a base of commands (aof-use-rdb-preamble
// no), switching the format with CONFIG SET, and BGREWRITEAOF with
// appendonly no. Each checks the server under test against redis-server
// 7.0: the same command forms, the same files, the same DEBUG DIGEST.

// debugArgs lets DEBUG DIGEST run on a durable test server.
var debugArgs = []string{"--enable-debug-command", "yes"}

// withArgs joins flag lists.
func withArgs(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// debugDigest is DEBUG DIGEST's 40 hex digits.
func debugDigest(t testing.TB, c *Client) string {
	t.Helper()
	v := mustCall(t, c, "DEBUG", "DIGEST")
	if v.Kind != '+' || len(v.Line) != 40 {
		t.Fatalf("DEBUG DIGEST: %s", quoteReply(v.Raw))
	}
	return string(v.Line)
}

// rewriteAndWait sends BGREWRITEAOF, expects it to start, and waits for it
// to finish successfully.
func rewriteAndWait(t *testing.T, c *Client) {
	t.Helper()
	if r := mustCall(t, c, "BGREWRITEAOF"); string(r.Line) != "Background append only file rewriting started" {
		t.Fatalf("BGREWRITEAOF: %s", quoteReply(r.Raw))
	}
	waitRewrite(t, c)
	if info := string(mustCall(t, c, "INFO", "persistence").Str); !strings.Contains(info, "aof_last_bgrewrite_status:ok") {
		t.Fatalf("the rewrite failed:\n%s", info)
	}
}

// checkAOFDir runs redis-check-aof (when installed) on the manifest of the
// AOF directory under dir.
func checkAOFDir(t testing.TB, dir string) {
	t.Helper()
	checkAOF := filepath.Join(filepath.Dir(suite.redis), "redis-check-aof")
	if _, err := os.Stat(checkAOF); err != nil {
		if checkAOF, err = exec.LookPath("redis-check-aof"); err != nil {
			t.Log("redis-check-aof not found: not run")
			return
		}
	}
	manifest := filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest")
	if out, err := exec.Command(checkAOF, manifest).CombinedOutput(); err != nil {
		t.Errorf("redis-check-aof %s: %v\n%s", manifest, err, out)
	}
}

// aofDirFiles lists the AOF directory under dir (names sorted) and its
// manifest's text.
func aofDirFiles(t testing.TB, dir string) (names []string, manifest string) {
	t.Helper()
	aofDir := filepath.Join(dir, "appendonlydir")
	entries, err := os.ReadDir(aofDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	m, err := os.ReadFile(filepath.Join(aofDir, "appendonly.aof.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	return names, string(m)
}

// aofBase returns the name and content of the base file the manifest
// under dir lists.
func aofBase(t testing.TB, dir string) (string, []byte) {
	t.Helper()
	aofDir := filepath.Join(dir, "appendonlydir")
	for _, e := range readManifest(t, filepath.Join(aofDir, "appendonly.aof.manifest")) {
		if e.typ == "b" {
			data, err := os.ReadFile(filepath.Join(aofDir, e.name))
			if err != nil {
				t.Fatal(err)
			}
			return e.name, data
		}
	}
	t.Fatalf("no base file in %s", aofDir)
	return "", nil
}

// parseAOF splits a plain AOF (RESP commands only) into commands.
func parseAOF(t testing.TB, data []byte) [][][]byte {
	t.Helper()
	var cmds [][][]byte
	num := func(i int, tag byte) (int, int) {
		if data[i] != tag {
			t.Fatalf("AOF offset %d: %q, want %q", i, data[i], tag)
		}
		j := i + bytes.Index(data[i:], []byte("\r\n"))
		n, err := strconv.Atoi(string(data[i+1 : j]))
		if err != nil {
			t.Fatalf("AOF offset %d: %v", i, err)
		}
		return n, j + 2
	}
	for i := 0; i < len(data); {
		n, p := num(i, '*')
		args := make([][]byte, n)
		for k := range args {
			var l int
			l, p = num(p, '$')
			args[k] = data[p : p+l]
			p += l + 2
		}
		cmds = append(cmds, args)
		i = p
	}
	return cmds
}

// keyBlocks groups the commands of a rewritten base by database and key:
// the RESP bytes of every command of one key, in file order.
func keyBlocks(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	db := "0"
	for _, args := range parseAOF(t, data) {
		if strings.EqualFold(string(args[0]), "SELECT") {
			db = string(args[1])
			continue
		}
		k := db + "/" + string(args[1])
		out[k] = AppendCommand(out[k], args)
	}
	return out
}

// unorderedForm renders the block of a hashtable-encoded value so that
// two blocks that differ only in item order render alike: each command's
// name and item count, then the items sorted, then the PEXPIREAT if any.
func unorderedForm(t testing.TB, block []byte, width int) string {
	t.Helper()
	var heads, items []string
	tail := ""
	for _, args := range parseAOF(t, block) {
		name := string(args[0])
		if name == "PEXPIREAT" {
			tail = argsText(args)
			continue
		}
		heads = append(heads, name+"/"+strconv.Itoa((len(args)-2)/width))
		for j := 2; j+width <= len(args); j += width {
			items = append(items, string(bytes.Join(args[j:j+width], []byte(" "))))
		}
	}
	slices.Sort(heads)
	slices.Sort(items)
	return strings.Join(heads, ",") + "|" + strings.Join(items, ",") + "|" + tail
}

// formsDataset is one key of each encoding whose rewrite order redis-server
// makes deterministic (strings, lists, intsets, listpack sorted sets and
// hashes), batches past 64 items, expiries and a second database; and the
// hashtable encodings, keyed by how many arguments make one item.
func formsDataset() (cmds [][]string, unordered map[string]int) {
	nums := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + strconv.Itoa(i+1)
		}
		return out
	}
	pairs := func(n int, score func(i int) string, member string) []string {
		var out []string
		for i := 1; i <= n; i++ {
			out = append(out, score(i), member+strconv.Itoa(i))
		}
		return out
	}
	cmds = [][]string{
		{"SET", "str", "hello world"},
		{"SET", "int", "-12345"},
		{"SET", "empty", ""},
		{"SET", "ttl", "v"}, {"PEXPIREAT", "ttl", "4102444800123"},
		{"SETRANGE", "bits", "3", "\x00\xff"},
		{"PFADD", "hll", "a", "b", "c", "d"},
		{"RPUSH", "list", "a", "b", "3", "-7", "", "x y"},
		append([]string{"RPUSH", "biglist"}, nums("", 200)...),
		{"LPUSH", "ttllist", "1", "2"}, {"PEXPIREAT", "ttllist", "4102444800999"},
		{"SADD", "intset", "5", "1", "-3", "100000000000"},
		append([]string{"SADD", "bigintset"}, nums("", 130)...),
		{"ZADD", "zset", "1", "a", "2.5", "b", "-0.1", "c", "1e20", "d", "+inf", "e", "-inf", "f", "0", "g", "3.14159", "h"},
		append([]string{"ZADD", "bigzset"}, pairs(100, func(i int) string { return strconv.Itoa(i) + ".25" }, "m")...),
		{"HSET", "hash", "f1", "v1", "f2", "22", "f3", ""},
		append([]string{"HSET", "bighash"}, pairs(100, func(i int) string { return "f" + strconv.Itoa(i) }, "v")...),
		{"SELECT", "5"},
		{"SET", "db5", "x"},
		{"RPUSH", "db5list", "1"},
		{"SADD", "hset", "a", "b", "c", "d"},
		append([]string{"SADD", "bighset"}, nums("m", 150)...),
		append([]string{"ZADD", "skipzset"}, pairs(200, func(i int) string { return strconv.Itoa(i) + ".5" }, "m")...),
		append([]string{"HSET", "tablehash"}, pairs(600, func(i int) string { return "f" + strconv.Itoa(i) }, "v")...),
		{"HSET", "longhash", "f", strings.Repeat("v", 100)}, {"PEXPIREAT", "longhash", "4102444800777"},
		{"SELECT", "0"},
	}
	unordered = map[string]int{"5/hset": 1, "5/bighset": 1, "5/skipzset": 2, "5/tablehash": 2, "5/longhash": 2}
	return cmds, unordered
}

// TestAOFRewriteFormsMatchRedis writes the same dataset to the server
// under test and to redis-server, both with aof-use-rdb-preamble no, and
// compares their rewritten .base.aof files key by key: byte for byte
// where Redis's order is deterministic, item for item otherwise.
func TestAOFRewriteFormsMatchRedis(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	cmds, unordered := formsDataset()
	bases := map[string]map[string][]byte{}
	digests := map[string]string{}
	for _, k := range []string{"redis", kind} {
		dir := t.TempDir()
		srv := startDurable(t, k, dir, withArgs(debugArgs, []string{"--appendonly", "yes", "--aof-use-rdb-preamble", "no"})...)
		c := srv.dial(t)
		for _, args := range cmds {
			mustCall(t, c, args...)
		}
		rewriteAndWait(t, c)
		digests[k] = debugDigest(t, c)
		c.Close()
		srv.kill()
		name, data := aofBase(t, dir)
		if name != "appendonly.aof.2.base.aof" {
			t.Fatalf("%s: base file %s, want appendonly.aof.2.base.aof", k, name)
		}
		bases[k] = keyBlocks(t, data)
	}
	if digests["redis"] != digests[kind] {
		t.Errorf("DEBUG DIGEST: redis-server %s, %s %s", digests["redis"], kind, digests[kind])
	}
	want, got := bases["redis"], bases[kind]
	for key, w := range want {
		g, ok := got[key]
		switch {
		case !ok:
			t.Errorf("%s: no commands in %s's base", key, kind)
		case unordered[key] != 0:
			if wf, gf := unorderedForm(t, w, unordered[key]), unorderedForm(t, g, unordered[key]); wf != gf {
				t.Errorf("%s: items differ\nredis-server: %.300s\n%s: %.300s", key, wf, kind, gf)
			}
		case !bytes.Equal(w, g):
			t.Errorf("%s:\nredis-server: %q\n%s: %q", key, w, kind, g)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s: in %s's base only", key, kind)
		}
	}
}

// TestAOFRewritePreambleNo: a rewrite with aof-use-rdb-preamble no under
// writes leaves a .base.aof of commands and one incr file; the server
// under test restarted on it, redis-check-aof and redis-server 7.0 all
// agree on the dataset (DEBUG DIGEST).
func TestAOFRewritePreambleNo(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	seq := typesWriteSequence(41, 1500)
	dir := t.TempDir()
	args := withArgs(debugArgs, []string{"--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "no"})
	srv := startDurable(t, kind, dir, args...)
	c := srv.dial(t)
	writeSeq(t, c, seq[:1000])
	mustCall(t, c, "SELECT", "7")
	writeSeq(t, c, typesWriteSequence(42, 200))
	mustCall(t, c, "SELECT", "0")
	if r := mustCall(t, c, "BGREWRITEAOF"); string(r.Line) != "Background append only file rewriting started" {
		t.Fatalf("BGREWRITEAOF: %s", quoteReply(r.Raw))
	}
	writeSeq(t, c, seq[1000:]) // while the snapshot is written
	waitRewrite(t, c)
	writeSeq(t, c, typesWriteSequence(43, 200))
	want := debugDigest(t, c)
	wantData := dumpDataset(t, c)
	c.Close()
	srv.kill()

	m := readManifest(t, filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest"))
	if len(m) != 2 || m[0].name != "appendonly.aof.2.base.aof" || m[0].typ != "b" || m[1].typ != "i" {
		t.Fatalf("manifest after the rewrite: %+v", m)
	}
	if _, base := aofBase(t, dir); !bytes.HasPrefix(base, []byte("*2\r\n$6\r\nSELECT\r\n")) {
		t.Fatalf("the base does not start with a SELECT: %q", base[:min(len(base), 40)])
	} else if n := len(parseAOF(t, base)); n < 10 {
		t.Fatalf("the base holds %d commands", n)
	}
	if names, _ := aofDirFiles(t, dir); len(names) != 3 {
		t.Errorf("files after the rewrite: %v, want base, incr and manifest", names)
	}
	checkAOFDir(t, dir)

	again := startDurable(t, kind, dir, withArgs(debugArgs, []string{"--appendonly", "yes"})...)
	ac := again.dial(t)
	if got := debugDigest(t, ac); got != want {
		t.Errorf("DEBUG DIGEST after restarting %s: %s, before %s", kind, got, want)
		compareDatasets(t, "before", wantData, "after", dumpDataset(t, ac), 10*time.Second)
	}
	ac.Close()
	again.kill()

	red := startDurable(t, "redis", dir, withArgs(debugArgs, []string{"--appendonly", "yes"})...)
	rc := red.dial(t)
	if got := debugDigest(t, rc); got != want {
		t.Errorf("DEBUG DIGEST of redis-server on %s's directory: %s, want %s", kind, got, want)
		compareDatasets(t, kind, wantData, "redis-server", dumpDataset(t, rc), 10*time.Second)
	}
}

// TestAOFRewritePreambleSwitch: CONFIG SET aof-use-rdb-preamble decides
// the format of the next rewrite's base; the directory loads after each.
func TestAOFRewritePreambleSwitch(t *testing.T) {
	kind := requireDurableTarget(t)
	dir := t.TempDir()
	srv := startDurable(t, kind, dir, withArgs(debugArgs, []string{"--appendonly", "yes", "--appendfsync", "always"})...)
	c := srv.dial(t)
	writeSeq(t, c, typesWriteSequence(51, 500))
	steps := []struct{ preamble, base string }{
		{"yes", "appendonly.aof.2.base.rdb"},
		{"no", "appendonly.aof.3.base.aof"},
		{"yes", "appendonly.aof.4.base.rdb"},
		{"no", "appendonly.aof.5.base.aof"},
	}
	for i, st := range steps {
		mustCall(t, c, "CONFIG", "SET", "aof-use-rdb-preamble", st.preamble)
		rewriteAndWait(t, c)
		writeSeq(t, c, typesWriteSequence(uint64(52+i), 100))
		if name, _ := aofBase(t, dir); name != st.base {
			t.Fatalf("after a rewrite with aof-use-rdb-preamble %s: base %s, want %s", st.preamble, name, st.base)
		}
	}
	want := debugDigest(t, c)
	c.Close()
	srv.kill()
	again := startDurable(t, kind, dir, withArgs(debugArgs, []string{"--appendonly", "yes"})...)
	if got := debugDigest(t, again.dial(t)); got != want {
		t.Errorf("DEBUG DIGEST after restart: %s, want %s", got, want)
	}
}

// TestAOFRewriteAppendOnlyNo: BGREWRITEAOF with appendonly no rewrites, as
// redis-server 7.0 does: the AOF directory holds the base and a manifest
// listing only it (the next rewrite takes the next seq and removes the
// old base), INFO counts the rewrite with aof_enabled:0, and a start with
// appendonly yes on the directory loads the dataset, in both servers.
func TestAOFRewriteAppendOnlyNo(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	type outcome struct {
		files    [2][]string
		manifest [2]string
		digest   string
	}
	results := map[string]outcome{}
	cmds, _ := formsDataset()
	for _, k := range []string{"redis", kind} {
		dir := t.TempDir()
		srv := startDurable(t, k, dir, withArgs(debugArgs, []string{"--appendonly", "no"})...)
		c := srv.dial(t)
		// A dataset without random picks (SPOP ...): both servers hold the
		// same one.
		for _, args := range cmds {
			mustCall(t, c, args...)
		}
		var o outcome
		for i, preamble := range []string{"yes", "no"} {
			mustCall(t, c, "CONFIG", "SET", "aof-use-rdb-preamble", preamble)
			rewriteAndWait(t, c)
			o.files[i], o.manifest[i] = aofDirFiles(t, dir)
		}
		info := string(mustCall(t, c, "INFO", "persistence").Str)
		for _, f := range []string{"aof_enabled:0", "aof_rewrites:2", "aof_last_bgrewrite_status:ok", "aof_rewrite_in_progress:0"} {
			if !strings.Contains(info, f+"\r\n") {
				t.Errorf("%s: INFO persistence lacks %s:\n%s", k, f, info)
			}
		}
		if strings.Contains(info, "aof_current_size") {
			t.Errorf("%s: INFO persistence shows aof_current_size with appendonly no", k)
		}
		o.digest = debugDigest(t, c)
		c.Close()
		srv.kill()
		results[k] = o
		checkAOFDir(t, dir)

		// appendonly yes on the directory, by the server that wrote it and by
		// redis-server.
		loaders := []string{k}
		if k != "redis" {
			loaders = append(loaders, "redis")
		}
		for _, loader := range loaders {
			again := startDurable(t, loader, dir, withArgs(debugArgs, []string{"--appendonly", "yes"})...)
			ac := again.dial(t)
			if got := debugDigest(t, ac); got != o.digest {
				t.Errorf("%s with appendonly yes on %s's directory: DEBUG DIGEST %s, want %s\n%s", loader, k, got, o.digest, again.out)
			}
			ac.Close()
			again.kill()
			if loader != "redis" {
				// It added an incr file after the base: redis-server then
				// loads a directory the server under test opened.
				checkAOFDir(t, dir)
			}
		}
	}
	want, got := results["redis"], results[kind]
	wantFiles := [2]string{
		"appendonly.aof.1.base.rdb appendonly.aof.manifest",
		"appendonly.aof.2.base.aof appendonly.aof.manifest",
	}
	wantMan := [2]string{
		"file appendonly.aof.1.base.rdb seq 1 type b\n",
		"file appendonly.aof.2.base.aof seq 2 type b\n",
	}
	for i := range 2 {
		for _, k := range []string{"redis", kind} {
			o := results[k]
			if strings.Join(o.files[i], " ") != wantFiles[i] || o.manifest[i] != wantMan[i] {
				t.Errorf("%s, rewrite %d: files %v, manifest %q; want %s and %q", k, i+1, o.files[i], o.manifest[i], wantFiles[i], wantMan[i])
			}
		}
	}
	if want.digest != got.digest {
		t.Errorf("DEBUG DIGEST: redis-server %s, %s %s", want.digest, kind, got.digest)
	}
}

// TestEncryptionAOFBaseCommands: with encryption-key-file and
// aof-use-rdb-preamble no, the .base.aof is encrypted like the incr files
// (no plaintext) and a restart with the key loads the dataset; also with
// appendonly no.
func TestEncryptionAOFBaseCommands(t *testing.T) {
	kind := requireBasalt(t)
	key := writeKeyFile(t, t.TempDir(), "k", 0x3c)
	for _, appendonly := range []string{"yes", "no"} {
		t.Run("appendonly-"+appendonly, func(t *testing.T) {
			dir := t.TempDir()
			args := withArgs(debugArgs, []string{"--encryption-key-file", key, "--aof-use-rdb-preamble", "no", "--appendfsync", "always"})
			srv := startDurable(t, kind, dir, withArgs(args, []string{"--appendonly", appendonly})...)
			c := srv.dial(t)
			writeSeq(t, c, typesWriteSequence(71, 600))
			mustCall(t, c, "SET", "enc:cmd", "s3cr3t-cmd-base")
			rewriteAndWait(t, c)
			want := debugDigest(t, c) // what the base holds
			writeSeq(t, c, typesWriteSequence(72, 100))
			if appendonly == "yes" { // the incr file holds the rest
				want = debugDigest(t, c)
			}
			c.Close()
			srv.kill()
			name, base := aofBase(t, dir)
			if !strings.HasSuffix(name, ".base.aof") || !bytes.HasPrefix(base, []byte(encMagic)) ||
				bytes.Contains(base, []byte("s3cr3t")) || bytes.Contains(base, []byte("SELECT")) {
				t.Fatalf("base %s is not an encrypted command file: %q", name, base[:min(len(base), 16)])
			}
			again := startDurable(t, kind, dir, withArgs(args, []string{"--appendonly", "yes"})...)
			ac := again.dial(t)
			if got := debugDigest(t, ac); got != want {
				t.Errorf("DEBUG DIGEST after restart: %s, want %s", got, want)
			}
			ac.Close()
			again.kill()
			out := expectNoStart(t, kind, dir, "--appendonly", "yes")
			if !strings.Contains(out, "is encrypted: set encryption-key-file") {
				t.Fatalf("AOF base without a key: got:\n%s", out)
			}
		})
	}
}
