package kv

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestBadgerLoggerLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		log  func(badgerLogger)
		want string // "" when nothing must be logged
	}{
		{"error", func(l badgerLogger) { l.Errorf("disk %s\n", "full") }, "level=ERROR msg=\"disk full\" component=badger"},
		{"warning", func(l badgerLogger) { l.Warningf("slow %d", 3) }, "level=WARN msg=\"slow 3\" component=badger"},
		{"info dropped", func(l badgerLogger) { l.Infof("compaction") }, ""},
		{"debug dropped", func(l badgerLogger) { l.Debugf("flush") }, ""},
		{"write stall raised", func(l badgerLogger) { l.Infof("L0 was stalled for %s\n", "1.5s") }, "level=WARN msg=\"L0 was stalled for 1.5s\" component=badger"},
		{"cache size lowered", func(l badgerLogger) { l.Warningf("%s might be too small. Metrics: %s\n", "Block cache", "hit: 1") }, "level=DEBUG msg=\"Block cache might be too small. Metrics: hit: 1\" component=badger"},
		{"cache life lowered", func(l badgerLogger) { l.Warningf("Cache life expectancy (in seconds): %+v\n", 3) }, "level=DEBUG msg=\"Cache life expectancy (in seconds): 3\" component=badger"},
		{"value log sync failure", func(l badgerLogger) { l.Errorf("Error while curlf sync: %v\n", "EIO") }, "level=ERROR msg=\"Error while curlf sync: EIO\" component=badger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
				Level:       slog.LevelDebug,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
			})
			tc.log(badgerLogger{l: slog.New(h)})
			if got := strings.TrimSpace(buf.String()); got != tc.want {
				t.Errorf("logged %q, want %q", got, tc.want)
			}
		})
	}
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
