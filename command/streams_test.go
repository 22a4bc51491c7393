package command

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestStreamReplay: a random workload of stream writes, group reads,
// claims and trims replayed from its effects gives the same stream and
// consumer group state (XINFO STREAM FULL, without seen times, which
// Redis does not propagate either). The replay runs at the same clock.
func TestStreamReplay(t *testing.T) {
	src := newTestEnv(t, 1)
	src.limits.StreamNodeMaxEntries = 5
	src.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
	src.do("XGROUP", "CREATE", "s", "g2", "0")
	for i := 0; i < 400; i++ {
		src.now += int64(i % 3)
		cons := "c" + strconv.Itoa(i%4)
		switch i % 11 {
		case 0, 1, 2:
			src.do("XADD", "s", "*", "f", strconv.Itoa(i), "x", "y")
		case 3:
			src.do("XADD", "s", "MAXLEN", "~", "20", "*", "f", strconv.Itoa(i))
		case 4:
			src.do("XREADGROUP", "GROUP", "g", cons, "COUNT", "2", "STREAMS", "s", ">")
		case 5:
			src.do("XREADGROUP", "GROUP", "g2", cons, "NOACK", "COUNT", "3", "STREAMS", "s", ">")
		case 6:
			src.do("XCLAIM", "s", "g", cons, "0", "0-1", strconv.Itoa(int(src.now))+"-0", "FORCE")
			src.do("XAUTOCLAIM", "s", "g", cons, "0", "0", "COUNT", "2")
		case 7:
			src.do("XTRIM", "s", "MINID", "~", strconv.FormatInt(src.now-50, 10))
		case 8:
			src.do("XDEL", "s", strconv.FormatInt(src.now-1, 10)+"-0")
		case 9:
			src.do("XACK", "s", "g", strconv.FormatInt(src.now-2, 10)+"-0")
		case 10:
			src.do("XADD", "s", "MAXLEN", "30", "*", "a", "b")
		}
	}
	dst := newTestEnv(t, 1)
	dst.limits = src.limits
	dst.now = src.now
	for _, rec := range parseEffects(t, src.log.B) {
		if strings.EqualFold(string(rec[0]), "select") {
			continue
		}
		if got := dst.doBytes(rec); strings.HasPrefix(got, "-") {
			t.Fatalf("replay of %q failed: %s", rec, got)
		}
	}
	// Seen times are not propagated (as in Redis).
	seen := regexp.MustCompile(`seen-time\r\n:[0-9]+`)
	a := seen.ReplaceAllString(src.do("XINFO", "STREAM", "s", "FULL", "COUNT", "0"), "")
	b := seen.ReplaceAllString(dst.do("XINFO", "STREAM", "s", "FULL", "COUNT", "0"), "")
	if a != b {
		t.Fatalf("source %q\nreplayed %q", a, b)
	}
}

func TestStreamWrongTypeAndEmpty(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("SET k v", "+OK")
	e.expect("XADD k * a 1", "-"+ErrWrongType)
	e.expect("XADD s 1-1 a 1", "1-1")
	e.expect("XDEL s 1-1", ":1")
	// Redis keeps empty streams.
	e.expect("XLEN s", ":0")
	e.expect("TYPE s", "+stream")
	e.expect("OBJECT ENCODING s", "stream")
}
