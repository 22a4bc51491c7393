package aof

import (
	"fmt"
	"os"
	"path/filepath"
)

// Upgrade moves an old-style single-file AOF (Redis before 7.0: oldPath,
// i.e. <dir>/<appendfilename>) into the AOF directory as its base file, as
// Redis 7.0's aofUpgradePrepare does, so that Load replays it instead of
// starting empty. It does so only when oldPath exists and the directory
// holds no AOF of its own: no directory or no manifest, or a manifest with
// only a base of that name whose file is missing (an upgrade interrupted
// between the manifest and the rename). It reports whether it upgraded.
// Call it before Load, from one goroutine.
func Upgrade(opts Options, oldPath string) (bool, error) {
	if _, err := os.Stat(oldPath); err != nil {
		return false, nil
	}
	m, err := readManifest(opts.Dir, opts.FileName)
	if err != nil {
		return false, err
	}
	if m != nil {
		onlyBase := m.Base != nil && len(m.Incr) == 0 && m.Base.Name == opts.FileName
		if !onlyBase {
			return false, nil
		}
		if _, err := os.Stat(filepath.Join(opts.Dir, opts.FileName)); err == nil {
			return false, nil
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return false, fmt.Errorf("Can't create AOF directory %s: %w", opts.Dir, err)
	}
	base := &manifestEntry{Name: opts.FileName, Seq: 1, Type: typeBase}
	if err := writeManifest(opts.Dir, opts.FileName, &manifest{Base: base}); err != nil {
		return false, err
	}
	if err := os.Rename(oldPath, filepath.Join(opts.Dir, opts.FileName)); err != nil {
		return false, fmt.Errorf("Error moving the old AOF file %s into dir %s: %w", oldPath, opts.Dir, err)
	}
	if err := syncDir(opts.Dir); err != nil {
		return false, err
	}
	opts.logf("Successfully migrated an old-style AOF into the AOF directory %s.", filepath.Base(opts.Dir))
	return true, nil
}
