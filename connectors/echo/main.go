// Command echo is the Splice connector "echo": an action that returns its
// params, a webhook trigger that turns each request into an event, a polling
// trigger that counts, and two raw exports for benchmarks. It calls no host
// and needs no credential. See README.md.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o echo.wasm .
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	pdk "github.com/splicehq/splice/pdk/go"
)

// connector is the declaration the module serves; tests call it natively.
var connector = pdk.Connector{
	AppKey:      "echo",
	Name:        "Echo",
	Version:     "1.0.0",
	Description: "Test connector: echoes action params, turns webhook requests into events, and counts polls.",
	Auth:        pdk.Auth{Type: pdk.AuthNone},
	Hosts:       []string{},
	Triggers: []pdk.Trigger{
		{
			Key:           "received",
			Name:          "Webhook received",
			Description:   "One event per webhook request; the payload is the request body parsed as JSON (or the body as a string when it is not JSON), the id is the webhook-id header or else the SHA-256 of the body.",
			Kind:          pdk.Webhook,
			InputSchema:   `{"type": "object", "additionalProperties": false}`,
			PayloadSchema: `{}`,
			Handler:       pdk.HandleTrigger(received),
		},
		{
			Key:           "tick",
			Name:          "Tick",
			Description:   "One event per poll, numbered from 1; the count is kept in the trigger state.",
			Kind:          pdk.Polling,
			InputSchema:   `{"type": "object", "additionalProperties": false}`,
			PayloadSchema: tickSchema,
			Handler:       pdk.HandleTrigger(tick),
		},
	},
	Actions: []pdk.Action{{
		Key:          "echo",
		Name:         "Echo",
		Description:  "Returns its params unchanged.",
		InputSchema:  `{"type": "object"}`,
		OutputSchema: `{"type": "object"}`,
		Handler:      pdk.Handle(echo),
	}},
}

const tickSchema = `{
  "type": "object",
  "required": ["count"],
  "properties": {"count": {"type": "integer", "minimum": 1, "description": "How many polls so far, this one included."}}
}`

func init() { pdk.Register(connector) }

func main() {}

// echo returns the params as they came; missing params are {}.
func echo(ctx *pdk.Context, params json.RawMessage) (json.RawMessage, error) {
	if len(params) == 0 || string(params) == "null" {
		return json.RawMessage(`{}`), nil
	}
	return params, nil
}

// received makes one event of a webhook request. Subscribing and
// unsubscribing need nothing: the user points the sender at the webhook URL.
func received(ctx *pdk.Context, req pdk.TriggerRequest[struct{}]) (pdk.TriggerResult, error) {
	switch req.Op {
	case pdk.OpSubscribe, pdk.OpUnsubscribe:
		return pdk.TriggerResult{}, nil
	case pdk.OpReceive:
	default:
		return pdk.TriggerResult{}, fmt.Errorf("echo: received is a webhook trigger and does not support op %q", req.Op)
	}
	body := req.Request.Body
	id := req.Request.Headers.Get("webhook-id")
	if id == "" {
		sum := sha256.Sum256([]byte(body))
		id = hex.EncodeToString(sum[:])
	}
	var payload any
	switch {
	case body == "":
		payload = nil
	case json.Valid([]byte(body)):
		payload = json.RawMessage(body)
	default:
		payload = body
	}
	return pdk.TriggerResult{Events: []pdk.Event{{ID: id, Payload: payload}}}, nil
}

// tickState is the state of the tick trigger between polls.
type tickState struct {
	Count int `json:"count"`
}

// tick makes one event per poll, counting in the state.
func tick(ctx *pdk.Context, req pdk.TriggerRequest[struct{}]) (pdk.TriggerResult, error) {
	switch req.Op {
	case pdk.OpSubscribe, pdk.OpUnsubscribe:
		return pdk.TriggerResult{}, nil
	case pdk.OpPoll:
	default:
		return pdk.TriggerResult{}, fmt.Errorf("echo: tick is a polling trigger and does not support op %q", req.Op)
	}
	var st tickState
	if len(req.State) > 0 && string(req.State) != "null" {
		if err := json.Unmarshal(req.State, &st); err != nil {
			return pdk.TriggerResult{}, fmt.Errorf("echo: tick: bad state: %w", err)
		}
	}
	st.Count++
	return pdk.TriggerResult{
		Events: []pdk.Event{{ID: "tick-" + strconv.Itoa(st.Count), Payload: st}},
		State:  st,
	}, nil
}
