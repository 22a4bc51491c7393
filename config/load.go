package config

import (
	"github.com/basaltdb/basalt/internal/oserr"
	"github.com/basaltdb/basalt/internal/sds"

	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrHelp and ErrVersion are returned by Load when the first argument asks
// for usage (-h, --help) or the version (-v, --version); the caller prints
// them (see Usage) instead of starting.
var (
	ErrHelp    = errors.New("help requested")
	ErrVersion = errors.New("version requested")
)

// ErrNoListener is Redis's start-up failure when nothing would be listened
// on (port 0, or bind with no address).
var ErrNoListener = errors.New("Configured to not listen anywhere, exiting.")

// maxIncludeDepth bounds nested include directives (Redis has no bound and
// overflows its stack on a loop).
const maxIncludeDepth = 16

// FileError is a bad line in the configuration: a file, stdin or the
// command line, whose --options Redis (and Basalt) read as extra lines
// appended to the file. Error renders it as redis-server does, minus the
// leading blank line redis-server prints before it.
type FileError struct {
	Line int    // 1-based line number in the text being read
	Text string // the line, trimmed; options appear quoted ('port "70000"')
	Msg  string // what is wrong, Redis's wording
}

func (e *FileError) Error() string {
	return "*** FATAL CONFIG FILE ERROR (Basalt) ***\n" +
		"Reading the configuration file, at line " + strconv.Itoa(e.Line) + "\n" +
		">>> '" + e.Text + "'\n" +
		e.Msg
}

// Usage is the text printed for --help; prog is the program name.
func Usage(prog string) string {
	return "Usage: " + prog + " [/path/to/basalt.conf] [options] [-]\n" +
		"       " + prog + " - (read config from stdin)\n" +
		"       " + prog + " -v or --version\n" +
		"       " + prog + " -h or --help\n" +
		"\n" +
		"Examples:\n" +
		"       " + prog + " (run the server with default conf)\n" +
		"       echo 'port 7777' | " + prog + " -\n" +
		"       " + prog + " /etc/basalt/6379.conf\n" +
		"       " + prog + " --port 7777\n" +
		"       " + prog + " --port 7777 --bind 127.0.0.1 ::1\n" +
		"       " + prog + " /etc/basalt.conf --loglevel verbose -\n" +
		"       " + prog + " /etc/basalt.conf --loglevel verbose\n"
}

// loader carries state across the lines of one Load.
type loader struct {
	cfg   *Config
	cwd   string // directory relative paths resolve against; follows "dir"
	depth int    // include nesting
	saved bool   // a save directive was read: later ones add points, as in redis.conf
}

// Load parses redis-server style arguments (os.Args[1:]) and reads
// standard input when one of them is "-". See LoadFrom.
func Load(args []string) (*Config, error) {
	return LoadFrom(args, os.Stdin)
}

// LoadFrom parses args the way redis-server 7.0 does and returns a
// validated Config:
//
//	basalt [config-file] [--directive arg ...] [-]
//
// A first argument not starting with '-' names a config file in redis.conf
// syntax. "-" as the first or last argument appends stdin to it. Every
// --name starts a directive whose arguments are the following arguments up
// to the next --name (the first argument is taken even if it starts with
// "--"); these lines are appended after the file, so they override it.
// Errors are *FileError for a bad line, ErrHelp/ErrVersion, or a plain
// error (unreadable file, ErrNoListener).
func LoadFrom(args []string, stdin io.Reader) (*Config, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	ld := &loader{cfg: Default(), cwd: cwd}
	if len(args) > 0 {
		switch args[0] {
		case "-v", "--version":
			return nil, ErrVersion
		case "-h", "--help":
			return nil, ErrHelp
		}
		var text strings.Builder
		j := 0
		if !strings.HasPrefix(args[0], "-") {
			p := args[0]
			if !filepath.IsAbs(p) {
				p = filepath.Join(cwd, p)
			}
			ld.cfg.ConfigFile = p
			j = 1
		}
		options, fromStdin := buildOptions(args[j:], j == 0)
		if ld.cfg.ConfigFile != "" {
			b, err := readConfigFile(ld.cfg.ConfigFile)
			if err != nil {
				return nil, err
			}
			text.Write(b)
		}
		if fromStdin {
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, errors.New("Fatal error, can't read config from stdin: " + oserr.Strerror(err))
			}
			text.Write(b)
		}
		text.WriteString("\n")
		text.WriteString(options)
		if err := ld.parse(text.String()); err != nil {
			return nil, err
		}
	}
	return ld.finish()
}

