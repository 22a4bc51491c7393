package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/basaltdb/basalt/config"
)

// Redis log levels on slog's scale. verbose sits between Debug and Info;
// notice (Redis's default) is Info, warning is Warn.
const (
	LevelDebug   = slog.LevelDebug
	LevelVerbose = slog.LevelDebug + 2
	LevelNotice  = slog.LevelInfo
	LevelWarning = slog.LevelWarn
)

// logLevelFor maps a config loglevel ("debug", "verbose", "notice",
// "warning") to its slog level; unknown names (Load rejects them) map to
// notice.
func logLevelFor(name string) slog.Level {
	switch name {
	case "debug":
		return LevelDebug
	case "verbose":
		return LevelVerbose
	case "warning":
		return LevelWarning
	}
	return LevelNotice
}

// logOutput is the destination newLogger opened; Close closes a log file
// and does nothing for stdout.
type logOutput struct {
	// Level is the logger's level; set it when CONFIG SET loglevel
	// publishes a new Config. Safe for any goroutine.
	Level *slog.LevelVar
	file  *os.File
}

func (l *logOutput) Close() error {
	if l.file == nil {
		return nil
	}
	return l.file.Close()
}

// newLogger builds the process logger: text records to logfile (appended,
// created 0644) or to stdout when logfile is "", at cfg's level. A
// daemonized process with logfile "" logs to stdout, which is /dev/null
// there, as in Redis.
func newLogger(cfg *config.Config, stdout io.Writer) (*slog.Logger, *logOutput, error) {
	out := &logOutput{Level: new(slog.LevelVar)}
	out.Level.Set(logLevelFor(cfg.LogLevel))
	w := stdout
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("Can't open the log file: %w", err)
		}
		out.file, w = f, f
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{
		Level:       out.Level,
		ReplaceAttr: renameLevels,
	})
	return slog.New(h), out, nil
}

// renameLevels prints Redis's level names instead of slog's.
func renameLevels(groups []string, a slog.Attr) slog.Attr {
	if len(groups) != 0 || a.Key != slog.LevelKey {
		return a
	}
	lv, ok := a.Value.Any().(slog.Level)
	if !ok {
		return a
	}
	switch {
	case lv < LevelVerbose:
		a.Value = slog.StringValue("DEBUG")
	case lv < LevelNotice:
		a.Value = slog.StringValue("VERBOSE")
	case lv < LevelWarning:
		a.Value = slog.StringValue("NOTICE")
	default:
		a.Value = slog.StringValue("WARNING")
	}
	return a
}
