package kv

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
)

// badgerLogger routes Badger's log lines to a *slog.Logger at warning level and above; Badger's
// info and debug lines (compactions, flushes) are dropped, except the one that says writes
// waited more than a second for level 0 to be compacted (Badger's "L0 was stalled for ..."),
// which an operator should see and which is raised to a warning.
//
// It is also how kv learns that a sync of the value log failed, which Badger only logs: that
// line stores [ErrValueLogSync] in broken (when set), before Badger's write of that commit
// returns, so the committer sees it when the commit returns.
type badgerLogger struct {
	l      *slog.Logger
	broken *atomic.Pointer[error]
}

func (b badgerLogger) Errorf(format string, args ...any) {
	if b.broken != nil && strings.HasPrefix(format, vlogSyncPrefix) {
		err := fmt.Errorf("%w: badger: %s", ErrValueLogSync, strings.TrimSpace(fmt.Sprintf(format, args...)))
		b.broken.CompareAndSwap(nil, &err)
	}
	b.log(slog.LevelError, format, args)
}

// vlogSyncPrefix starts the line Badger logs (at error, in valueLog.write, value.go of Badger
// v4) when the sync of the value log that ends a write fails with SyncWrites on; the write
// itself then succeeds. TestBadgerLogsValueLogSyncFailures checks that Badger's source still
// has it.
const vlogSyncPrefix = "Error while curlf sync"

func (b badgerLogger) Warningf(format string, args ...any) {
	level := slog.LevelWarn
	if strings.HasPrefix(format, cachePrefix) || strings.HasPrefix(format, cacheLifePrefix) {
		level = slog.LevelDebug
	}
	b.log(level, format, args)
}

// cachePrefix and cacheLifePrefix start the two lines Badger logs as warnings every minute while
// its block cache's hit ratio is under 40 % (monitorCache, db.go of Badger v4), with the cache's
// metrics. Under sustained writes they come every minute, and they name no setting an operator
// can change (the cache is sized by kv, and a small one is deliberate: its memory counts against
// the process), so they go to debug.
const (
	cachePrefix     = "%s might be too small"
	cacheLifePrefix = "Cache life expectancy"
)

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
