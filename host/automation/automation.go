package automation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/splicehq/splice/host/mapping"
	"github.com/splicehq/splice/host/validate"
	"github.com/splicehq/splice/schemas"
)

// Automation is an automation as its owner wrote it (schemas/automation.schema.json).
type Automation struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Enabled     *bool   `json:"enabled,omitempty"`
	Trigger     Trigger `json:"trigger"`
	Steps       []Step  `json:"steps,omitempty"`
	Respond     string  `json:"respond,omitempty"`
	Retry       *Retry  `json:"retry,omitempty"`
	// Signing says how webhooks prove their sender: SigningStandardWebhooks, or none.
	Signing string `json:"signing,omitempty"`
}

// SigningStandardWebhooks is the Signing of automations whose webhooks carry a Standard Webhooks
// signature made with the automation's signing secret.
const SigningStandardWebhooks = "standard-webhooks"

// Trigger says what starts a run.
type Trigger struct {
	AppKey        string          `json:"appKey"`
	TriggerKey    string          `json:"triggerKey"`
	CredentialKey string          `json:"credentialKey,omitempty"`
	InputParams   json.RawMessage `json:"inputParams,omitempty"`
}

// Step is one step; exactly one of ActionKey, TransformKey, Filter, ForEach, Call and Respond is
// set, and says its Kind.
type Step struct {
	ID            string          `json:"id"`
	AppKey        string          `json:"appKey,omitempty"`
	ActionKey     string          `json:"actionKey,omitempty"`
	TransformKey  string          `json:"transformKey,omitempty"`
	CredentialKey string          `json:"credentialKey,omitempty"`
	InputParams   json.RawMessage `json:"inputParams,omitempty"`
	Filter        string          `json:"filter,omitempty"`
	ForEach       *ForEach        `json:"forEach,omitempty"`
	Call          *Call           `json:"call,omitempty"`
	Respond       *Respond        `json:"respond,omitempty"`
}

// ForEach runs Steps once per item of the array Items yields, Concurrency at a time.
type ForEach struct {
	Items       string `json:"items"`
	Where       string `json:"where,omitempty"`
	Concurrency int    `json:"concurrency,omitempty"`
	Steps       []Step `json:"steps"`
}

// Call runs another automation of the same consumer.
type Call struct {
	Automation string          `json:"automation"`
	Input      json.RawMessage `json:"input,omitempty"`
}

// Respond sets what a sync webhook caller gets.
type Respond struct {
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Retry is an automation's retry policy; zero fields take the host's defaults.
type Retry struct {
	MaxAttempts int   `json:"maxAttempts,omitempty"`
	BaseDelayMS int64 `json:"baseDelayMs,omitempty"`
	MaxDelayMS  int64 `json:"maxDelayMs,omitempty"`
}

// Kind is a step's kind.
type Kind string

// The kinds of step.
const (
	KindAction    Kind = "action"
	KindTransform Kind = "transform"
	KindFilter    Kind = "filter"
	KindForEach   Kind = "forEach"
	KindCall      Kind = "call"
	KindRespond   Kind = "respond"
)

// Kind returns the step's kind.
func (s *Step) Kind() Kind {
	switch {
	case s.ActionKey != "":
		return KindAction
	case s.TransformKey != "":
		return KindTransform
	case s.Filter != "":
		return KindFilter
	case s.ForEach != nil:
		return KindForEach
	case s.Call != nil:
		return KindCall
	}
	return KindRespond
}

// The values of Automation.Respond: how a webhook caller is answered.
const (
	RespondAsync = "async" // 202 once the event is stored (the default)
	RespondSync  = "sync"  // the run's reply or output, within a bounded wait
)

// IsEnabled reports whether trigger events start runs (true unless Enabled is false).
func (a *Automation) IsEnabled() bool { return a.Enabled == nil || *a.Enabled }

var schema = sync.OnceValues(func() (*validate.Schema, error) {
	data, err := fs.ReadFile(schemas.FS, schemas.AutomationFile)
	if err != nil {
		return nil, err
	}
	return validate.Compile(data)
})

// Decode validates doc against schemas/automation.schema.json and decodes it.
//
// # Errors
//
// A *validate.Error naming keyword, instance path and schema path of each violation.
func Decode(doc []byte) (*Automation, error) {
	s, err := schema()
	if err != nil {
		return nil, fmt.Errorf("automation: schema: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		return nil, err
	}
	var a Automation
	if err := json.Unmarshal(doc, &a); err != nil {
		return nil, fmt.Errorf("automation: decode: %w", err)
	}
	return &a, nil
}

// Problem is one reason an automation does not compile, located by a JSON pointer into it.
type Problem struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// Error lists every problem Compile found.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("automation: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", p.Pointer, p.Message)
	}
	return b.String()
}

