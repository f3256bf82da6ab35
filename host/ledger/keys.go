package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// Key prefixes of the embedded store; doc.go has the layout.
const (
	pEvent  = "ev/" // ev/<consumer>/<event id> → event
	pDedupe = "dd/" // dd/<consumer>/<automation>/<dedupe key> → dedupe (with a TTL)
	pItem   = "qi/" // qi/<item id> → item
	pReady  = "qr/" // qr/<consumer>/<due, 8 bytes><item id> → "" (waiting items, by due time)
	pDead   = "qd/" // qd/<consumer>/<item id> → "" (dead-lettered items)
	pRun    = "ru/" // ru/<consumer>/<run id> → run
	pStep   = "rs/" // rs/<consumer>/<run id>/<step key> → step
	pByAuto = "ra/" // ra/<consumer>/<automation>/<run id> → ""
	pByStat = "rt/" // rt/<consumer>/<status>/<run id> → ""
	pAct    = "ac/" // ac/<seq, 8 bytes> → activity
	pActOf  = "ax/" // ax/<consumer>/<seq, 8 bytes> → "" (the consumer's feed; a copy of the entry in older databases)
	pObject = "ob/" // ob/<kind>/c<consumer>/<id> → object
	pBlob   = "bl/" // bl/<digest>/h → blob header; bl/<digest>/c/<index, 4 bytes> → chunk
)

// recordV1 is the first byte of every record: the format of what follows (JSON). A format this
// build cannot read is refused with an error, never guessed at.
const recordV1 = 1

// encode writes a record: recordV1, then v as json.Marshal writes it (through its hand-written
// encoder when it has one, see appender).
func encode(v any) ([]byte, error) { return encodeRoom(v, 0) }

// encodeRoom is encode with room for extra more bytes after the record, so that appending them
// does not copy it.
func encodeRoom(v any, extra int) ([]byte, error) {
	if a, ok := v.(appender); ok {
		if b, ok := a.appendJSON(append(make([]byte, 0, 320+extra), recordV1)); ok {
			return b, nil
		}
	}
	return encodeReflect(v) // it fails as json.Marshal fails
}

// encodeWith is encode for a record with one large JSON field already validated (an event's
// payload): v is encoded without it (its field must be empty, and omitted when empty) and raw is
// appended as name, as is. encoding/json would otherwise re-validate and compact it, which cost a
// quarter of the CPU time of an accept of a 1 KiB event.
func encodeWith(v any, name string, raw []byte) ([]byte, error) {
	b, err := encodeRoom(v, len(name)+len(raw)+4)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return b, nil
	}
	if len(b) < 3 || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("ledger: encode %T: not a JSON object", v)
	}
	b = b[:len(b)-1]
	if len(b) > 2 { // not just "\x01{"
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	b = append(b, raw...)
	return append(b, '}'), nil
}

// decodeWith is decode for a record that encodeWith wrote with its raw field name: that field,
// last in the object, is cut off at its name and handed to set once jsonscan finds it is one JSON
// value, and only the rest goes through encoding/json, which would scan the field twice (to check
// it, then to copy it). The name cannot be matched anywhere else: encoding/json escapes every
// quote inside a string, so `"name":` with its quotes occurs only as a member's name, and the
// other members of these records have fixed names. A record whose tail after the name is not one
// JSON value (one written otherwise) is decoded whole, as decode does; FuzzDecodeWith checks the
// two agree.
func decodeWith(b []byte, v any, name string, set func(raw json.RawMessage)) error {
	if len(b) > 2 && b[0] == recordV1 && b[len(b)-1] == '}' {
		body := b[1 : len(b)-1]
		marker := `"` + name + `":`
		if i := bytes.Index(body, []byte(marker)); i > 0 && (body[i-1] == ',' || body[i-1] == '{') {
			if raw := body[i+len(marker):]; jsonscan.Valid(raw) {
				head := make([]byte, 0, i+1)
				head = append(head, body[:i-1]...)
				if body[i-1] == '{' {
					head = append(head, '{')
				}
				if err := decodeBody(append(head, '}'), v); err != nil {
					return err
				}
				set(bytes.Trim(raw, " \t\r\n")) // as encoding/json hands a RawMessage its value
				return nil
			}
		}
	}
	return decode(b, v)
}

