package kv

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// badgerLogger routes Badger's log lines to a *slog.Logger at warning level and above; Badger's
// info and debug lines (compactions, flushes) are dropped, except the one that says writes
// waited more than a second for level 0 to be compacted (Badger's "L0 was stalled for ..."),
// which an operator should see and which is raised to a warning.
type badgerLogger struct {
	l *slog.Logger
}

func (b badgerLogger) Errorf(format string, args ...any) {
	b.log(slog.LevelError, format, args)
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.log(slog.LevelWarn, format, args)
}

func (b badgerLogger) Infof(format string, args ...any) {
	if strings.HasPrefix(format, stallPrefix) {
		b.log(slog.LevelWarn, format, args)
	}
}

// stallPrefix starts the line Badger logs (at info) after writes waited more than a second
// because level 0 held NumLevelZeroTablesStall tables (levels.go, Badger v4).
const stallPrefix = "L0 was stalled"

func (badgerLogger) Debugf(string, ...any) {}

func (b badgerLogger) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !b.l.Enabled(ctx, level) {
		return
	}
	b.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}
