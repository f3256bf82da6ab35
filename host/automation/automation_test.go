package automation_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/validate"
)

// designExample is the automation of DESIGN.md, "Automations".
const designExample = `{"name": "orders to chat",
 "trigger": {"appKey": "shop", "triggerKey": "new-order", "credentialKey": "c1", "inputParams": {"minTotal": 10}},
 "steps": [
   {"id": "notify", "appKey": "chat", "actionKey": "send-message", "credentialKey": "c2",
    "inputParams": {"channel": "#orders", "text": "New order {{trigger.order.id}} by {{trigger.order.customer.name}}"}}
 ],
 "respond": "async"}`

func TestDecodeAndCompileTheDesignExample(t *testing.T) {
	a, err := automation.Decode([]byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "orders to chat" || len(a.Steps) != 1 || a.Steps[0].Kind() != automation.KindAction || !a.IsEnabled() {
		t.Fatalf("decoded %+v", a)
	}
	p, err := automation.Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	out, missing := p.Steps[0].Input.Eval([]byte(`{"trigger":{"order":{"id":7,"customer":{"name":"Ann"}}}}`))
	if string(out) != `{"channel":"#orders","text":"New order 7 by Ann"}` || len(missing) != 0 {
		t.Errorf("input = %s, missing %v", out, missing)
	}
}

func TestDecodeRefusals(t *testing.T) {
	cases := []struct{ name, doc, keyword string }{
		{"no trigger", `{"name":"x"}`, "required"},
		{"unknown member", `{"name":"x","trigger":{"appKey":"a","triggerKey":"t"},"owner":"me"}`, "additionalProperties"},
		{"two kinds in a step", `{"name":"x","trigger":{"appKey":"a","triggerKey":"t"},"steps":[{"id":"s","appKey":"a","actionKey":"k","filter":"true"}]}`, "additionalProperties"},
		{"bad step id", `{"name":"x","trigger":{"appKey":"a","triggerKey":"t"},"steps":[{"id":"Bad Id","filter":"true"}]}`, "pattern"},
		{"bad respond", `{"name":"x","trigger":{"appKey":"a","triggerKey":"t"},"respond":"later"}`, "enum"},
		{"forEach without steps", `{"name":"x","trigger":{"appKey":"a","triggerKey":"t"},"steps":[{"id":"l","forEach":{"items":"{{trigger.a}}","steps":[]}}]}`, "minItems"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := automation.Decode([]byte(tc.doc))
			var ve *validate.Error
			if !errors.As(err, &ve) {
				t.Fatalf("Decode = %v, want a *validate.Error", err)
			}
			found := false
			for _, c := range ve.Causes {
				found = found || c.Keyword == tc.keyword
			}
			if !found {
				t.Errorf("causes %+v, want keyword %s", ve.Causes, tc.keyword)
			}
		})
	}
}

func TestCompileProblems(t *testing.T) {
	const head = `{"name":"x","trigger":{"appKey":"shop","triggerKey":"t","inputParams":%s},"steps":%s}`
	cases := []struct {
		name, trigger, steps string
		want                 []string // pointer: message fragment
	}{
		{"later step", `{}`, `[{"id":"a","appKey":"s","actionKey":"k","inputParams":{"x":"{{steps.b.output.id}}"}},{"id":"b","appKey":"s","actionKey":"k"}]`,
			[]string{`/steps/0/inputParams/x: {{steps.b.output.id}}: no step "b" runs before`}},
		{"unknown source", `{}`, `[{"id":"a","appKey":"s","actionKey":"k","inputParams":{"x":"{{secrets.key}}"}}]`,
			[]string{"/steps/0/inputParams/x: path \"secrets.key\" does not start with"}},
		{"item outside forEach", `{}`, `[{"id":"a","appKey":"s","actionKey":"k","inputParams":{"x":"{{item.sku}}"}}]`,
			[]string{"/steps/0/inputParams/x: {{item.sku}}: item exists only inside a forEach"}},
		{"steps in the trigger", `{"x":"{{steps.a.output}}"}`, `[{"id":"a","filter":"true"}]`,
			[]string{"/trigger/inputParams/x: {{steps.a.output}}: no step has run here"}},
		{"duplicate id", `{}`, `[{"id":"a","filter":"true"},{"id":"l","forEach":{"items":"{{trigger.lines}}","steps":[{"id":"a","filter":"true"}]}}]`,
			[]string{`/steps/1/forEach/steps/0/id: step id "a" is used twice`}},
		{"call inside forEach", `{}`, `[{"id":"l","forEach":{"items":"{{trigger.lines}}","steps":[{"id":"c","call":{"automation":"x"}}]}}]`,
			[]string{`/steps/0/forEach/steps/0: a call step cannot run inside a forEach`}},
		{"forEach too deep", `{}`, `[{"id":"l1","forEach":{"items":"{{trigger.a}}","steps":[{"id":"l2","forEach":{"items":"{{item.b}}","steps":[` +
			`{"id":"l3","forEach":{"items":"{{item.c}}","steps":[{"id":"l4","forEach":{"items":"{{item.d}}","steps":[{"id":"f","filter":"true"}]}}]}}]}}]}}]`,
			[]string{`/steps/0/forEach/steps/0/forEach/steps/0/forEach/steps/0: forEach steps nest at most 3 deep`}},
		{"bad condition syntax", `{}`, `[{"id":"a","filter":"trigger.total >"}]`, []string{"/steps/0/filter: condition"}},
		{"condition not boolean", `{}`, `[{"id":"a","filter":"1 + 1"}]`, []string{"/steps/0/filter: condition"}},
		{"condition unknown variable", `{}`, `[{"id":"a","filter":"secrets.key == 1"}]`, []string{"/steps/0/filter: condition"}},
		{"unclosed template", `{}`, `[{"id":"a","appKey":"s","actionKey":"k","inputParams":{"x":"{{trigger.a"}}]`, []string{"/steps/0/inputParams/x: unclosed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := automation.Decode([]byte(fmt.Sprintf(head, tc.trigger, tc.steps)))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			_, err = automation.Compile(a)
			var ce *automation.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Compile = %v, want an *automation.Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems %v, want one containing %q", ce.Problems, w)
				}
			}
		})
	}
}

