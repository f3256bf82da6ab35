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

// postMessageURL is where send-message posts; the host replaces the
// placeholder with the credential's baseUrl.
const postMessageURL = "{{credential.baseUrl}}/api/chat.postMessage"

// snippetBytes is how much of a reply body an error message shows.
const snippetBytes = 256

// sendParams are send-message's params; nil pointers are absent members.
type sendParams struct {
	Channel  *string `json:"channel"`
	Text     *string `json:"text"`
	ThreadID *string `json:"threadId"`
}

// message is the body posted to the chat API, and format-order's output.
type message struct {
	Channel  string `json:"channel"`
	Text     string `json:"text"`
	ThreadID string `json:"threadId,omitempty"`
}

// sendOutput is send-message's output.
type sendOutput struct {
	OK        bool    `json:"ok"`
	Status    int     `json:"status"`
	MessageID *string `json:"messageId"`
}

// sendMessage posts the message of params to the chat API through the host's
// HTTP broker and reports the reply.
func sendMessage(ctx *pdk.Context, params json.RawMessage) (sendOutput, error) {
	msg, err := decodeSendParams(params)
	if err != nil {
		return sendOutput{}, err
	}
	req, err := buildRequest(msg, ctx.IdempotencyKey)
	if err != nil {
		return sendOutput{}, err
	}
	res, err := pdk.Fetch(req)
	if err != nil {
		return sendOutput{}, fmt.Errorf("chat: send-message: %w", err)
	}
	return readReply(res)
}

// decodeSendParams decodes and checks send-message's params as its input
// schema says, for hosts (and native tests) that do not validate them first.
func decodeSendParams(raw json.RawMessage) (message, error) {
	var p sendParams
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return message{}, fmt.Errorf("chat: send-message: params: %w", err)
		}
	}
	switch {
	case p.Channel == nil:
		return message{}, errors.New("chat: send-message: channel is required")
	case p.Text == nil:
		return message{}, errors.New("chat: send-message: text is required")
	}
	if n := utf8.RuneCountInString(*p.Channel); n < 1 || n > maxChannelRunes {
		return message{}, fmt.Errorf("chat: send-message: channel must have 1 to %d characters, not %d", maxChannelRunes, n)
	}
	if n := utf8.RuneCountInString(*p.Text); n < 1 || n > maxTextRunes {
		return message{}, fmt.Errorf("chat: send-message: text must have 1 to %d characters, not %d", maxTextRunes, n)
	}
	msg := message{Channel: *p.Channel, Text: *p.Text}
	if p.ThreadID != nil {
		msg.ThreadID = *p.ThreadID
	}
	return msg, nil
}

// buildRequest returns the request that posts msg: a JSON POST to
// postMessageURL with the credential injected, and idempotencyKey, when set,
// as the Idempotency-Key header.
//
// # Errors
//
// An idempotencyKey holding "{{", which the host would take for a credential
// placeholder.
func buildRequest(msg message, idempotencyKey string) (pdk.Request, error) {
	body, err := encodeMessage(msg)
	if err != nil {
		return pdk.Request{}, err
	}
	headers := map[string]string{
		"Accept":       "application/json",
		"Content-Type": "application/json; charset=utf-8",
	}
	if idempotencyKey != "" {
		if strings.Contains(idempotencyKey, "{{") {
			return pdk.Request{}, errors.New(`chat: send-message: idempotencyKey must not contain "{{"`)
		}
		headers["Idempotency-Key"] = idempotencyKey
	}
	return pdk.Request{Method: "POST", URL: postMessageURL, Headers: headers, Body: body, Auth: true}, nil
}

// encodeMessage returns msg as JSON with every "{" after the first byte
// written as \u007b (see "Why user text is written with { escaped" in
// main.go). message has string members only, so every "{" but the
// object's own opening brace is inside a string, where the escape means the
// same.
func encodeMessage(msg message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<https://x|y>" stays readable
	if err := enc.Encode(&msg); err != nil {
		return nil, fmt.Errorf("chat: send-message: encode body: %w", err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.IndexByte(b[1:], '{') < 0 {
		return b, nil
	}
	return append(b[:1:1], bytes.ReplaceAll(b[1:], []byte("{"), []byte(`\u007b`))...), nil
}

// reply is the part of the chat API's JSON reply the connector reads.
type reply struct {
	OK    *bool           `json:"ok"`
	ID    json.RawMessage `json:"id"`
	TS    json.RawMessage `json:"ts"`
	Error json.RawMessage `json:"error"`
}

// readReply turns the chat API's response into send-message's output: a 2xx
// is the output, anything else an error whose text says what the API
// answered. The host decides on retries from the status of the exchange it
// recorded (a 429 or 5xx may be retried, a 4xx is not), so every non-2xx is
// an error here.
func readReply(res *pdk.Response) (sendOutput, error) {
	switch {
	case res.Status == 401 || res.Status == 403:
		return sendOutput{}, fmt.Errorf("chat: send-message: the chat API refused the credential with status %d (check its token)%s", res.Status, snippet(res.Body))
	case res.Status == 429 || res.Status >= 500:
		return sendOutput{}, fmt.Errorf("chat: send-message: the chat API failed with status %d (temporary)%s", res.Status, snippet(res.Body))
	case res.Status >= 400:
		return sendOutput{}, fmt.Errorf("chat: send-message: the chat API refused the message with status %d%s", res.Status, snippet(res.Body))
	case !res.OK():
		return sendOutput{}, fmt.Errorf("chat: send-message: unexpected status %d from the chat API%s", res.Status, snippet(res.Body))
	}
	out := sendOutput{OK: true, Status: res.Status}
	body := bytes.TrimSpace(res.Body)
	if len(body) > maxReplyBytes || len(body) == 0 || body[0] != '{' {
		return out, nil
	}
	var r reply
	if json.Unmarshal(body, &r) != nil {
		return out, nil // a 2xx whose body is not JSON: posted, without an id
	}
	if r.OK != nil && !*r.OK {
		reason := "no reason given"
		if s, ok := textOf(r.Error); ok && s != "" {
			reason = clip(s)
		}
		return sendOutput{}, fmt.Errorf("chat: send-message: the chat API answered status %d with ok false: %s", res.Status, reason)
	}
	if id, ok := idOf(r.ID); ok {
		out.MessageID = &id
	} else if ts, ok := idOf(r.TS); ok {
		out.MessageID = &ts
	}
	return out, nil
}

// idOf returns a non-empty string member, or a number member as written.
func idOf(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), true
	}
	return "", false
}

// snippet returns ": " and the start of body, whitespace collapsed, for an
// error message, or "" when body is empty or not text.
func snippet(body []byte) string {
	cut := len(body) > snippetBytes
	if cut {
		body = body[:snippetBytes]
		for i := 0; i < utf8.UTFMax && len(body) > 0 && !utf8.Valid(body); i++ {
			body = body[:len(body)-1] // do not cut a rune in two
		}
	}
	if !utf8.Valid(body) {
		return ""
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	switch {
	case s == "":
		return ""
	case cut:
		s += "..."
	}
	return ": " + s
}

// clip shortens s to snippetBytes bytes, on a rune boundary, marking the cut.
func clip(s string) string {
	if len(s) <= snippetBytes {
		return s
	}
	n := snippetBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
