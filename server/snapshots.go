package server

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/rdb"
)

// Scheduled snapshots, as managed services offer them: once per daily UTC
// window (snapshot-schedule "HH:MM-HH:MM") a point-in-time RDB snapshot is
// written to snapshot-dir as basalt-<UTC time>.rdb, and only the
// snapshot-retention newest are kept. `basalt --restore FILE` starts from
// one (see README, "Snapshots").

const snapshotPrefix, snapshotSuffix = "basalt-", ".rdb"

// windowStart returns the start of the occurrence of the daily window
// [start, end) (minutes after midnight UTC) that contains now, if any.
func windowStart(now time.Time, start, end int) (time.Time, bool) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for _, d := range []time.Time{day, day.AddDate(0, 0, -1)} {
		ws := d.Add(time.Duration(start) * time.Minute)
		length := end - start
		if length < 0 {
			length += 24 * 60 // the window wraps past midnight
		}
		if !now.Before(ws) && now.Before(ws.Add(time.Duration(length)*time.Minute)) {
			return ws, true
		}
	}
	return time.Time{}, false
}

// snapshotCron takes the scheduled snapshot once per window occurrence.
// Called from saveCron's goroutine.
func (s *Server) snapshotCron(now time.Time) {
	cfg := s.Config()
	start, end, ok := config.ParseWindow(cfg.SnapshotSchedule)
	if !ok || cfg.SnapshotRetention == 0 {
		return
	}
	ws, in := windowStart(now, start, end)
	if !in || !s.lastScheduled.Before(ws) {
		return
	}
	if !s.beginSave(false) {
		return // a save or rewrite runs: try again at the next tick
	}
	s.lastScheduled = now
	go func() {
		path, err := s.takeSnapshot(cfg, now)
		s.endSnapshot()
		if err != nil {
			s.log.Warn("Scheduled snapshot failed", "err", err)
			return
		}
		s.log.Info("Scheduled snapshot written", "file", path)
		if err := pruneSnapshots(snapshotDir(cfg), cfg.SnapshotRetention); err != nil {
			s.log.Warn("Pruning old snapshots failed", "err", err)
		}
	}()
}

func snapshotDir(cfg *config.Config) string {
	if filepath.IsAbs(cfg.SnapshotDir) {
		return cfg.SnapshotDir
	}
	return filepath.Join(cfg.Dir, cfg.SnapshotDir)
}

// takeSnapshot writes a point-in-time snapshot into the snapshot
// directory (temp file, fsync, rename, fsync the directory).
func (s *Server) takeSnapshot(cfg *config.Config, at time.Time) (string, error) {
	dir := snapshotDir(cfg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := snapshotPrefix + at.UTC().Format("20060102T150405Z") + snapshotSuffix
	tmp := filepath.Join(dir, "temp-"+name)
	if err := writeRDBTemp(tmp, s.encKey, func(w *rdb.Writer) error { return s.snapshotInto(w, nil) }); err != nil {
		return "", err
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return "", err
		}
	}
	return final, nil
}

// pruneSnapshots removes all but the keep newest snapshots of dir (their
// names sort by time).
func pruneSnapshots(dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, snapshotPrefix) && strings.HasSuffix(n, snapshotSuffix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return fmt.Errorf("removing %s: %w", names[0], err)
		}
		names = names[1:]
	}
	return nil
}