func TestScopes(t *testing.T) {
	doc := `{"name":"x","trigger":{"appKey":"shop","triggerKey":"t"},"steps":[
	  {"id":"lookup","appKey":"s","transformKey":"k","inputParams":{"v":"{{trigger.order}}"}},
	  {"id":"only-big","filter":"trigger.order.total > 10 && steps.lookup.output.ok"},
	  {"id":"each","forEach":{"items":"{{trigger.order.lines}}","where":"item.qty > 0","concurrency":4,"steps":[
	     {"id":"post","appKey":"s","actionKey":"k","inputParams":{"sku":"{{item.sku}}","n":"{{steps.lookup.output.count}}"}},
	     {"id":"after","appKey":"s","actionKey":"k","inputParams":{"prev":"{{steps.post.output}}"}}]}},
	  {"id":"reply","respond":{"status":200,"body":{"done":"{{steps.each.output}}"}}},
	  {"id":"sub","call":{"automation":"other","input":{"x":"{{run.id}}","c":"{{consumer.key}}"}}}]}`
	a, err := automation.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := automation.Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []automation.Kind{automation.KindTransform, automation.KindFilter, automation.KindForEach, automation.KindRespond, automation.KindCall}
	for i, k := range kinds {
		if p.Steps[i].Step.Kind() != k {
			t.Errorf("step %d: kind %s, want %s", i, p.Steps[i].Step.Kind(), k)
		}
	}
	f := p.Steps[1].Condition
	for _, tc := range []struct {
		total float64
		ok    bool
		want  bool
	}{{20, true, true}, {5, true, false}, {20, false, false}} {
		got, err := f.Eval(map[string]any{"trigger": map[string]any{"order": map[string]any{"total": tc.total}}, "steps": map[string]any{"lookup": map[string]any{"output": map[string]any{"ok": tc.ok}}}})
		if err != nil || got != tc.want {
			t.Errorf("filter(total %v, ok %v) = %v, %v; want %v", tc.total, tc.ok, got, err, tc.want)
		}
	}
	if len(p.Steps[2].Steps) != 2 || p.Steps[2].Condition == nil || p.Steps[2].Items == nil {
		t.Errorf("forEach compiled as %+v", p.Steps[2])
	}
}

func TestConditionBounds(t *testing.T) {
	if _, err := automation.CompileCondition(strings.Repeat("1 + ", 600) + "1 > 0"); err == nil {
		t.Error("a condition of more than MaxConditionNodes nodes compiled")
	}
	c, err := automation.CompileCondition("len(1..100000000) > 0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Eval(nil); err == nil {
		t.Error("a condition allocating a 100M-element range ran: want the memory budget to stop it")
	}
	c, err = automation.CompileCondition(`trigger.x == "a"`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Eval(nil); err != nil || got {
		t.Errorf("condition over a missing source: %v, %v", got, err)
	}
}

// FuzzDecodeCompile feeds hostile automations to Decode and Compile: an error or a program,
// never a panic.
func FuzzDecodeCompile(f *testing.F) {
	f.Add(designExample)
	f.Add(`{"name":"x","trigger":{"appKey":"a","triggerKey":"t"},"steps":[{"id":"l","forEach":{"items":"{{trigger.a}}","where":"item.b > 1","steps":[{"id":"f","filter":"item.c == 'x'"}]}}]}`)
	f.Add(`{"name":"x","trigger":{"appKey":"a","triggerKey":"t"},"steps":[{"id":"r","respond":{"status":201,"body":"{{steps.q.output}}"}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		a, err := automation.Decode([]byte(doc))
		if err != nil {
			return
		}
		p, err := automation.Compile(a)
		if err != nil {
			var ce *automation.Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("Compile error %v is not a list of problems", err)
			}
			return
		}
		if len(p.Steps) != len(a.Steps) {
			t.Fatalf("%d steps compiled from %d", len(p.Steps), len(a.Steps))
		}
	})
}

func TestTriggerParamsEvaluatedOncePerConsumer(t *testing.T) {
	p := &automation.Program{}
	calls := 0
	eval := func(v string) func() json.RawMessage {
		return func() json.RawMessage { calls++; return json.RawMessage(v) }
	}
	for range 3 {
		if got := p.TriggerParams("acme", "a1", eval(`{"c":"acme"}`)); string(got) != `{"c":"acme"}` {
			t.Fatalf("got %s", got)
		}
	}
	if calls != 1 {
		t.Fatalf("eval ran %d times for one consumer and automation, want 1", calls)
	}
	if got := p.TriggerParams("globex", "a1", eval(`{"c":"globex"}`)); string(got) != `{"c":"globex"}` {
		t.Fatalf("another consumer got %s", got)
	}
	if got := p.TriggerParams("globex", "a2", eval(`{"a":"a2"}`)); string(got) != `{"a":"a2"}` || calls != 3 {
		t.Fatalf("another automation got %s after %d evaluations", got, calls)
	}
}