// Program is a compiled automation: its templates and conditions, parsed once per version.
// It is immutable (but for a cache) and safe for concurrent use.
type Program struct {
	Automation   *Automation
	TriggerInput *mapping.Template
	Steps        []*CompiledStep

	params atomic.Pointer[paramsMemo] // TriggerParams' last value
}

// paramsMemo is a value of TriggerParams, with what it was computed for.
type paramsMemo struct {
	consumer, automation string
	value                json.RawMessage
}

// TriggerParams returns the trigger's params for an automation of a consumer, computing them with
// eval only when the last call was for another pair. The trigger's inputParams read only the
// automation and the consumer, which stay the same through the life of a Program, so that a
// webhook's trigger call does not evaluate them again. The value is shared: callers must not
// modify it.
func (p *Program) TriggerParams(consumer, automation string, eval func() json.RawMessage) json.RawMessage {
	if m := p.params.Load(); m != nil && m.consumer == consumer && m.automation == automation {
		return m.value
	}
	v := eval()
	p.params.Store(&paramsMemo{consumer: consumer, automation: automation, value: v})
	return v
}

// CompiledStep is a step with its templates and conditions compiled.
type CompiledStep struct {
	Step  *Step
	Input *mapping.Template // inputParams (action, transform), call input, respond
	// Condition is the filter (filter steps) or the where clause (forEach).
	Condition *Condition
	Items     *mapping.Template // forEach: the array
	Steps     []*CompiledStep   // forEach: the nested steps
}

// MaxForEachDepth is how deep forEach steps nest (a forEach inside a forEach inside a forEach).
const MaxForEachDepth = 3

// Compile compiles a decoded automation: every template must parse and read a known source,
// steps.<id> must name an earlier step in scope, item is only read inside a forEach, step ids
// are unique, conditions must compile to booleans, forEach steps nest at most MaxForEachDepth
// deep and call steps stand outside forEach steps.
//
// # Errors
//
// An *Error listing every problem.
func Compile(a *Automation) (*Program, error) {
	c := compiler{ids: map[string]bool{}}
	p := &Program{Automation: a}
	p.TriggerInput = c.template("/trigger/inputParams", a.Trigger.InputParams, scope{})
	p.Steps = c.steps("/steps", a.Steps, scope{seen: map[string]bool{}})
	if len(c.problems) > 0 {
		return nil, &Error{Problems: c.problems}
	}
	return p, nil
}

type compiler struct {
	ids      map[string]bool
	problems []Problem
}

// scope is what a template may read at a point of the automation.
type scope struct {
	seen   map[string]bool // the ids of the steps before, visible here
	inLoop bool            // inside a forEach: item exists
	depth  int             // forEach steps enclosing this point
	noSelf bool            // the trigger's inputs: no steps yet
}

