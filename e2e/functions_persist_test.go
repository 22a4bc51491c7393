package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Function libraries persist as Redis 7.0 persists them: FUNCTION2
// records before the databases of an RDB file (SAVE, BGSAVE, DEBUG
// RELOAD, an AOF base with aof-use-rdb-preamble yes), "FUNCTION LOAD
// <code>" commands at the head of a base with aof-use-rdb-preamble no, and
// files of either server load in the other with the same FUNCTION LIST.

// persistLibs: one LZF-compressed library with flags and a description,
// one short one. One function each, so FUNCTION LIST's order inside a
// library is fixed.
var persistLibs = []string{
	"#!lua name=mylib\nredis.register_function{function_name='myfunc', callback=function(keys, args) return 'hello from mylib, hello again' end, flags={'no-writes'}, description='says hello'}",
	"#!lua name=lib2\nredis.register_function('f2', function(keys, args) return 2 end)",
}

// loadLibs loads persistLibs on c.
func loadLibs(t *testing.T, c *Client) {
	t.Helper()
	for _, l := range persistLibs {
		mustCall(t, c, "FUNCTION", "LOAD", l)
	}
}

// functionList is FUNCTION LIST WITHCODE with the libraries in a fixed
// order (Redis lists them in its dict's order).
func functionList(t *testing.T, c *Client) string {
	t.Helper()
	return string(mustCall(t, c, "FUNCTION", "LIST", "WITHCODE").Canonical(false))
}

// checkLibs fails unless c lists want and FCALL runs a loaded function.
func checkLibs(t *testing.T, name string, c *Client, want string) {
	t.Helper()
	if got := functionList(t, c); got != want {
		t.Errorf("%s: FUNCTION LIST WITHCODE\n got %q\nwant %q", name, got, want)
	}
	if r := mustCall(t, c, "FCALL", "f2", "0"); string(r.Raw) != ":2\r\n" {
		t.Errorf("%s: FCALL f2: %q", name, r.Raw)
	}
}

func TestFunctionsPersist(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)

	for _, how := range []string{"SAVE", "BGSAVE"} {
		t.Run(strings.ToLower(how)+"-to-self-and-redis", func(t *testing.T) {
			dir := t.TempDir()
			srv := startDurable(t, kind, dir)
			c := srv.dial(t)
			loadLibs(t, c)
			if how == "SAVE" { // BGSAVE: libraries and no key
				mustCall(t, c, "SET", "k", "v")
			}
			want := functionList(t, c)
			mustCall(t, c, how)
			waitBgsave(t, c)
			srv.kill()

			again := startDurable(t, kind, dir)
			checkLibs(t, kind+" restarted", again.dial(t), want)
			again.kill()
			red := startDurable(t, "redis", dir, "--dbfilename", "dump.rdb")
			checkLibs(t, "redis-server on "+kind+"'s file", red.dial(t), want)
		})
	}

	t.Run("debug-reload", func(t *testing.T) {
		dir := t.TempDir()
		srv := startDurable(t, kind, dir, "--enable-debug-command", "yes")
		c := srv.dial(t)
		loadLibs(t, c)
		mustCall(t, c, "SET", "k", "v")
		want := functionList(t, c)
		if r := mustCall(t, c, "DEBUG", "RELOAD"); string(r.Line) != "OK" {
			t.Fatalf("DEBUG RELOAD: %q", r.Raw)
		}
		checkLibs(t, "after DEBUG RELOAD", c, want)
		if r := mustCall(t, c, "GET", "k"); string(r.Str) != "v" {
			t.Errorf("GET k after DEBUG RELOAD: %q", r.Raw)
		}
	})

	t.Run("from-redis", func(t *testing.T) {
		dir := t.TempDir()
		red := startDurable(t, "redis", dir)
		rc := red.dial(t)
		loadLibs(t, rc)
		mustCall(t, rc, "SET", "k", "v")
		want := functionList(t, rc)
		mustCall(t, rc, "SAVE")
		red.kill()
		srv := startDurable(t, kind, dir)
		checkLibs(t, kind+" on redis-server's file", srv.dial(t), want)
	})

	// An RDB base holds the libraries of the rewrite's instant; the incr
	// file the FUNCTION commands after it. Both servers load the directory.
	t.Run("aof-rdb-preamble", func(t *testing.T) {
		dir := t.TempDir()
		args := []string{"--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "yes"}
		srv := startDurable(t, kind, dir, args...)
		c := srv.dial(t)
		mustCall(t, c, "FUNCTION", "LOAD", persistLibs[0])
		mustCall(t, c, "SET", "k", "v")
		mustCall(t, c, "BGREWRITEAOF")
		waitRewrite(t, c)
		mustCall(t, c, "FUNCTION", "LOAD", persistLibs[1])
		want := functionList(t, c)
		srv.kill()
		again := startDurable(t, kind, dir, args...)
		checkLibs(t, kind+" restarted", again.dial(t), want)
		again.kill()
		red := startDurable(t, "redis", dir, args...)
		checkLibs(t, "redis-server on "+kind+"'s directory", red.dial(t), want)
	})

	// aof-use-rdb-preamble no: the base is "FUNCTION LOAD <code>" per
	// library, then SELECT and the keys, byte for byte what redis-server
	// writes for the same dataset (one library: Redis's dict order of
	// several is its own).
	t.Run("aof-commands-base", func(t *testing.T) {
		args := []string{"--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "no"}
		base := func(kind string) (string, []byte) {
			dir := t.TempDir()
			srv := startDurable(t, kind, dir, args...)
			c := srv.dial(t)
			mustCall(t, c, "FUNCTION", "LOAD", persistLibs[0])
			mustCall(t, c, "SET", "k", "v")
			mustCall(t, c, "BGREWRITEAOF")
			waitRewrite(t, c)
			srv.kill()
			aofDir := filepath.Join(dir, "appendonlydir")
			for _, e := range readManifest(t, filepath.Join(aofDir, "appendonly.aof.manifest")) {
				if e.typ == "b" {
					b, err := os.ReadFile(filepath.Join(aofDir, e.name))
					if err != nil {
						t.Fatal(err)
					}
					return dir, b
				}
			}
			t.Fatalf("%s: no base in the manifest", kind)
			return "", nil
		}
		dir, got := base(kind)
		_, want := base("redis")
		if !bytes.Equal(got, want) {
			t.Errorf("base differs:\n got %q\nwant %q", got, want)
		}
		if !bytes.HasPrefix(got, []byte("*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n")) {
			t.Errorf("base does not start with FUNCTION LOAD: %q", got)
		}
		// Both servers load the directory, a second library in its incr
		// file included.
		srv := startDurable(t, kind, dir, args...)
		c := srv.dial(t)
		mustCall(t, c, "FUNCTION", "LOAD", persistLibs[1])
		want2 := functionList(t, c)
		srv.kill()
		again := startDurable(t, kind, dir, args...)
		checkLibs(t, kind+" restarted", again.dial(t), want2)
		again.kill()
		red := startDurable(t, "redis", dir, args...)
		checkLibs(t, "redis-server on "+kind+"'s directory", red.dial(t), want2)
	})
}
