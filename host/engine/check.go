package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/credential"
	"github.com/splicehq/splice/host/mapping"
	"github.com/splicehq/splice/host/validate"
)

// Credentials tells which app a consumer's credential is for; *credential.Store implements it.
type Credentials interface {
	Get(ctx context.Context, consumer, key string) (credential.Credential, error)
}

// Check validates a compiled automation against the engine's environment, as creating or
// updating one does: the connectors and their trigger, action and transform keys exist; each
// credential is the consumer's and is for that step's app (and one is named where the app needs
// one); a called automation exists for the consumer; and every input's literal parts validate
// against the input schema (a value that holds a template is checked when it runs).
//
// # Errors
//
// An *automation.Error listing every problem, located by JSON pointers into the automation.
func (e *Engine) Check(ctx context.Context, consumer string, p *automation.Program, creds Credentials) error {
	c := checker{e: e, ctx: ctx, consumer: consumer, creds: creds}
	a := p.Automation
	if m := c.connector("/trigger/appKey", a.Trigger.AppKey); m != nil {
		if t, ok := m.Trigger(a.Trigger.TriggerKey); !ok {
			c.add("/trigger/triggerKey", "%s has no trigger %q", a.Trigger.AppKey, a.Trigger.TriggerKey)
		} else {
			c.input("/trigger/inputParams", t.InputSchema, p.TriggerInput)
		}
		c.credential("/trigger/credentialKey", m, a.Trigger.CredentialKey)
	}
	c.steps("/steps", p.Steps)
	if len(c.problems) > 0 {
		return &automation.Error{Problems: c.problems}
	}
	return nil
}

type checker struct {
	e        *Engine
	ctx      context.Context
	consumer string
	creds    Credentials
	problems []automation.Problem
}

func (c *checker) add(ptr, format string, args ...any) {
	c.problems = append(c.problems, automation.Problem{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) connector(ptr, appKey string) *abi.Manifest {
	conn, err := c.e.o.Connectors.Active(c.ctx, appKey)
	if err != nil {
		c.add(ptr, "no connector %q is active in this environment", appKey)
		return nil
	}
	return conn.Manifest()
}

func (c *checker) credential(ptr string, m *abi.Manifest, key string) {
	if key == "" {
		if m.Auth.Type != abi.AuthNone && m.Auth.Type != "" {
			c.add(ptr, "%s needs a credential (auth type %s)", m.AppKey, m.Auth.Type)
		}
		return
	}
	if c.creds == nil {
		return
	}
	cred, err := c.creds.Get(c.ctx, c.consumer, key)
	switch {
	case errors.Is(err, credential.ErrNotFound):
		c.add(ptr, "the consumer has no credential %q", key)
	case err != nil:
		c.add(ptr, "credential %q: %v", key, err)
	case cred.AppKey != m.AppKey:
		c.add(ptr, "credential %q is for %s, not %s", key, cred.AppKey, m.AppKey)
	}
}

func (c *checker) steps(ptr string, steps []*automation.CompiledStep) {
	for i, cs := range steps {
		sp := ptr + "/" + strconv.Itoa(i)
		s := cs.Step
		switch s.Kind() {
		case automation.KindAction:
			if m := c.connector(sp+"/appKey", s.AppKey); m != nil {
				if a, ok := m.Action(s.ActionKey); !ok {
					c.add(sp+"/actionKey", "%s has no action %q", s.AppKey, s.ActionKey)
				} else {
					c.input(sp+"/inputParams", a.InputSchema, cs.Input)
				}
				c.credential(sp+"/credentialKey", m, s.CredentialKey)
			}
		case automation.KindTransform:
			if m := c.connector(sp+"/appKey", s.AppKey); m != nil {
				if t, ok := m.Transform(s.TransformKey); !ok {
					c.add(sp+"/transformKey", "%s has no transform %q", s.AppKey, s.TransformKey)
				} else {
					c.input(sp+"/inputParams", t.InputSchema, cs.Input)
				}
			}
		case automation.KindCall:
			if _, err := c.e.o.Automations.Program(c.ctx, c.consumer, s.Call.Automation); err != nil {
				c.add(sp+"/call/automation", "the consumer has no automation %q", s.Call.Automation)
			}
		case automation.KindForEach:
			c.steps(sp+"/forEach/steps", cs.Steps)
		}
	}
}

// input validates the literal parts of a step's input: the template is evaluated with nothing in
// scope, and the schema's complaints about values that hold a template are set aside, as are an
// anyOf/oneOf branch's complaints about an object that holds one.
func (c *checker) input(ptr string, schema json.RawMessage, t *mapping.Template) {
	if t == nil || len(schema) == 0 {
		return
	}
	doc, _ := t.Eval([]byte(`{}`))
	err := c.e.validate(schema, doc)
	var ve *validate.Error
	if !errors.As(err, &ve) {
		if err != nil {
			c.add(ptr, "%v", err)
		}
		return
	}
	combinators := bytes.Contains(schema, []byte(`"anyOf"`)) || bytes.Contains(schema, []byte(`"oneOf"`))
	for _, cause := range ve.Causes {
		templated := false
		// With anyOf/oneOf in the schema, a complaint about an object holding a template may
		// only mean that another branch applies once the template has its value (the cause
		// names the branch's own location, not the combinator), so such complaints wait for
		// the run too.
		inBranch := combinators
		for _, r := range t.Refs() {
			if cause.InstancePath == r.Pointer || strings.HasPrefix(cause.InstancePath, r.Pointer+"/") ||
				inBranch && (cause.InstancePath == "" || strings.HasPrefix(r.Pointer, cause.InstancePath+"/")) {
				templated = true
				break
			}
		}
		if !templated {
			c.add(ptr+cause.InstancePath, "%s: %s", cause.Keyword, cause.Message)
		}
	}
}
