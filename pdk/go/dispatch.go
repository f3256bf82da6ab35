package pdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Call runs one export of c on input, as the module's export does once c is
// registered, and returns the output document or the error the call would
// fail with. It lets connector authors test their handlers natively with
// plain go test. A panic in a handler is recovered and returned as an error.
//
// # Errors
//
// For describe, the errors of Manifest. For the others: an unknown export;
// input that is not the export's JSON envelope; a key no trigger, action or
// transform of c has; params or input that do not decode into the handler's
// type; the handler's own error, returned as is; a panic.
func (c *Connector) Call(export string, input []byte) ([]byte, error) {
	if export == "describe" {
		return c.Manifest()
	}
	return c.dispatch(export, input)
}

// dispatch decodes the envelope of export, runs the handler and encodes its
// result.
func (c *Connector) dispatch(export string, input []byte) (out []byte, err error) {
	ctx := &Context{Export: export}
	defer func() {
		if r := recover(); r != nil {
			out = nil
			if ctx.Key != "" {
				err = fmt.Errorf("pdk: %s %q panicked: %v", export, ctx.Key, r)
			} else {
				err = fmt.Errorf("pdk: %s panicked: %v", export, r)
			}
		}
	}()
	switch export {
	case "action", "transform":
		var params json.RawMessage
		err := members(export, input, func(key string, val []byte) (err error) {
			switch key {
			case "key":
				ctx.Key, err = stringMember(key, val)
			case "idempotencyKey":
				if export == "action" {
					ctx.IdempotencyKey, err = stringMember(key, val)
				}
			case "params":
				if export == "action" {
					params = rawMember(val)
				}
			case "input":
				if export == "transform" {
					params = rawMember(val)
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if export == "action" {
			for i := range c.Actions {
				if a := &c.Actions[i]; a.Key == ctx.Key {
					return runHandler(ctx, a.Handler, params, "params")
				}
			}
		} else {
			for i := range c.Transforms {
				if t := &c.Transforms[i]; t.Key == ctx.Key {
					return runHandler(ctx, t.Handler, params, "input")
				}
			}
		}
		return nil, c.unknown(export, ctx.Key)
	case "trigger":
		var in triggerInput
		err := members(export, input, func(key string, val []byte) (err error) {
			switch key {
			case "op":
				in.Op, err = stringMember(key, val)
			case "key":
				in.Key, err = stringMember(key, val)
			case "params":
				in.Params = rawMember(val)
			case "state":
				in.State = rawMember(val)
			case "webhookUrl":
				in.WebhookURL, err = stringMember(key, val)
			case "request":
				if raw := rawMember(val); raw != nil {
					if err = json.Unmarshal(raw, &in.Request); err != nil {
						err = fmt.Errorf("request: %w", err)
					}
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		ctx.Key = in.Key
		for i := range c.Triggers {
			if t := &c.Triggers[i]; t.Key == in.Key {
				return runTrigger(ctx, t.Handler, &in)
			}
		}
		return nil, c.unknown(export, in.Key)
	case "auth":
		var in AuthRequest
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, fmt.Errorf("pdk: %s: decode input: %w", export, err)
		}
		return c.runAuth(ctx, &in)
	}
	return nil, fmt.Errorf("pdk: unknown export %q", export)
}

// unknown is the error for a key that c does not declare.
func (c *Connector) unknown(export, key string) error {
	return fmt.Errorf("pdk: connector %s has no %s %q", c.AppKey, export, key)
}

// noHandler is the error for a declared key without a handler.
func noHandler(ctx *Context) error {
	return fmt.Errorf("pdk: %s %q has no handler", ctx.Export, ctx.Key)
}

// handlerError adds context to a decode error and leaves the handler's own
// errors as they are.
func handlerError(ctx *Context, what string, err error) error {
	if de, ok := errors.AsType[*decodeError](err); ok {
		return fmt.Errorf("pdk: %s %q: decode %s: %w", ctx.Export, ctx.Key, what, de.err)
	}
	return err
}

func runHandler(ctx *Context, h Handler, raw json.RawMessage, what string) ([]byte, error) {
	if h.fn == nil {
		return nil, noHandler(ctx)
	}
	v, err := h.fn(ctx, raw)
	if err != nil {
		return nil, handlerError(ctx, what, err)
	}
	b, err := outputEnvelope(v)
	if err != nil {
		return nil, fmt.Errorf("pdk: %s %q: encode output: %w", ctx.Export, ctx.Key, err)
	}
	return b, nil
}

func runTrigger(ctx *Context, h TriggerHandler, in *triggerInput) ([]byte, error) {
	if h.fn == nil {
		return nil, noHandler(ctx)
	}
	res, err := h.fn(ctx, in)
	if err != nil {
		return nil, handlerError(ctx, "params", err)
	}
	if res.Events == nil {
		res.Events = []Event{}
	}
	return encode(ctx, &res)
}

func (c *Connector) runAuth(ctx *Context, in *AuthRequest) ([]byte, error) {
	var res AuthResult
	switch {
	case c.Auth.Handler != nil:
		var err error
		if res, err = c.Auth.Handler(ctx, *in); err != nil {
			return nil, err
		}
	case in.Op == OpTest:
		res.OK = true
	default:
		return nil, fmt.Errorf("pdk: connector %s does not support auth op %q", c.AppKey, in.Op)
	}
	if res.Set == nil {
		res.Set = map[string]any{}
	}
	return encode(ctx, &res)
}

// encode encodes a handler's result envelope.
func encode(ctx *Context, v any) ([]byte, error) {
	b, err := marshal(v)
	if err != nil {
		if ctx.Key != "" {
			return nil, fmt.Errorf("pdk: %s %q: encode output: %w", ctx.Export, ctx.Key, err)
		}
		return nil, fmt.Errorf("pdk: %s: encode output: %w", ctx.Export, err)
	}
	return b, nil
}

// marshal is json.Marshal without HTML escaping: an output is a JSON
// document for the host, not for a web page, and "<", ">" and "&" stay as
// they are.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode ends with a newline
}