func (c *compiler) add(ptr, format string, args ...any) {
	c.problems = append(c.problems, Problem{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
}

func (c *compiler) steps(ptr string, steps []Step, sc scope) []*CompiledStep {
	seen := map[string]bool{}
	for k := range sc.seen {
		seen[k] = true
	}
	out := make([]*CompiledStep, 0, len(steps))
	for i := range steps {
		s := &steps[i]
		sp := ptr + "/" + strconv.Itoa(i)
		if c.ids[s.ID] {
			c.add(sp+"/id", "step id %q is used twice", s.ID)
		}
		c.ids[s.ID] = true
		here := scope{seen: seen, inLoop: sc.inLoop, depth: sc.depth}
		cs := &CompiledStep{Step: s}
		switch s.Kind() {
		case KindAction, KindTransform:
			cs.Input = c.template(sp+"/inputParams", s.InputParams, here)
		case KindFilter:
			cs.Condition = c.condition(sp+"/filter", s.Filter)
		case KindForEach:
			if sc.depth >= MaxForEachDepth {
				c.add(sp, "forEach steps nest at most %d deep", MaxForEachDepth)
			}
			cs.Items = c.template(sp+"/forEach/items", quote(s.ForEach.Items), here)
			if s.ForEach.Where != "" {
				cs.Condition = c.condition(sp+"/forEach/where", s.ForEach.Where)
			}
			cs.Steps = c.steps(sp+"/forEach/steps", s.ForEach.Steps, scope{seen: seen, inLoop: true, depth: sc.depth + 1})
		case KindCall:
			if sc.inLoop {
				c.add(sp, "a call step cannot run inside a forEach; call an automation whose steps hold the forEach instead")
			}
			cs.Input = c.template(sp+"/call/input", s.Call.Input, here)
		case KindRespond:
			doc, _ := json.Marshal(s.Respond)
			cs.Input = c.template(sp+"/respond", doc, here)
		}
		out = append(out, cs)
		seen[s.ID] = true
	}
	return out
}

func quote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// template compiles doc (absent: {}) and checks what its expressions read.
func (c *compiler) template(ptr string, doc []byte, sc scope) *mapping.Template {
	if len(doc) == 0 {
		doc = []byte("{}")
	}
	t, err := mapping.Compile(doc)
	if err != nil {
		var se *mapping.SyntaxError
		if errors.As(err, &se) {
			c.add(ptr+se.Pointer, "%s", strings.TrimPrefix(err.Error(), "mapping: "))
		} else {
			c.add(ptr, "%v", err)
		}
		return nil
	}
	for _, r := range t.Refs() {
		where := ptr + r.Pointer
		switch r.Source {
		case "steps":
			if sc.noSelf || sc.seen == nil {
				c.add(where, "{{%s}}: no step has run here", r.Path)
				continue
			}
			id, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "steps."), ".")
			if strings.Contains(id, "{{") {
				continue // chosen at run time
			}
			if !sc.seen[id] {
				c.add(where, "{{%s}}: no step %q runs before this one", r.Path, id)
			}
		case "item":
			if !sc.inLoop {
				c.add(where, "{{%s}}: item exists only inside a forEach", r.Path)
			}
		}
	}
	return t
}

// MaxConditionNodes bounds a condition's size; the expression library's memory budget bounds
// what it may allocate when it runs.
const MaxConditionNodes = 500

// Condition is a compiled expr-lang boolean expression over the sources.
type Condition struct {
	src  string
	prog *vm.Program
}

// conditionEnv declares the sources, so that a condition naming anything else does not compile.
// Each is typed as a JSON object, so that member access is a map lookup checked at run time.
var conditionEnv = map[string]any{
	"trigger": map[string]any{}, "steps": map[string]any{}, "item": map[string]any{},
	"automation": map[string]any{}, "run": map[string]any{}, "consumer": map[string]any{},
}

func (c *compiler) condition(ptr, src string) *Condition {
	cond, err := CompileCondition(src)
	if err != nil {
		c.add(ptr, "%s", strings.TrimPrefix(err.Error(), "automation: "))
		return nil
	}
	return cond
}

// CompileCondition compiles a condition. Only the expression library's pure builtins are
// available; the sources are the only variables.
func CompileCondition(src string) (*Condition, error) {
	prog, err := expr.Compile(src, expr.Env(conditionEnv), expr.AsBool(), expr.MaxNodes(MaxConditionNodes))
	if err != nil {
		return nil, fmt.Errorf("automation: condition %q: %s", truncate(src, 80), firstLine(err.Error()))
	}
	return &Condition{src: src, prog: prog}, nil
}

// Eval evaluates the condition against the sources (decoded JSON).
//
// # Errors
//
// A runtime error of the expression (a type mismatch, the memory budget exceeded).
func (c *Condition) Eval(sources map[string]any) (bool, error) {
	env := make(map[string]any, len(conditionEnv))
	for k := range conditionEnv {
		v, ok := sources[k].(map[string]any)
		if !ok {
			v = map[string]any{} // absent, or not an object: every member reads as nil
		}
		env[k] = v
	}
	out, err := expr.Run(c.prog, env)
	if err != nil {
		return false, fmt.Errorf("automation: condition %q: %s", truncate(c.src, 80), firstLine(err.Error()))
	}
	b, _ := out.(bool)
	return b, nil
}

// String returns the condition's source.
func (c *Condition) String() string { return c.src }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
