package mapping_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splicehq/splice/host/mapping"
)

var scope = []byte(`{
  "trigger": {"order": {"id": 42, "total": 19.5, "paid": true, "note": null, "tags": ["a", "b"],
    "customer": {"name": "Ann \"A\" Lee", "email": "ann@example.com"}},
    "lines": [{"sku": "x1", "qty": 2}, {"sku": "y2", "qty": 1}]},
  "steps": {"lookup": {"output": {"items": ["first", "second"], "count": 2}}},
  "item": {"index": 1, "sku": "y2"},
  "automation": {"id": "a1", "name": "orders to chat"},
  "run": {"id": "r1"},
  "consumer": {"key": "acme"}
}`)

func eval(t *testing.T, doc string) (string, []string) {
	t.Helper()
	tpl, err := mapping.Compile([]byte(doc))
	if err != nil {
		t.Fatalf("Compile(%s): %v", doc, err)
	}
	out, missing := tpl.Eval(scope)
	if !json.Valid(out) {
		t.Fatalf("Eval(%s) = %s: not JSON", doc, out)
	}
	return string(out), missing
}

func TestEval(t *testing.T) {
	cases := []struct {
		name, doc, want string
		missing         []string
	}{
		{"number keeps its type", `{"n":"{{trigger.order.id}}"}`, `{"n":42}`, nil},
		{"float", `"{{trigger.order.total}}"`, `19.5`, nil},
		{"bool", `"{{ trigger.order.paid }}"`, `true`, nil},
		{"object", `"{{trigger.order.customer}}"`, `{"name":"Ann \"A\" Lee","email":"ann@example.com"}`, nil},
		{"array", `"{{trigger.order.tags}}"`, `["a","b"]`, nil},
		{"null stays null", `"{{trigger.order.note}}"`, `null`, nil},
		{"missing is null", `"{{trigger.order.nope}}"`, `null`, []string{"trigger.order.nope"}},
		{"text", `"Order {{trigger.order.id}} by {{trigger.order.customer.name}}"`, `"Order 42 by Ann \"A\" Lee"`, nil},
		{"text of object", `"c={{trigger.order.tags}}"`, `"c=[\"a\",\"b\"]"`, nil},
		{"text of missing", `"[{{trigger.x}}]"`, `"[]"`, []string{"trigger.x"}},
		{"nested", `"{{steps.lookup.output.items.{{item.index}}}}"`, `"second"`, nil},
		{"nested in text", `"#{{item.index}}: {{steps.lookup.output.items.{{item.index}}}}"`, `"#1: second"`, nil},
		{"gjson query", `"{{trigger.lines.#(sku==\"y2\").qty}}"`, `1`, nil},
		{"gjson count", `"{{trigger.lines.#}}"`, `2`, nil},
		{"escaped braces", `"literal \\{{trigger.order.id}}"`, `"literal {{trigger.order.id}}"`, nil},
		{"escaped and real", `"\\{{x}} {{run.id}}"`, `"{{x}} r1"`, nil},
		{"no template", `{"a":[1,{"b":"c"}],"d":null}`, `{"a":[1,{"b":"c"}],"d":null}`, nil},
		{"deep structure", `{"a":[{"b":"{{consumer.key}}"},2],"k":"{{automation.id}}"}`, `{"a":[{"b":"acme"},2],"k":"a1"}`, nil},
		{"keys are not templates", `{"{{run.id}}":"{{run.id}}"}`, `{"{{run.id}}":"r1"}`, nil},
		{"unicode", `"é {{item.sku}} ✓"`, `"é y2 ✓"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, missing := eval(t, tc.doc)
			if got != tc.want {
				t.Errorf("Eval(%s) = %s, want %s", tc.doc, got, tc.want)
			}
			if !slices.Equal(missing, tc.missing) {
				t.Errorf("missing = %v, want %v", missing, tc.missing)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ name, doc, msg string }{
		{"unclosed", `"{{trigger.a"`, "unclosed"},
		{"empty", `"{{ }}"`, "empty expression"},
		{"unknown source", `{"x":["{{secrets.apiKey}}"]}`, "does not start with"},
		{"too deep", `"` + strings.Repeat("{{trigger.", 9) + strings.Repeat("}}", 9) + `"`, "nested deeper"},
		{"too long", `"{{trigger.a}}` + strings.Repeat("x", mapping.MaxTemplateBytes) + `"`, "template of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mapping.Compile([]byte(tc.doc))
			var se *mapping.SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, mapping.ErrSyntax) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Compile(%.60s) = %v, want a SyntaxError about %q", tc.doc, err, tc.msg)
			}
		})
	}
	var se *mapping.SyntaxError
	_, err := mapping.Compile([]byte(`{"a":{"b":["x","{{nope}}"]}}`))
	if !errors.As(err, &se) || se.Pointer != "/a/b/1" {
		t.Errorf("error location: %v", err)
	}
	for _, bad := range []string{`{"a":`, `{} {}`, ``} {
		if _, err := mapping.Compile([]byte(bad)); !errors.Is(err, mapping.ErrSyntax) {
			t.Errorf("Compile(%q) = %v, want ErrSyntax", bad, err)
		}
	}
}

func TestRefs(t *testing.T) {
	tpl, err := mapping.Compile([]byte(`{"a":"{{trigger.x}} {{steps.s1.output.{{item.i}}}}","b":["{{run.id}}"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping.Ref{
		{Pointer: "/a", Path: "trigger.x", Source: "trigger"},
		{Pointer: "/a", Path: "item.i", Source: "item"},
		{Pointer: "/a", Path: "steps.s1.output.{{item.i}}", Source: "steps"},
		{Pointer: "/b/0", Path: "run.id", Source: "run"},
	}
	if diff := cmp.Diff(want, tpl.Refs()); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
}

// FuzzCompile feeds hostile templates to the compiler and evaluator: no panic, and whatever
// compiles evaluates to one JSON document.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`"{{trigger.a}}"`, `{"x":"a {{steps.b.output.{{item.i}}}} c"}`, `"\\{{x}}"`, `"{{trigger.#(a==\"b\")#}}"`,
		`"{{trigger.@reverse}}"`, `"{{{{item.i}}}}"`, `["{{run.id}}", {"k": "{{consumer}}"}]`, `"{{trigger.lines.#.sku}}"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		tpl, err := mapping.Compile([]byte(doc))
		if err != nil {
			return
		}
		out, _ := tpl.Eval(scope)
		if !json.Valid(out) {
			t.Fatalf("Compile(%q).Eval = %q: not JSON", doc, out)
		}
	})
}

// BenchmarkEval evaluates the inputs of a typical action (three templates, one nested) against a
// 1 KiB scope: the per-run cost of mapping once compiled.
func BenchmarkEval(b *testing.B) {
	tpl, err := mapping.Compile([]byte(`{"channel":"#orders","text":"New order {{trigger.order.id}} by {{trigger.order.customer.name}}",
		"total":"{{trigger.order.total}}","item":"{{steps.lookup.output.items.{{item.index}}}}"}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if out, _ := tpl.Eval(scope); len(out) == 0 {
			b.Fatal("empty")
		}
	}
}

// TestHoles: Evaluate tells where in the output a value is null because its one expression read
// nothing; text with a missing part, and a present null, are not holes.
func TestHoles(t *testing.T) {
	tpl, err := mapping.Compile([]byte(`{"a":"{{trigger.nope}}","b":[1,{"c/d":"{{trigger.order.gone}}"}],"e":"x{{trigger.y}}","n":"{{trigger.order.note}}","id":"{{trigger.order.id}}"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := tpl.Evaluate(scope)
	if want := []string{"/a", "/b/1/c~1d"}; !slices.Equal(r.Holes, want) {
		t.Errorf("holes = %v, want %v", r.Holes, want)
	}
	if want := []string{"trigger.nope", "trigger.order.gone", "trigger.y"}; !slices.Equal(r.Missing, want) {
		t.Errorf("missing = %v, want %v", r.Missing, want)
	}
	if root, _ := mapping.Compile([]byte(`"{{trigger.nope}}"`)); !slices.Equal(root.Evaluate(scope).Holes, []string{""}) {
		t.Errorf("a missing root is not the hole \"\"")
	}
}