// buildOptions turns the arguments after the config file into config
// lines exactly as redis-server's main() does, so that error messages
// quote the same text. first tells whether args[0] is argv[1] (where "-"
// may also appear).
func buildOptions(args []string, first bool) (options string, fromStdin bool) {
	var b strings.Builder
	handledLast := true
	for j, a := range args {
		last := j == len(args)-1
		switch {
		case a == "-" && ((first && j == 0) || last):
			fromStdin = true
		case handledLast && strings.HasPrefix(a, "--"):
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(a[2:])
			b.WriteByte(' ')
			toks, _ := sds.SplitArgs(a)
			if len(toks) != 1 {
				// "--port 6380" in one argument: name and value together.
				handledLast = true
				break
			}
			// A bare option name: its first value is the next argument,
			// whatever it looks like. --save alone means save "".
			handledLast = false
			if strings.EqualFold(a, "--save") && (last || strings.HasPrefix(args[j+1], "--")) {
				b.WriteString(`""`)
				handledLast = !last
			}
		default:
			sds.CatRepr(&b, a)
			b.WriteByte(' ')
			handledLast = true
		}
	}
	return b.String(), fromStdin
}

// readConfigFile reads a config or include file. A name with glob
// characters reads every match in order, and none is not an error (Redis
// allows including an empty conf.d).
func readConfigFile(name string) ([]byte, error) {
	if strings.ContainsAny(name, "*?[") {
		matches, err := filepath.Glob(name)
		if err != nil {
			return nil, errors.New("Fatal error, can't open config file '" + name + "': " + oserr.Strerror(err))
		}
		var all []byte
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil {
				return nil, errors.New("Fatal error, can't open config file '" + m + "': " + oserr.Strerror(err))
			}
			all = append(all, b...)
		}
		return all, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, errors.New("Fatal error, can't open config file '" + name + "': " + oserr.Strerror(err))
	}
	return b, nil
}

// parse applies every line of text (Redis's loadServerConfigFromString).
func (ld *loader) parse(text string) error {
	for i, line := range strings.Split(text, "\n") {
		line = strings.Trim(line, " \t\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(msg string) error { return &FileError{Line: i + 1, Text: line, Msg: msg} }
		argv, ok := sds.SplitArgs(line)
		if !ok {
			return fail("Unbalanced quotes in configuration line")
		}
		if len(argv) == 0 {
			continue
		}
		name := strings.ToLower(argv[0])
		if d := lookup(name); d >= 0 {
			dir := &directives[d]
			var args []string
			switch {
			case dir.flags&multiArg == 0:
				if len(argv) != 2 {
					return fail("wrong number of arguments")
				}
				args = argv[1:]
			case len(argv) == 2 && argv[1] != "":
				// --bind "a b" arrives as one argument: split it.
				args, _ = sds.SplitArgs(argv[1])
			default:
				args = argv[1:]
			}
			if msg := dir.set(ld.cfg, args, ld); msg != "" {
				return fail(msg)
			}
			continue
		}
		if name == "include" && len(argv) == 2 {
			if ld.depth >= maxIncludeDepth {
				return fail("include nesting is deeper than 16 files")
			}
			p := argv[1]
			if !filepath.IsAbs(p) {
				p = filepath.Join(ld.cwd, p)
			}
			b, err := readConfigFile(p)
			if err != nil {
				return err
			}
			ld.depth++
			err = ld.parse(string(b))
			ld.depth--
			if err != nil {
				return err
			}
			continue
		}
		return fail("Bad directive or wrong number of arguments")
	}
	return nil
}

// finish resolves derived values and runs the checks Redis makes after
// reading the configuration.
func (ld *loader) finish() (*Config, error) {
	c := ld.cfg
	if c.Loops == 0 {
		c.Loops = autoLoops()
	}
	if !filepath.IsAbs(c.Dir) {
		c.Dir = filepath.Join(ld.cwd, c.Dir)
	}
	if c.Daemonize && c.PidFile == "" {
		c.PidFile = DefaultDaemonPidFile
	}
	if c.Port == 0 || len(c.Bind) == 0 {
		return nil, ErrNoListener
	}
	return c, nil
}
