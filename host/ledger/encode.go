package ledger

import (
	"encoding/json"

	"github.com/splicehq/splice/host/internal/jsonscan"
	"github.com/splicehq/splice/host/internal/jsonw"
)

// appender is a record with a hand-written encoder: appendJSON appends what json.Marshal writes
// for it, byte for byte, or returns false (and dst as it was) where json.Marshal fails. Events,
// items, runs and activity entries are written several times per webhook, and through
// encoding/json they were about 2 % of the server's CPU time (BenchmarkEncode);
// TestEncodersAgree checks each against json.Marshal over every field.
type appender interface {
	appendJSON(dst []byte) ([]byte, bool)
}

// encodeReflect is encode through encoding/json only.
func encodeReflect(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{recordV1}, b...), nil
}

// appendRaw appends raw as json.Marshal writes a json.RawMessage: checked, compacted and with
// the characters it escapes in strings (<, >, &, U+2028 and U+2029) escaped. The usual raw value
// is compact and holds none of them, and is copied as it is.
func appendRaw(dst []byte, raw json.RawMessage) ([]byte, bool) {
	if !jsonscan.Valid(raw) {
		return dst, false
	}
	if jsonscan.Compact(raw) && !escapes(raw) {
		return append(dst, raw...), true
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return dst, false
	}
	return append(dst, b...), true
}

// escaped marks the bytes that json.Marshal escapes in the strings of a json.RawMessage: <, >, &,
// and 0xE2, the first byte of U+2028 and U+2029 (and of other characters, which is only a miss).
var escaped = [256]bool{'<': true, '>': true, '&': true, 0xE2: true}

// escapes reports whether raw may hold a character json.Marshal escapes.
func escapes(raw []byte) bool {
	for _, c := range raw {
		if escaped[c] {
			return true
		}
	}
	return false
}

func (e Event) appendJSON(dst []byte) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, e.ID)
	dst = append(dst, `,"consumer":`...)
	dst = jsonw.String(dst, e.Consumer)
	dst = append(dst, `,"automation":`...)
	dst = jsonw.String(dst, e.Automation)
	if e.DedupeKey != "" {
		dst = append(dst, `,"dedupeKey":`...)
		dst = jsonw.String(dst, e.DedupeKey)
	}
	var ok bool
	if len(e.Payload) > 0 {
		dst = append(dst, `,"payload":`...)
		if dst, ok = appendRaw(dst, e.Payload); !ok {
			return dst[:n0], false
		}
	}
	dst = append(dst, `,"acceptedAt":`...)
	if dst, ok = jsonw.Time(dst, e.AcceptedAt); !ok {
		return dst[:n0], false
	}
	return append(dst, '}'), true
}

func (it Item) appendJSON(dst []byte) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, it.ID)
	dst = append(dst, `,"consumer":`...)
	dst = jsonw.String(dst, it.Consumer)
	dst = append(dst, `,"automation":`...)
	dst = jsonw.String(dst, it.Automation)
	dst = append(dst, `,"event":`...)
	dst = jsonw.String(dst, it.Event)
	if it.Run != "" {
		dst = append(dst, `,"run":`...)
		dst = jsonw.String(dst, it.Run)
	}
	if it.Step != "" {
		dst = append(dst, `,"step":`...)
		dst = jsonw.String(dst, it.Step)
	}
	var ok bool
	if len(it.Data) > 0 {
		dst = append(dst, `,"data":`...)
		if dst, ok = appendRaw(dst, it.Data); !ok {
			return dst[:n0], false
		}
	}
	dst = append(dst, `,"due":`...)
	if dst, ok = jsonw.Time(dst, it.Due); !ok {
		return dst[:n0], false
	}
	if it.Attempts != 0 {
		dst = append(dst, `,"attempts":`...)
		dst = jsonw.Int(dst, int64(it.Attempts))
	}
	if it.LastError != "" {
		dst = append(dst, `,"lastError":`...)
		dst = jsonw.String(dst, it.LastError)
	}
	if it.Dead {
		dst = append(dst, `,"dead":true`...)
	}
	return append(dst, '}'), true
}

func (d dedupe) appendJSON(dst []byte) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, `{"event":`...)
	dst = jsonw.String(dst, d.Event)
	dst = append(dst, `,"at":`...)
	dst, ok := jsonw.Time(dst, d.At)
	if !ok {
		return dst[:n0], false
	}
	return append(dst, '}'), true
}

func (r Run) appendJSON(dst []byte) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, r.ID)
	dst = append(dst, `,"consumer":`...)
	dst = jsonw.String(dst, r.Consumer)
	dst = append(dst, `,"automation":`...)
	dst = jsonw.String(dst, r.Automation)
	dst = append(dst, `,"event":`...)
	dst = jsonw.String(dst, r.Event)
	dst = append(dst, `,"status":`...)
	dst = jsonw.String(dst, string(r.Status))
	var ok bool
	dst = append(dst, `,"createdAt":`...)
	if dst, ok = jsonw.Time(dst, r.CreatedAt); !ok {
		return dst[:n0], false
	}
	dst = append(dst, `,"updatedAt":`...)
	if dst, ok = jsonw.Time(dst, r.UpdatedAt); !ok {
		return dst[:n0], false
	}
	if len(r.Data) > 0 {
		dst = append(dst, `,"data":`...)
		if dst, ok = appendRaw(dst, r.Data); !ok {
			return dst[:n0], false
		}
	}
	return append(dst, '}'), true
}

func (a Activity) appendJSON(dst []byte) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, `{"seq":`...)
	dst = jsonw.Uint(dst, a.Seq)
	if a.Consumer != "" {
		dst = append(dst, `,"consumer":`...)
		dst = jsonw.String(dst, a.Consumer)
	}
	dst = append(dst, `,"kind":`...)
	dst = jsonw.String(dst, a.Kind)
	var ok bool
	dst = append(dst, `,"at":`...)
	if dst, ok = jsonw.Time(dst, a.At); !ok {
		return dst[:n0], false
	}
	if len(a.Data) > 0 {
		dst = append(dst, `,"data":`...)
		if dst, ok = appendRaw(dst, a.Data); !ok {
			return dst[:n0], false
		}
	}
	return append(dst, '}'), true
}

// stepHead is a step record without its data, which encodeWith appends.
type stepHead struct {
	Run string `json:"run"`
	Key string `json:"key"`
}

func (h stepHead) appendJSON(dst []byte) ([]byte, bool) {
	dst = append(dst, `{"run":`...)
	dst = jsonw.String(dst, h.Run)
	dst = append(dst, `,"key":`...)
	dst = jsonw.String(dst, h.Key)
	return append(dst, '}'), true
}
