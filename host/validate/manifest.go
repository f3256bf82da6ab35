package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/schemas"
)

// manifestSchema compiles schemas/connector-manifest.schema.json on first use.
var manifestSchema = sync.OnceValues(func() (*Schema, error) {
	data, err := fs.ReadFile(schemas.FS, schemas.ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("validate: manifest schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("validate: manifest schema: %w", err)
	}
	c := newCompiler()
	if err := c.AddResource(schemas.ManifestID, doc); err != nil {
		return nil, fmt.Errorf("validate: manifest schema: %w", err)
	}
	sch, err := c.Compile(schemas.ManifestID)
	if err != nil {
		return nil, fmt.Errorf("validate: manifest schema: %w", err)
	}
	return &Schema{sch: sch}, nil
})

// Manifest validates a connector manifest and returns it decoded. The manifest is valid when
// it is a JSON document of at most [MaxBytes], nested at most [MaxDepth] deep, that validates
// against schemas/connector-manifest.schema.json and passes the checks the package doc lists
// beyond it. The returned manifest's Hosts, Triggers, Actions and Transforms are never nil.
//
// Manifest never panics, whatever data holds.
//
// # Errors
//
// An invalid manifest returns an [*Error] with subject "manifest" whose causes name the
// keyword, instance path and schema path of each failure. When the schema fails, the checks
// beyond it do not run. Any other error means the embedded manifest schema does not compile,
// a bug the package's tests rule out.
func Manifest(data []byte) (*abi.Manifest, error) {
	doc, err := decode("manifest", data)
	if err != nil {
		return nil, err
	}
	sch, err := manifestSchema()
	if err != nil {
		return nil, err
	}
	if err := sch.validate("manifest", doc); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m abi.Manifest
	if err := dec.Decode(&m); err != nil {
		// The schema admits only what abi.Manifest holds, so this is a disagreement between
		// the two; report it rather than hide it.
		return nil, &Error{Subject: "manifest", Causes: []Cause{decodeCause(err)}}
	}
	if m.Hosts == nil {
		m.Hosts = []string{}
	}
	if m.Triggers == nil {
		m.Triggers = []abi.Trigger{}
	}
	if m.Actions == nil {
		m.Actions = []abi.Action{}
	}
	if m.Transforms == nil {
		m.Transforms = []abi.Transform{}
	}
	if causes := check(&m, doc); len(causes) > 0 {
		return nil, newError("manifest", causes)
	}
	return &m, nil
}

// decodeCause describes an error decoding a schema-valid manifest into abi.Manifest.
func decodeCause(err error) Cause {
	c := Cause{Keyword: "type", Message: err.Error()}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		c.InstancePath = "/" + strings.ReplaceAll(te.Field, ".", "/")
	}
	return c
}

// check runs the checks beyond the schema on m, decoded from doc.
func check(m *abi.Manifest, doc any) []Cause {
	var out []Cause
	triggers := make([]string, len(m.Triggers))
	for i, t := range m.Triggers {
		triggers[i] = t.Key
	}
	out = uniqueKeys(out, "/triggers", "#/properties/triggers", triggers)
	actions := make([]string, len(m.Actions))
	for i, a := range m.Actions {
		actions[i] = a.Key
	}
	out = uniqueKeys(out, "/actions", "#/properties/actions", actions)
	transforms := make([]string, len(m.Transforms))
	for i, t := range m.Transforms {
		transforms[i] = t.Key
	}
	out = uniqueKeys(out, "/transforms", "#/properties/transforms", transforms)
	fields := make([]string, len(m.Auth.Fields))
	for i, f := range m.Auth.Fields {
		fields[i] = f.Key
	}
	out = uniqueKeys(out, "/auth/fields", "#/$defs/auth/properties/fields", fields)

	for i, h := range m.Hosts {
		if msg := hostGlob(h); msg != "" {
			out = append(out, Cause{
				Keyword:      "hostGlob",
				InstancePath: "/hosts/" + strconv.Itoa(i),
				SchemaPath:   "#/$defs/hostGlob",
				Message:      msg,
			})
		}
	}

	// Compile the schemas from the generic document, whose numbers are exact.
	root, _ := doc.(map[string]any)
	for _, list := range []struct {
		name string
		keys []string
	}{
		{"triggers", []string{"inputSchema", "payloadSchema"}},
		{"actions", []string{"inputSchema", "outputSchema"}},
		{"transforms", []string{"inputSchema", "outputSchema"}},
	} {
		items, _ := root[list.name].([]any)
		for i, item := range items {
			obj, _ := item.(map[string]any)
			for _, key := range list.keys {
				s, ok := obj[key]
				if !ok {
					continue
				}
				prefix := "/" + list.name + "/" + strconv.Itoa(i) + "/" + key
				if _, causes := compile(s, prefix); causes != nil {
					out = append(out, causes...)
				}
			}
		}
	}
	return out
}

// uniqueKeys appends a cause to out for each key that repeats an earlier one in keys, the
// keys of the list at path.
func uniqueKeys(out []Cause, path, schemaPath string, keys []string) []Cause {
	first := make(map[string]int, len(keys))
	for i, k := range keys {
		j, seen := first[k]
		if !seen {
			first[k] = i
			continue
		}
		out = append(out, Cause{
			Keyword:      "uniqueKeys",
			InstancePath: path + "/" + strconv.Itoa(i) + "/key",
			SchemaPath:   schemaPath,
			Message:      fmt.Sprintf("key %s is already used at %s/%d", strconv.Quote(k), path, j),
		})
	}
	return out
}

// hostGlob returns why the host glob h, which matches the schema's pattern, is not
// well-formed, or "" when it is.
func hostGlob(h string) string {
	base, wildcard := strings.CutPrefix(h, "*.")
	if strings.Contains(base, "*") {
		return "'*' may only be the whole leftmost label"
	}
	if len(base) == 0 || len(base) > 253 {
		return "a host name has 1 to 253 characters"
	}
	labels := strings.Split(base, ".")
	numeric := func(s string) bool {
		return s != "" && strings.Trim(s, "0123456789") == ""
	}
	all := true
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "each label has 1 to 63 characters"
		}
		all = all && numeric(l)
	}
	switch {
	case all && wildcard:
		return "a wildcard may not cover IP addresses"
	case all:
		if a, err := netip.ParseAddr(base); err != nil || !a.Is4() || a.String() != base {
			return "an all-numeric host must be an IPv4 address in dotted decimal"
		}
	case numeric(labels[len(labels)-1]):
		return "the top-level label of a host name may not be numeric"
	case wildcard && len(labels) < 2:
		return "a wildcard must cover the subdomains of a name with at least two labels"
	}
	return ""
}
