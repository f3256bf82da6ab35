package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	pdk "github.com/splicehq/splice/pdk/go"
)

// defaultChannel is the channel of format-order's message when the input
// names none.
const defaultChannel = "#orders"

// formatOrder turns an order into a chat message:
// {"channel": "#orders", "text": "New order <id> by <customer.name>, total <total>"}.
// The order is the input's "order" member when that is present and not null,
// else the input itself; "channel" at the top of the input overrides the
// channel. Values are shown as the load benchmark's native ceiling shows them
// (cmd/splice-load): a string unquoted, a number as written, any other value
// as compact JSON, and a missing or null customer name or total as nothing. A
// text over the send-message limit is cut, ending with "…".
//
// # Errors
//
// An input that is not an object, an "order" that is not an object, an order
// with no id (or a null one), a channel that is not a string of 1 to 80
// characters.
func formatOrder(ctx *pdk.Context, raw json.RawMessage) (message, error) {
	input, err := object(raw)
	switch {
	case err != nil:
		return message{}, fmt.Errorf("chat: format-order: input: %w", err)
	case input == nil:
		return message{}, errors.New("chat: format-order: input is required")
	}
	order := input
	if o, ok := input["order"]; ok && !isNull(o) {
		if order, err = object(o); err != nil {
			return message{}, fmt.Errorf("chat: format-order: order: %w", err)
		}
	}
	msg := message{Channel: defaultChannel}
	if c, ok := input["channel"]; ok && !isNull(c) {
		if err := json.Unmarshal(c, &msg.Channel); err != nil {
			return message{}, errors.New("chat: format-order: channel must be a string")
		}
		if n := utf8.RuneCountInString(msg.Channel); n < 1 || n > maxChannelRunes {
			return message{}, fmt.Errorf("chat: format-order: channel must have 1 to %d characters, not %d", maxChannelRunes, n)
		}
	}
	id, ok := textOf(order["id"])
	if !ok {
		return message{}, errors.New(`chat: format-order: the order has no id (give it under "order", or as the input itself)`)
	}
	var name string
	if customer, err := object(order["customer"]); err == nil {
		name, _ = textOf(customer["name"])
	}
	total, _ := textOf(order["total"])
	msg.Text = cut("New order "+id+" by "+name+", total "+total, maxTextRunes)
	return msg, nil
}

// object decodes a JSON object into its members, keeping their values raw.
// Absent or null is a nil map and no error.
func object(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, errors.New("must be an object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// textOf returns a value as message text: a string unquoted, a number as
// written, any other value as compact JSON. ok is false for an absent or
// null value (and "" is returned).
func textOf(raw json.RawMessage) (s string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return "", false
	}
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", false
	}
	return buf.String(), true
}

// cut returns s when it has at most n runes, else its first n-1 runes and
// "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == n-1 {
			break
		}
		b.WriteRune(r)
		i++
	}
	b.WriteString("…")
	return b.String()
}