func decode(b []byte, v any) error {
	if len(b) == 0 || b[0] != recordV1 {
		return fmt.Errorf("ledger: record of unknown format %x", b[:min(len(b), 1)])
	}
	return decodeBody(b[1:], v)
}

// esc makes a name one key component: no '/' inside, so prefixes never overlap.
func esc(s string) string { return url.PathEscape(s) }

// checkName refuses an empty (unless allowEmpty), overlong or non-UTF-8 name.
func checkName(what, s string, allowEmpty bool) error {
	switch {
	case s == "" && !allowEmpty:
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case len(s) > MaxKeyBytes:
		return fmt.Errorf("%w: %s of %d bytes, limit %d", ErrInvalid, what, len(s), MaxKeyBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, what)
	}
	return nil
}

// checkJSON refuses data that is not one JSON document or is larger than MaxPayloadBytes; empty
// data is refused unless optional.
func checkJSON(what string, data []byte, optional bool) error {
	switch {
	case len(data) == 0 && optional:
		return nil
	case len(data) > MaxPayloadBytes:
		return fmt.Errorf("%w: %s of %d bytes, limit %d", ErrInvalid, what, len(data), MaxPayloadBytes)
	case !jsonscan.Valid(data):
		return fmt.Errorf("%w: %s is not valid JSON", ErrInvalid, what)
	}
	return nil
}

func join(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 && i < len(parts) {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	return b
}

func eventKey(consumer, id string) []byte { return join(pEvent+esc(consumer), id) }
func dedupeKey(consumer, automation, key string) []byte {
	return join(pDedupe+esc(consumer), esc(automation), esc(key))
}
func itemKey(id string) []byte { return []byte(pItem + id) }
func readyPrefix(consumer string) []byte {
	return append([]byte(pReady+esc(consumer)), '/')
}
func readyKey(consumer string, due time.Time, id string) []byte {
	k := readyPrefix(consumer)
	k = binary.BigEndian.AppendUint64(k, dueNanos(due))
	return append(k, id...)
}
func deadPrefix(consumer string) []byte      { return append([]byte(pDead+esc(consumer)), '/') }
func deadKey(consumer, id string) []byte     { return append(deadPrefix(consumer), id...) }
func runPrefix(consumer string) []byte       { return append([]byte(pRun+esc(consumer)), '/') }
func runKey(consumer, id string) []byte      { return append(runPrefix(consumer), id...) }
func stepPrefix(consumer, run string) []byte { return append(join(pStep+esc(consumer), run), '/') }
func stepKey(consumer, run, key string) []byte {
	return append(stepPrefix(consumer, run), esc(key)...)
}
func byAutoPrefix(consumer, automation string) []byte {
	return append(join(pByAuto+esc(consumer), esc(automation)), '/')
}
func byStatPrefix(consumer string, s Status) []byte {
	return append(join(pByStat+esc(consumer), esc(string(s))), '/')
}
func actKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte(pAct), seq) }
func actOfPrefix(consumer string) []byte {
	return append([]byte(pActOf+esc(consumer)), '/')
}
func actOfKey(consumer string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(actOfPrefix(consumer), seq)
}
func objectPrefix(kind, consumer string) []byte {
	return append(join(pObject+esc(kind), "c"+esc(consumer)), '/')
}
func objectKey(k ObjectKey) []byte       { return append(objectPrefix(k.Kind, k.Consumer), esc(k.ID)...) }
func blobHeaderKey(digest string) []byte { return []byte(pBlob + digest + "/h") }
func blobChunkKey(digest string, i int) []byte {
	return binary.BigEndian.AppendUint32([]byte(pBlob+digest+"/c/"), uint32(i))
}

// dueNanos is due as unix nanoseconds, clamped to [0, 2^63): a ready key sorts by it.
func dueNanos(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

// parseReady splits the part of a ready key after its consumer prefix.
func parseReady(rest []byte) (due time.Time, id string, ok bool) {
	if len(rest) <= 8 {
		return time.Time{}, "", false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8]))), string(rest[8:]), true
}

// Cursors are the key of the last entry returned, without the listing's prefix, in base64url: a
// cursor cannot reach outside the prefix of the listing it is passed to.
func cursorOf(prefix, last []byte) string {
	if last == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(bytes.TrimPrefix(last, prefix))
}

func afterOf(prefix []byte, cursor string) ([]byte, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("%w: cursor %q", ErrInvalid, cursor)
	}
	return append(bytes.Clone(prefix), b...), nil
}
