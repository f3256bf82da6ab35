package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/sandbox"
)

// Errors of Receive, which the ingress answers differently.
var (
	// ErrNotWebhook: the automation's trigger does not take webhooks (a polling trigger, or one
	// its connector no longer has).
	ErrNotWebhook = errors.New("engine: the automation's trigger takes no webhooks")
	// ErrTrigger: the trigger's receive failed (a guest error, a limit breached); the request
	// is not stored.
	ErrTrigger = errors.New("engine: the trigger refused the request")
	// ErrPayload: an event the trigger made does not match its payloadSchema, or there are too
	// many; nothing is stored.
	ErrPayload = errors.New("engine: the trigger made an invalid event")
)

// Received is what Receive made of a webhook request.
type Received struct {
	// Events are the stored events (a duplicate's is the first one's, with Duplicate set).
	Events []ledger.Accepted
	// Response is what the trigger asked the caller be answered, if anything.
	Response *abi.HTTPResponse
}

// Receive hands a webhook request to the trigger of consumer's automation (the trigger export,
// op receive) and durably stores the events it makes, each validated against the trigger's
// payloadSchema; only then does it return. dedupe, when set (a verified webhook-id), identifies
// the request at its source: a request seen before stores nothing again. Without it, the
// trigger's own event ids dedupe.
//
// The trigger runs with no network: it is in the path of a caller waiting for its answer.
//
// # Errors
//
// [ErrNotWebhook], [ErrTrigger] (wrapping the sandbox's error), [ErrPayload]; the
// automation's or the store's errors.
func (e *Engine) Receive(ctx context.Context, consumer, automationID string, req *abi.HTTPRequest, dedupe string) (Received, error) {
	prog, err := e.o.Automations.Program(ctx, consumer, automationID)
	if err != nil {
		return Received{}, err
	}
	tr := prog.Automation.Trigger
	conn, err := e.o.Connectors.Active(ctx, tr.AppKey)
	if err != nil {
		return Received{}, fmt.Errorf("%w: app %s: %v", ErrNotWebhook, tr.AppKey, err)
	}
	m := conn.Manifest()
	t, ok := m.Trigger(tr.TriggerKey)
	if !ok || t.Kind != abi.TriggerWebhook {
		return Received{}, fmt.Errorf("%w: %s has no webhook trigger %q", ErrNotWebhook, tr.AppKey, tr.TriggerKey)
	}
	if e.o.Store.Backlogged(consumer) {
		// Its events would be refused: spare the trigger call (a flood costs little).
		return Received{}, fmt.Errorf("%w: consumer %q", ledger.ErrBacklog, consumer)
	}
	params := json.RawMessage(`{}`)
	if prog.TriggerInput != nil {
		params = prog.TriggerParams(consumer, automationID, func() json.RawMessage {
			v, _ := prog.TriggerInput.Eval(mustJSON(map[string]any{
				"automation": map[string]string{"id": automationID, "name": prog.Automation.Name},
				"consumer":   map[string]string{"key": consumer},
			}))
			return v
		})
	}
	in, err := abi.AppendTriggerInput(nil, &abi.TriggerInput{Op: abi.TriggerOpReceive, Key: tr.TriggerKey, Params: params, Request: req})
	if err != nil {
		return Received{}, fmt.Errorf("engine: automation %s: %w", automationID, err)
	}
	sess := e.o.Broker.Session(brokerNoNetwork(consumer, m))
	cctx, cancel := e.callContext(ctx)
	defer cancel()
	res, err := conn.CallWith(cctx, sandbox.CallOptions{Consumer: consumer, Export: abi.ExportTrigger, Input: in, HTTP: sess})
	e.observeCall(abi.ExportTrigger, err, nil)
	if err != nil {
		return Received{}, fmt.Errorf("%w: %w", ErrTrigger, err)
	}
	out, err := abi.DecodeValidTriggerOutput(res.Output) // the sandbox checked it is JSON
	if err != nil {
		return Received{}, fmt.Errorf("%w: its output is not a trigger output: %v", ErrTrigger, err)
	}
	if len(out.Events) > ledger.MaxAcceptEvents {
		return Received{}, fmt.Errorf("%w: %d events from one request, limit %d", ErrPayload, len(out.Events), ledger.MaxAcceptEvents)
	}
	events := make([]ledger.NewEvent, 0, len(out.Events))
	for i, ev := range out.Events {
		if err := e.validateJSON(t.PayloadSchema, ev.Payload); err != nil { // part of the checked output
			return Received{}, fmt.Errorf("%w: event %d: %v", ErrPayload, i, err)
		}
		// A sync webhook's caller waits for the run: its item goes before the waiting ones.
		ne := ledger.NewEvent{Consumer: consumer, Automation: automationID, Payload: orNull(ev.Payload),
			Urgent: prog.Automation.Respond == automation.RespondSync}
		switch {
		case dedupe != "" && len(out.Events) == 1:
			ne.DedupeKey = "webhook:" + dedupe
		case dedupe != "":
			ne.DedupeKey = "webhook:" + dedupe + "/" + strconv.Itoa(i)
		case ev.ID != "":
			ne.DedupeKey = "event:" + ev.ID
		}
		if len(ne.DedupeKey) > ledger.MaxKeyBytes {
			return Received{}, fmt.Errorf("%w: event %d: its id is longer than %d bytes", ErrPayload, i, ledger.MaxKeyBytes-len("webhook:"))
		}
		events = append(events, ne)
	}
	r := Received{Response: out.Response}
	if len(events) == 0 {
		return r, nil
	}
	if r.Events, err = e.o.Store.Accept(ctx, events); err != nil {
		return Received{}, err
	}
	return r, nil
}

// brokerNoNetwork is a broker session that allows no host: for code in a caller's path.
func brokerNoNetwork(consumer string, m *abi.Manifest) broker.SessionOptions {
	return broker.SessionOptions{Consumer: consumer, Manifest: &abi.Manifest{AppKey: m.AppKey}}
}
