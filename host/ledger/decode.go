package ledger

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// recordDecoder is a record with a hand-written decoder, the counterpart of appender. decodeJSON
// sets the record from the JSON object b when b is written the way its encoder writes it: each
// member under its exact name, strings without escapes, times as time.Time reads them, no nulls
// where encoding/json would keep a raw null. Anything else (a name in another case, an escape,
// a number where a string belongs, a document that is not JSON) makes it report false and
// change nothing, and the caller hands b to encoding/json, whose result (or error) stands. Fields
// b does not name keep their values, as with encoding/json. TestDecodersAgree and
// FuzzDecodersAgree check the two agree; BenchmarkDecode shows what it saves.
type recordDecoder interface {
	decodeJSON(b []byte) bool
}

// decodeBody decodes the JSON object b into v: through v's decoder when it has one that takes b,
// else through encoding/json.
func decodeBody(b []byte, v any) error {
	if d, ok := v.(recordDecoder); ok && d.decodeJSON(b) {
		return nil
	}
	return json.Unmarshal(b, v)
}

// members walks the members of the object b, valid JSON, handing set each name without its
// quotes and its value as written; set returns false for a member it does not take. It reports
// whether b is a valid object whose every member set took.
func members(b []byte, set func(name, v []byte) bool) bool {
	if !jsonscan.Valid(b) {
		return false
	}
	ok := true
	isObject := jsonscan.Members(b, func(name, v []byte) bool {
		ok = len(name) >= 2 && set(name[1:len(name)-1], v)
		return ok
	})
	return ok && isObject
}

// decodeInto runs members over b with set on a copy of *dst, and stores the copy only when every
// member was taken: a decoder that gives up leaves the record as it was for encoding/json.
func decodeInto[T any](dst *T, b []byte, set func(x *T, name, v []byte) bool) bool {
	x := *dst
	if !members(b, func(name, v []byte) bool { return set(&x, name, v) }) {
		return false
	}
	*dst = x
	return true
}

// plainString sets *s from a string token with no escapes and only valid UTF-8 (what
// encoding/json would decode to its content as written); null leaves *s as it is.
func plainString(v []byte, s *string) bool {
	if string(v) == "null" {
		return true
	}
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
		return false
	}
	*s = string(v[1 : len(v)-1])
	return true
}

// plainTime sets *t as its UnmarshalJSON does (null leaves it as it is).
func plainTime(v []byte, t *time.Time) bool {
	return t.UnmarshalJSON(v) == nil
}

// plainInt sets *i from an integer literal that fits an int; null leaves it as it is.
func plainInt(v []byte, i *int) bool {
	if string(v) == "null" {
		return true
	}
	n, err := strconv.ParseInt(string(v), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	*i = int(n)
	return true
}

// plainUint sets *u from an unsigned integer literal; null leaves it as it is.
func plainUint(v []byte, u *uint64) bool {
	if string(v) == "null" {
		return true
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return false
	}
	*u = n
	return true
}

// plainBool sets *b from true or false; null leaves it as it is.
func plainBool(v []byte, b *bool) bool {
	switch string(v) {
	case "true":
		*b = true
	case "false":
		*b = false
	case "null":
	default:
		return false
	}
	return true
}

// plainRaw sets *r to a copy of the value as written, as encoding/json sets a json.RawMessage;
// null is left to encoding/json.
func plainRaw(v []byte, r *json.RawMessage) bool {
	if string(v) == "null" {
		return false
	}
	*r = append(json.RawMessage(nil), v...)
	return true
}

func (e *Event) decodeJSON(b []byte) bool {
	return decodeInto(e, b, func(x *Event, name, v []byte) bool {
		switch string(name) {
		case "id":
			return plainString(v, &x.ID)
		case "consumer":
			return plainString(v, &x.Consumer)
		case "automation":
			return plainString(v, &x.Automation)
		case "dedupeKey":
			return plainString(v, &x.DedupeKey)
		case "payload":
			return plainRaw(v, &x.Payload)
		case "acceptedAt":
			return plainTime(v, &x.AcceptedAt)
		}
		return false
	})
}

func (it *Item) decodeJSON(b []byte) bool {
	return decodeInto(it, b, func(x *Item, name, v []byte) bool {
		switch string(name) {
		case "id":
			return plainString(v, &x.ID)
		case "consumer":
			return plainString(v, &x.Consumer)
		case "automation":
			return plainString(v, &x.Automation)
		case "event":
			return plainString(v, &x.Event)
		case "run":
			return plainString(v, &x.Run)
		case "step":
			return plainString(v, &x.Step)
		case "data":
			return plainRaw(v, &x.Data)
		case "due":
			return plainTime(v, &x.Due)
		case "attempts":
			return plainInt(v, &x.Attempts)
		case "lastError":
			return plainString(v, &x.LastError)
		case "dead":
			return plainBool(v, &x.Dead)
		}
		return false
	})
}

func (r *Run) decodeJSON(b []byte) bool {
	return decodeInto(r, b, func(x *Run, name, v []byte) bool {
		switch string(name) {
		case "id":
			return plainString(v, &x.ID)
		case "consumer":
			return plainString(v, &x.Consumer)
		case "automation":
			return plainString(v, &x.Automation)
		case "event":
			return plainString(v, &x.Event)
		case "status":
			s := string(x.Status)
			ok := plainString(v, &s)
			x.Status = Status(s)
			return ok
		case "createdAt":
			return plainTime(v, &x.CreatedAt)
		case "updatedAt":
			return plainTime(v, &x.UpdatedAt)
		case "data":
			return plainRaw(v, &x.Data)
		}
		return false
	})
}

func (a *Activity) decodeJSON(b []byte) bool {
	return decodeInto(a, b, func(x *Activity, name, v []byte) bool {
		switch string(name) {
		case "seq":
			return plainUint(v, &x.Seq)
		case "consumer":
			return plainString(v, &x.Consumer)
		case "kind":
			return plainString(v, &x.Kind)
		case "at":
			return plainTime(v, &x.At)
		case "data":
			return plainRaw(v, &x.Data)
		}
		return false
	})
}

func (st *Step) decodeJSON(b []byte) bool {
	return decodeInto(st, b, func(x *Step, name, v []byte) bool {
		switch string(name) {
		case "run":
			return plainString(v, &x.Run)
		case "key":
			return plainString(v, &x.Key)
		case "data":
			return plainRaw(v, &x.Data)
		}
		return false
	})
}
