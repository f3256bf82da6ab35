package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/splicehq/splice/host/api"
	"github.com/splicehq/splice/host/api/token"
	"github.com/splicehq/splice/host/internal/problem"
	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/validate"
)

// The OpenAPI document's file (under the repository root) and the URL its relative references
// resolve against: the sibling schema files are https://splice.dev/schemas/<file>.
const (
	openAPIFile = "schemas/openapi.json"
	openAPIID   = "https://splice.dev/schemas/openapi.json"
)

// openAPIHook is the webhook ingress's path, served by package ingress rather than by the API,
// and the methods the document lists there (the ingress takes any).
const openAPIHook = "/hooks/{env}/{automationId}"

var openAPIHookMethods = []string{"delete", "get", "patch", "post", "put"}

// openAPIMethods are the operations a path item may hold.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIEnvs is an api.Environments kept in memory; the zero value has no environment.
type openAPIEnvs struct {
	mu sync.Mutex
	m  map[string]*api.Environment
}

func (e *openAPIEnvs) Environment(name string) (*api.Environment, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	env, ok := e.m[name]
	return env, ok
}

func (e *openAPIEnvs) Names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.m))
	for n := range e.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (e *openAPIEnvs) Create(_ context.Context, name string) (*api.Environment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.m[name]; ok {
		return nil, api.ErrExists
	}
	if e.m == nil {
		e.m = map[string]*api.Environment{}
	}
	env := &api.Environment{Name: name, Secret: bytes.Repeat([]byte{byte(len(e.m) + 1)}, token.MinSecretBytes)}
	e.m[name] = env
	return env, nil
}

// openAPI is the decoded document with what the tests look up in it.
type openAPI struct {
	doc   map[string]any
	paths map[string]any
	dir   string // the schemas folder
}

// loadOpenAPI reads and decodes schemas/openapi.json, failing on anything but one JSON object
// without duplicate member names (which encoding/json would silently collapse, hiding an
// operation or a path).
func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	dir := filepath.Join(testkit.RepoRoot(t), "schemas")
	raw, err := os.ReadFile(filepath.Join(dir, filepath.Base(openAPIFile)))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := noDuplicateKeys(dec, ""); err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%s: data after the document", openAPIFile)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no paths object", openAPIFile)
	}
	return &openAPI{doc: doc, paths: paths, dir: dir}
}

