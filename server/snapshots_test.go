package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWindowStart(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		now        string
		start, end int
		want       string // "" when outside
	}{
		{"2026-11-21 02:30", 120, 180, "2026-11-21 02:00"},
		{"2026-11-21 03:00", 120, 180, ""},
		{"2026-11-21 01:59", 120, 180, ""},
		{"2026-11-21 23:30", 23 * 60, 60, "2026-11-21 23:00"}, // wraps midnight
		{"2026-11-22 00:30", 23 * 60, 60, "2026-11-21 23:00"},
		{"2026-11-22 01:00", 23 * 60, 60, ""},
	} {
		ws, in := windowStart(at(tc.now), tc.start, tc.end)
		got := ""
		if in {
			got = ws.Format("2006-01-02 15:04")
		}
		if got != tc.want {
			t.Errorf("now %s window %d-%d: got %q want %q", tc.now, tc.start, tc.end, got, tc.want)
		}
	}
}

func TestPruneSnapshots(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"basalt-20261119T020000Z.rdb", "basalt-20261121T020000Z.rdb", "basalt-20261120T020000Z.rdb", "other.rdb"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := pruneSnapshots(dir, 2); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "basalt-20261120T020000Z.rdb basalt-20261121T020000Z.rdb other.rdb" {
		t.Fatalf("left %s", got)
	}
}
