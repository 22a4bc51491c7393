package aof

import (
	"github.com/basaltdb/basalt/internal/sds"

	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// File types in the manifest, as Redis 7.0 spells them.
const (
	typeBase = 'b'
	typeHist = 'h'
	typeIncr = 'i'
)

// Naming rules of Redis 7.0 (aof.c): <appendfilename>.<seq>.base.rdb|.aof,
// <appendfilename>.<seq>.incr.aof, <appendfilename>.manifest, and temp- for
// files written before an atomic rename.
const (
	baseSuffix     = ".base"
	incrSuffix     = ".incr"
	rdbSuffix      = ".rdb"
	aofSuffix      = ".aof"
	manifestSuffix = ".manifest"
	tempPrefix     = "temp-"
	manifestMaxLn  = 1024 // MANIFEST_MAX_LINE
)

// manifestEntry is one "file <name> seq <n> type <t>" line.
type manifestEntry struct {
	Name string
	Seq  int64
	Type byte
}

// manifest is the parsed manifest: at most one base, then history and
// incremental files in the order listed (the load order).
type manifest struct {
	Base *manifestEntry
	Hist []manifestEntry
	Incr []manifestEntry
}

func manifestName(fileName string) string { return fileName + manifestSuffix }

// maxIncrSeq is curr_incr_file_seq: the seq of the last incr file, 0 if none.
func (m *manifest) maxIncrSeq() int64 {
	if len(m.Incr) == 0 {
		return 0
	}
	return m.Incr[len(m.Incr)-1].Seq
}

// loadOrder returns the files Load replays: the base, then the incr files.
func (m *manifest) loadOrder() []manifestEntry {
	var files []manifestEntry
	if m.Base != nil {
		files = append(files, *m.Base)
	}
	return append(files, m.Incr...)
}

// String formats m as Redis's getAofManifestAsString: base, history, incr.
func (m *manifest) String() string {
	var b strings.Builder
	line := func(e manifestEntry) {
		name := e.Name
		if needsRepr(name) {
			name = repr(name)
		}
		fmt.Fprintf(&b, "file %s seq %d type %c\n", name, e.Seq, e.Type)
	}
	if m.Base != nil {
		line(*m.Base)
	}
	for _, e := range m.Hist {
		line(e)
	}
	for _, e := range m.Incr {
		line(e)
	}
	return b.String()
}

// manifestError is a fatal manifest problem, worded as Redis logs it.
func manifestError(path string, lineno int, line, msg string) error {
	if line == "" && lineno == 0 {
		return fmt.Errorf("Bad AOF manifest %s: %s", path, msg)
	}
	return fmt.Errorf("Bad AOF manifest %s, at line %d ('%s'): %s", path, lineno, line, msg)
}

// parseManifest parses a manifest with the checks of Redis 7.0's
// aofLoadManifestFromFile, so what Basalt accepts Redis accepts too.
func parseManifest(path string, data []byte) (*manifest, error) {
	m := &manifest{}
	if len(data) == 0 {
		return nil, manifestError(path, 0, "", "Found an empty AOF manifest")
	}
	var maxSeq int64
	lineno := 0
	for len(data) > 0 {
		// fgets(buf, MANIFEST_MAX_LINE+1): a chunk ends after '\n' or at 1024 bytes.
		n := bytes.IndexByte(data, '\n')
		var raw []byte
		if n >= 0 && n < manifestMaxLn {
			raw, data = data[:n+1], data[n+1:]
		} else {
			k := min(len(data), manifestMaxLn)
			raw, data = data[:k], data[k:]
		}
		lineno++
		if raw[0] == '#' {
			continue
		}
		if raw[len(raw)-1] != '\n' {
			return nil, manifestError(path, lineno, "", "The AOF manifest file contains too long line")
		}
		line := strings.Trim(string(raw), " \t\r\n")
		if line == "" {
			return nil, manifestError(path, lineno, line, "Invalid AOF manifest file format")
		}
		argv, ok := sds.SplitArgs(line)
		if !ok || len(argv) < 6 || len(argv)%2 != 0 {
			return nil, manifestError(path, lineno, line, "Invalid AOF manifest file format")
		}
		var e manifestEntry
		for i := 0; i < len(argv); i += 2 {
			switch {
			case strings.EqualFold(argv[i], "file"):
				e.Name = argv[i+1]
				if filepath.Base(e.Name) != e.Name || strings.ContainsRune(e.Name, '/') {
					return nil, manifestError(path, lineno, line, "File can't be a path, just a filename")
				}
			case strings.EqualFold(argv[i], "seq"):
				e.Seq = atoll(argv[i+1])
			case strings.EqualFold(argv[i], "type"):
				if argv[i+1] != "" {
					e.Type = argv[i+1][0]
				}
			}
		}
		if e.Name == "" || e.Seq == 0 || e.Type == 0 {
			return nil, manifestError(path, lineno, line, "Invalid AOF manifest file format")
		}
		switch e.Type {
		case typeBase:
			if m.Base != nil {
				return nil, manifestError(path, lineno, line, "Found duplicate base file information")
			}
			m.Base = &e
		case typeHist:
			m.Hist = append(m.Hist, e)
		case typeIncr:
			if e.Seq <= maxSeq {
				return nil, manifestError(path, lineno, line, "Found a non-monotonic sequence number")
			}
			m.Incr = append(m.Incr, e)
			maxSeq = e.Seq
		default:
			return nil, manifestError(path, lineno, line, "Unknown AOF file type")
		}
	}
	return m, nil
}

// readManifest reads <dir>/<fileName>.manifest. It returns (nil, nil) when the
// directory or the manifest does not exist, as Redis treats that as no AOF.
func readManifest(dir, fileName string) (*manifest, error) {
	path := filepath.Join(dir, manifestName(fileName))
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("Fatal error: can't open the AOF manifest file %s for reading: %w", path, err)
	}
	return parseManifest(path, data)
}

// writeManifest replaces the manifest atomically as Redis's
// writeAofManifestFile: a temp file, fsync, rename, fsync of the directory.
func writeManifest(dir, fileName string, m *manifest) error {
	tmp := filepath.Join(dir, tempPrefix+manifestName(fileName))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err = io.WriteString(f, m.String()); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, manifestName(fileName)))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("Can't write the AOF manifest file %s: %w", manifestName(fileName), err)
	}
	return nil
}

// syncDir makes a create or rename in dir durable.
func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: err}
	}
	return nil
}

// atoll is C's atoll: optional blanks and sign, then digits up to the first
// non-digit; 0 when there are none.
func atoll(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// needsRepr is Redis's sdsneedsrepr, plus a leading single quote, which
// sdssplitargs would otherwise take for a quoted word.
func needsRepr(s string) bool {
	if s == "" || s[0] == '\'' {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c == '"' || c < 0x20 || c > 0x7e || isSpace(c) {
			return true
		}
	}
	return false
}

// repr is Redis's sdscatrepr: a double-quoted string that splitArgs reads back.
func repr(s string) string {
	var b strings.Builder
	sds.CatRepr(&b, s)
	return b.String()
}

// clone returns a copy that can change without touching m.
func (m *manifest) clone() *manifest {
	c := &manifest{Incr: append([]manifestEntry(nil), m.Incr...), Hist: append([]manifestEntry(nil), m.Hist...)}
	if m.Base != nil {
		b := *m.Base
		c.Base = &b
	}
	return c
}