// noDuplicateKeys reads one JSON value from dec and reports an object member named twice, by
// its JSON pointer.
func noDuplicateKeys(dec *json.Decoder, at string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key := k.(string)
			if seen[key] {
				return errors.New("member " + strconv.Quote(key) + " twice in " + strconv.Quote(at))
			}
			seen[key] = true
			if err := noDuplicateKeys(dec, at+"/"+escapePointer(key)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := noDuplicateKeys(dec, at+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

// fragment percent-encodes the JSON pointer ptr for a URI fragment (RFC 6901, section 6).
func fragment(ptr string) string {
	toks := strings.Split(ptr, "/")
	for i, tok := range toks {
		toks[i] = url.PathEscape(tok)
	}
	return strings.Join(toks, "/")
}

// escapePointer escapes s as one token of a JSON pointer.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// lookup returns the value at the JSON pointer ptr ("" or "/a/b") of v.
func lookup(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = n[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, false
			}
			v = n[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// resolve follows the internal $ref of a Reference Object at ptr, if it is one, and returns the
// object and the pointer where it was found.
func (o *openAPI) resolve(v any, ptr string) (map[string]any, string, bool) {
	for range 8 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, ptr, false
		}
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			return m, ptr, true
		}
		ptr = ref[1:]
		if v, ok = lookup(o.doc, ptr); !ok {
			return nil, ptr, false
		}
	}
	return nil, ptr, false
}

// operation returns the operation of method (lower case) at path, and its JSON pointer.
func (o *openAPI) operation(path, method string) (map[string]any, string, bool) {
	item, ok := o.paths[path].(map[string]any)
	if !ok {
		return nil, "", false
	}
	op, ok := item[method].(map[string]any)
	return op, "/paths/" + escapePointer(path) + "/" + method, ok
}

// methods returns the methods (lower case) of the operations documented at path.
func (o *openAPI) methods(path string) []string {
	item, _ := o.paths[path].(map[string]any)
	var out []string
	for _, m := range openAPIMethods {
		if _, ok := item[m].(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// parameters returns the parameters that apply to an operation: the path item's and the
// operation's, references followed.
func (o *openAPI) parameters(path, method string) []map[string]any {
	var out []map[string]any
	item, _ := o.paths[path].(map[string]any)
	op, _ := item[method].(map[string]any)
	for _, from := range []map[string]any{item, op} {
		list, _ := from["parameters"].([]any)
		for _, p := range list {
			if m, _, ok := o.resolve(p, ""); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// openAPIPath maps a net/http pattern's path to an OpenAPI path: {name} and {name...} are
// {name}; {$} (the end of the path) is dropped.
func openAPIPath(pattern string) string {
	return restParam.ReplaceAllString(strings.ReplaceAll(pattern, "{$}", ""), "{$1}")
}

var (
	// restParam is a wildcard matching the rest of the path, {name...}.
	restParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\.\.\.\}`)
	// pathParam is a path parameter of an OpenAPI path, {name}.
	pathParam = regexp.MustCompile(`\{([^}]+)\}`)
)

func newOpenAPIAPI(t *testing.T, envs api.Environments) *api.API {
	t.Helper()
	a, err := api.New(api.Options{Environments: envs, OperatorToken: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestOpenAPIDocument checks the document's frame: OpenAPI 3.1, its title and server, and the
// two security schemes.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	o := loadOpenAPI(t)
	for _, c := range []struct {
		ptr  string
		want any
	}{
		{"/openapi", "3.1.0"},
		{"/info/title", "Splice management API"},
		{"/info/version", "0.1.0"},
		{"/servers/0/url", "http://127.0.0.1:8080"},
		{"/components/securitySchemes/operator/type", "http"},
		{"/components/securitySchemes/operator/scheme", "bearer"},
		{"/components/securitySchemes/consumer/type", "http"},
		{"/components/securitySchemes/consumer/scheme", "bearer"},
		{"/components/securitySchemes/consumer/bearerFormat", "JWT"},
	} {
		if got, _ := lookup(o.doc, c.ptr); got != c.want {
			t.Errorf("%s is %v, want %v", c.ptr, got, c.want)
		}
	}
	ids := map[string]string{}
	for path := range o.paths {
		for _, m := range o.methods(path) {
			op, _, _ := o.operation(path, m)
			where := strings.ToUpper(m) + " " + path
			id, _ := op["operationId"].(string)
			switch {
			case id == "":
				t.Errorf("%s has no operationId", where)
			case ids[id] != "":
				t.Errorf("%s and %s have the same operationId %q", ids[id], where, id)
			default:
				ids[id] = where
			}
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s has no summary", where)
			}
		}
	}
}

// TestOpenAPIRoutes checks that the document and the API's route table agree: every route is
// documented under its path and method with its security and path parameters, and every
// documented operation (but the webhook ingress's) is a route.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	o := loadOpenAPI(t)
	routes := newOpenAPIAPI(t, &openAPIEnvs{}).Routes()
	if len(routes) == 0 {
		t.Fatal("the API lists no route")
	}
	isRoute := map[string]bool{}
	for _, r := range routes {
		isRoute[strings.ToUpper(r.Method)+" "+openAPIPath(r.Pattern)] = true
	}
	for _, r := range routes {
		name := r.Method + " " + r.Pattern
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if r.Method == "" || strings.Contains(r.Pattern, " ") || !strings.HasPrefix(r.Pattern, "/") {
				t.Fatalf("route %s: want a method and a path without a host", name)
			}
			path, method := openAPIPath(r.Pattern), strings.ToLower(r.Method)
			op, _, ok := o.operation(path, method)
			if !ok {
				t.Fatalf("route %s is not in %s (want paths[%q].%s)", name, openAPIFile, path, method)
			}
			sec, ok := op["security"].([]any)
			if !ok {
				t.Fatalf("route %s: the operation has no security list (want it explicit)", name)
			}
			want := "consumer"
			if r.Operator {
				want = "operator"
			}
			switch {
			case r.Open:
				if len(sec) != 0 {
					t.Errorf("route %s is open, but the document asks for %v", name, sec)
				}
			case len(sec) != 1 || !cmp.Equal(sec[0], map[string]any{want: []any{}}):
				t.Errorf("route %s takes the %s token, but the document asks for %v (want [{%q: []}])", name, want, sec, want)
			}
			responses, _ := op["responses"].(map[string]any)
			if _, ok := responses["401"]; !ok && !r.Open {
				t.Errorf("route %s: the document lists no 401 answer", name)
			}
			var inPath, declared []string
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				inPath = append(inPath, m[1])
			}
			for _, p := range o.parameters(path, method) {
				if p["in"] == "path" {
					pname, _ := p["name"].(string)
					declared = append(declared, pname)
					if p["required"] != true {
						t.Errorf("route %s: path parameter %q is not required", name, pname)
					}
				}
			}
			slices.Sort(inPath)
			slices.Sort(declared)
			if diff := cmp.Diff(inPath, declared); diff != "" {
				t.Errorf("route %s: path parameters in the path (-) and declared (+):\n%s", name, diff)
			}
		})
	}
	for path := range o.paths {
		if strings.HasPrefix(path, "/hooks/") {
			continue
		}
		for _, m := range o.methods(path) {
			if !isRoute[strings.ToUpper(m)+" "+path] {
				t.Errorf("%s %s is documented in %s but is no route of the API", strings.ToUpper(m), path, openAPIFile)
			}
		}
	}
}

// TestOpenAPIWebhook checks the webhook ingress's entry, which package ingress serves whatever
// the method: each documented method is open and lists the answers of the ingress.
func TestOpenAPIWebhook(t *testing.T) {
	t.Parallel()
	o := loadOpenAPI(t)
	if _, ok := o.paths[openAPIHook]; !ok {
		t.Fatalf("%s is not in %s", openAPIHook, openAPIFile)
	}
	methods := o.methods(openAPIHook)
	slices.Sort(methods)
	if diff := cmp.Diff(openAPIHookMethods, methods); diff != "" {
		t.Errorf("%s: methods (-want +documented):\n%s", openAPIHook, diff)
	}
	for _, m := range methods {
		name := strings.ToUpper(m) + " " + openAPIHook
		op, ptr, _ := o.operation(openAPIHook, m)
		if sec, ok := op["security"].([]any); !ok || len(sec) != 0 {
			t.Errorf("%s: security is %v, want []", name, op["security"])
		}
		responses, _ := op["responses"].(map[string]any)
		for _, status := range []string{"200", "202", "400", "401", "404", "409", "410", "413", "422", "429", "500", "502", "503", "504"} {
			if _, ok := responses[status]; !ok {
				t.Errorf("%s: the document lists no %s answer", name, status)
			}
		}
		stream := false
		for status, r := range responses {
			resp, _, ok := o.resolve(r, ptr+"/responses/"+status)
			if !ok {
				continue
			}
			content, _ := resp["content"].(map[string]any)
			_, has := content["text/event-stream"]
			stream = stream || has
		}
		if !stream {
			t.Errorf("%s: no answer is text/event-stream (a streamed sync webhook)", name)
		}
		var declared []string
		for _, p := range o.parameters(openAPIHook, m) {
			if p["in"] == "path" {
				pname, _ := p["name"].(string)
				declared = append(declared, pname)
			}
		}
		slices.Sort(declared)
		if diff := cmp.Diff([]string{"automationId", "env"}, declared); diff != "" {
			t.Errorf("%s: path parameters (-want +declared):\n%s", name, diff)
		}
	}
}

// TestOpenAPIRefs checks that every $ref resolves: #/... to a value of the document, a file
// reference to a schema file of schemas/ (and to a value of it, with a fragment).
func TestOpenAPIRefs(t *testing.T) {
	t.Parallel()
	o := loadOpenAPI(t)
	files := map[string]any{}
	n := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				n++
				o.checkRef(t, files, ref, at)
			}
			for k, x := range v {
				walk(x, at+"/"+escapePointer(k))
			}
		case []any:
			for i, x := range v {
				walk(x, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(o.doc, "")
	if n == 0 {
		t.Fatal("no $ref in the document")
	}
}

// checkRef checks the $ref ref found at the JSON pointer at; files caches the sibling schema files
// read.
func (o *openAPI) checkRef(t *testing.T, files map[string]any, ref, at string) {
	t.Helper()
	file, frag, _ := strings.Cut(ref, "#")
	target := any(o.doc)
	if file != "" {
		if strings.ContainsAny(file, "/\\:") || !strings.HasSuffix(file, ".json") {
			t.Errorf("%s: $ref %q: want the name of a sibling file of schemas/", at, ref)
			return
		}
		if files[file] == nil {
			data, err := os.ReadFile(filepath.Join(o.dir, file))
			if err != nil {
				t.Errorf("%s: $ref %q: %v", at, ref, err)
				return
			}
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Errorf("%s: $ref %q: %v", at, ref, err)
				return
			}
			files[file] = v
		}
		target = files[file]
	} else if !strings.HasPrefix(frag, "/components/") {
		t.Errorf("%s: $ref %q: internal references point into #/components/", at, ref)
	}
	if _, ok := lookup(target, frag); !ok {
		t.Errorf("%s: $ref %q does not resolve", at, ref)
	}
}

// TestOpenAPIErrors checks the error catalog against the document: the Error schema's code enum
// is problem.Codes(), every error answer the document lists has the status of some code and the
// Error schema, and every code's body validates against that schema.
func TestOpenAPIErrors(t *testing.T) {
	t.Parallel()
	o := loadOpenAPI(t)
	const enumAt = "/components/schemas/Error/properties/error/properties/code/enum"
	enum, _ := lookup(o.doc, enumAt)
	list, ok := enum.([]any)
	if !ok {
		t.Fatalf("no %s", enumAt)
	}
	var documented, catalog []string
	for _, c := range list {
		s, _ := c.(string)
		documented = append(documented, s)
	}
	statuses := map[string]bool{}
	for _, c := range problem.Codes() {
		catalog = append(catalog, string(c))
		statuses[strconv.Itoa(c.Status())] = true
	}
	slices.Sort(documented)
	slices.Sort(catalog)
	if diff := cmp.Diff(catalog, documented); diff != "" {
		t.Errorf("%s (-problem.Codes() +document):\n%s", enumAt, diff)
	}

	for path := range o.paths {
		for _, m := range o.methods(path) {
			op, ptr, _ := o.operation(path, m)
			responses, _ := op["responses"].(map[string]any)
			for status, r := range responses {
				if status < "4" || status == "default" {
					continue
				}
				where := strings.ToUpper(m) + " " + path + " answers " + status
				if !statuses[status] {
					t.Errorf("%s: no code of the catalog has this status", where)
				}
				resp, _, ok := o.resolve(r, ptr+"/responses/"+status)
				schema, _ := lookup(resp, "/content/application~1json/schema/$ref")
				if !ok || schema != "#/components/schemas/Error" {
					t.Errorf("%s: want an application/json answer with the Error schema", where)
				}
			}
		}
	}

	sch := o.compile(t, "/components/schemas/Error")
	for _, c := range problem.Codes() {
		body := problem.JSON(c, "a message", map[string]any{"eventIds": []string{"e1"}})
		if err := sch.Validate(body); err != nil {
			t.Errorf("the body of %s does not validate against the Error schema: %v", c, err)
		}
	}
}

// compile compiles the schema at the JSON pointer ptr of the document. validate.Compile loads
// no other document, so the schema is compiled from a bundle: a schema document under the
// OpenAPI document's URL that holds the document's paths and components (for the pointer and
// internal references) and the sibling schema files under their $ids (for file references).
func (o *openAPI) compile(t *testing.T, ptr string) *validate.Schema {
	t.Helper()
	defs := map[string]any{}
	names, err := filepath.Glob(filepath.Join(o.dir, "*.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defs[filepath.Base(name)] = v
	}
	bundle, err := json.Marshal(map[string]any{
		"$schema":    "https://json-schema.org/draft/2020-12/schema",
		"$id":        openAPIID,
		"$ref":       "#" + fragment(ptr),
		"$defs":      defs,
		"paths":      o.doc["paths"],
		"components": o.doc["components"],
	})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := validate.Compile(bundle)
	if err != nil {
		t.Fatalf("%s#%s does not compile: %v", openAPIFile, ptr, err)
	}
	return sch
}

// TestOpenAPISchemas checks that every schema of components/schemas compiles (JSON Schema
// 2020-12, references included).
func TestOpenAPISchemas(t *testing.T) {
	t.Parallel()
	o := loadOpenAPI(t)
	schemas, _ := lookup(o.doc, "/components/schemas")
	m, _ := schemas.(map[string]any)
	if len(m) == 0 {
		t.Fatal("no components/schemas")
	}
	for name := range m {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o.compile(t, "/components/schemas/"+escapePointer(name))
		})
	}
}

// TestOpenAPIRunStatus checks the RunStatus enum (the runs listing's status filter) against the
// run statuses: each is one ledger.Status accepts, and they are the statuses of run.schema.json.
func TestOpenAPIRunStatus(t *testing.T) {
	t.Parallel()
	o := loadOpenAPI(t)
	enum, _ := lookup(o.doc, "/components/schemas/RunStatus/enum")
	list, ok := enum.([]any)
	if !ok {
		t.Fatal("no /components/schemas/RunStatus/enum")
	}
	var documented []string
	for _, v := range list {
		s, _ := v.(string)
		if !ledger.Status(s).Valid() {
			t.Errorf("RunStatus %q is not a run status", s)
		}
		documented = append(documented, s)
	}
	data, err := os.ReadFile(filepath.Join(o.dir, "run.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var run struct {
		Properties struct {
			Status struct {
				Enum []string `json:"enum"`
			} `json:"status"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &run); err != nil {
		t.Fatal(err)
	}
	want := run.Properties.Status.Enum
	slices.Sort(want)
	slices.Sort(documented)
	if len(want) == 0 {
		t.Fatal("run.schema.json lists no status")
	}
	if diff := cmp.Diff(want, documented); diff != "" {
		t.Errorf("RunStatus (-run.schema.json +document):\n%s", diff)
	}
}

// TestOpenAPIAnswers sends the API requests that need no store (authentication, environments,
// tokens, the refusals before a store is reached) and checks that the document lists each
// answer's status for its operation, and that its JSON body validates against the schema the
// document gives.
func TestOpenAPIAnswers(t *testing.T) {
	t.Parallel()
	o := loadOpenAPI(t)
	envs := &openAPIEnvs{}
	dev, err := envs.Create(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	a := newOpenAPIAPI(t, envs)
	// other answers the cases that need an API of other options.
	sick, err := api.New(api.Options{Environments: envs, OperatorToken: "x", Health: func() error { return errors.New("disk full") }})
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]*api.API{"storage failing": sick}
	consumer, err := token.Mint(dev.Secret, "acme", time.Hour, time.Now(), "HS256")
	if err != nil {
		t.Fatal(err)
	}
	const operator = "x"
	for _, c := range []struct {
		name, method, url, pattern, bearer, contentType, body string
		status                                                int
	}{
		{"health", "GET", "/healthz", "/healthz", "", "", "", 200},
		{"storage failing", "GET", "/healthz", "/healthz", "", "", "", 503},
		{"metrics off", "GET", "/metrics", "/metrics", "", "", "", 404},
		{"environments", "GET", "/v1/environments", "/v1/environments", operator, "", "", 200},
		{"no token", "GET", "/v1/environments", "/v1/environments", "", "", "", 401},
		{"consumer token on an operator route", "GET", "/v1/environments", "/v1/environments", consumer, "", "", 401},
		{"create environment", "POST", "/v1/environments", "/v1/environments", operator, "application/json", `{"name": "staging"}`, 201},
		{"environment exists", "POST", "/v1/environments", "/v1/environments", operator, "application/json", `{"name": "dev"}`, 409},
		{"bad environment name", "POST", "/v1/environments", "/v1/environments", operator, "application/json", `{"name": "Dev"}`, 422},
		{"not JSON", "POST", "/v1/environments", "/v1/environments", operator, "application/json", `{`, 400},
		{"mint token", "POST", "/v1/envs/dev/tokens", "/v1/envs/{env}/tokens", operator, "application/json", `{"consumer": "acme", "alg": "HS512"}`, 201},
		{"token TTL too long", "POST", "/v1/envs/dev/tokens", "/v1/envs/{env}/tokens", operator, "application/json", `{"consumer": "acme", "ttlSeconds": 999999999}`, 422},
		{"token of no environment", "POST", "/v1/envs/nope/tokens", "/v1/envs/{env}/tokens", operator, "application/json", `{"consumer": "acme"}`, 404},
		{"push not wasm", "POST", "/v1/envs/dev/connectors", "/v1/envs/{env}/connectors", operator, "application/json", `{}`, 415},
		{"promote from itself", "POST", "/v1/envs/dev/promote", "/v1/envs/{env}/promote", operator, "application/json", `{"from": "dev", "appKey": "slack"}`, 422},
		{"consumer of no environment", "GET", "/v1/envs/nope/credentials", "/v1/envs/{env}/credentials", consumer, "", "", 401},
		{"no consumer token", "GET", "/v1/envs/dev/automations", "/v1/envs/{env}/automations", "", "", "", 401},
		{"operator token on a consumer route", "GET", "/v1/envs/dev/runs", "/v1/envs/{env}/runs", operator, "", "", 401},
		{"credential without keys", "POST", "/v1/envs/dev/credentials", "/v1/envs/{env}/credentials", consumer, "application/json", `{}`, 422},
		{"bad run status", "GET", "/v1/envs/dev/runs?status=done", "/v1/envs/{env}/runs", consumer, "", "", 400},
		{"bad version", "PUT", "/v1/envs/dev/automations/a1?version=0", "/v1/envs/{env}/automations/{id}", consumer, "application/json", `{}`, 400},
		{"limit zero", "GET", "/v1/envs/dev/runs?limit=0", "/v1/envs/{env}/runs", consumer, "", "", 400},
		{"limit not a number", "GET", "/v1/envs/dev/activity?limit=ten", "/v1/envs/{env}/activity", consumer, "", "", 400},
		{"limit with trailing text", "GET", "/v1/envs/dev/credentials?limit=5x", "/v1/envs/{env}/credentials", consumer, "", "", 400},
		{"limit negative", "GET", "/v1/envs/dev/automations?limit=-1", "/v1/envs/{env}/automations", consumer, "", "", 400},
		{"limit on connectors", "GET", "/v1/envs/dev/connectors?limit=1.5", "/v1/envs/{env}/connectors", operator, "", "", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
			if c.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+c.bearer)
			}
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			rec := httptest.NewRecorder()
			if o, ok := other[c.name]; ok {
				o.ServeHTTP(rec, req)
			} else {
				a.ServeHTTP(rec, req)
			}
			name := c.method + " " + c.pattern
			if rec.Code != c.status {
				t.Fatalf("%s %s answered %d, want %d: %s", c.method, c.url, rec.Code, c.status, rec.Body)
			}
			op, ptr, ok := o.operation(c.pattern, strings.ToLower(c.method))
			if !ok {
				t.Fatalf("%s is not documented", name)
			}
			status := strconv.Itoa(rec.Code)
			r, ok := op["responses"].(map[string]any)[status]
			if !ok {
				t.Fatalf("%s answered %d, which the document does not list: %s", name, rec.Code, rec.Body)
			}
			resp, at, ok := o.resolve(r, ptr+"/responses/"+status)
			if !ok {
				t.Fatalf("%s: the %s answer does not resolve", name, status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("%s answered Content-Type %q, want application/json", name, ct)
			}
			if _, ok := lookup(resp, "/content/application~1json/schema"); !ok {
				t.Fatalf("%s: the document gives no application/json schema for %s", name, status)
			}
			sch := o.compile(t, at+"/content/application~1json/schema")
			if err := sch.Validate(rec.Body.Bytes()); err != nil {
				t.Errorf("%s answered %d with a body the document does not admit: %v\n%s", name, rec.Code, err, rec.Body)
			}
		})
	}
}
