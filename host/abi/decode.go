package abi

import (
	"encoding/json"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// DecodeTriggerOutput decodes a trigger's output exactly as json.Unmarshal into a TriggerOutput
// does, errors included, in a fraction of its time for the usual shape: an object with "events"
// (objects with a plain ASCII "id" and a "payload") and "state". The payloads and the state alias
// b. Anything else (a "response", other members, escapes, duplicates) is decoded by json.Unmarshal.
// FuzzDecodeTriggerOutput checks the two agree.
func DecodeTriggerOutput(b []byte) (TriggerOutput, error) {
	if !jsonscan.Valid(b) {
		var out TriggerOutput
		err := json.Unmarshal(b, &out) // its syntax error
		return out, err
	}
	return DecodeValidTriggerOutput(b)
}

// DecodeValidTriggerOutput is [DecodeTriggerOutput] for a b already known to be one JSON value
// as jsonscan.Valid accepts it, which it does not check again: the sandbox checks every output it
// returns (unless the call asked for raw output). It saves one full pass over the output, whose
// payloads are most of it. Given a b that is not valid JSON it returns some output or error (a
// payload may then be invalid too), and never panics.
func DecodeValidTriggerOutput(b []byte) (TriggerOutput, error) {
	if out, ok := decodeTriggerOutput(b); ok {
		return out, nil
	}
	var out TriggerOutput
	err := json.Unmarshal(b, &out)
	return out, err
}

// decodeTriggerOutput is the fast path of DecodeValidTriggerOutput, for a b that is valid JSON;
// ok is false when it cannot tell.
func decodeTriggerOutput(b []byte) (out TriggerOutput, ok bool) {
	var seenEvents, seenState, bad bool
	isObject := jsonscan.Members(b, func(name, value []byte) bool {
		switch {
		case string(name) == `"events"` && !seenEvents:
			seenEvents = true
			if string(value) == "null" {
				return true
			}
			out.Events = []Event{} // an empty array is an empty slice, not nil
			isArray := jsonscan.Elements(value, func(v []byte) bool {
				ev, ok := decodeEvent(v)
				out.Events = append(out.Events, ev)
				bad = bad || !ok
				return ok
			})
			bad = bad || !isArray
		case string(name) == `"state"` && !seenState && string(value) != "null":
			seenState = true
			out.State = value
		default:
			bad = true
		}
		return !bad
	})
	return out, isObject && !bad
}

// decodeEvent decodes one element of "events" when it is an object with at most one plain "id"
// and at most one "payload".
func decodeEvent(b []byte) (ev Event, ok bool) {
	var seenID, seenPayload, bad bool
	isObject := jsonscan.Members(b, func(name, value []byte) bool {
		switch {
		case string(name) == `"id"` && !seenID:
			seenID = true
			if string(value) != "null" {
				var plain bool
				ev.ID, plain = plainString(value)
				bad = !plain
			}
		case string(name) == `"payload"` && !seenPayload:
			seenPayload = true
			ev.Payload = value
		default:
			bad = true
		}
		return !bad
	})
	return ev, isObject && !bad
}

// plainString returns the content of a string token with no escapes and only ASCII, which
// encoding/json decodes as it is written.
func plainString(tok []byte) (string, bool) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", false
	}
	for _, c := range tok[1 : len(tok)-1] {
		if c == '\\' || c >= 0x80 {
			return "", false
		}
	}
	return string(tok[1 : len(tok)-1]), true
}

// DecodeValidOutput returns the "output" member of an action's or a transform's output, b, as
// json.Unmarshal into an [ActionOutput] sets it (nil when absent), for a b already known to be
// one JSON value as jsonscan.Valid accepts it (the sandbox checks every output it returns). The
// usual shape, an object whose one member is "output", is picked apart without decoding; anything
// else goes to json.Unmarshal. FuzzDecodeValidOutput checks the two agree. Given a b that is not
// valid JSON it returns some value or error, and never panics.
func DecodeValidOutput(b []byte) (json.RawMessage, error) {
	var out json.RawMessage
	n := 0
	isObject := jsonscan.Members(b, func(name, value []byte) bool {
		n++
		if n == 1 && string(name) == `"output"` {
			out = value
			return true
		}
		return false
	})
	if isObject && n == 1 && out != nil {
		return out, nil
	}
	var o ActionOutput
	err := json.Unmarshal(b, &o)
	return o.Output, err
}
