package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestTransforms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string
		input   string
		want    string // the output value, exactly
		wantErr string
	}{
		{name: "pick", key: "pick",
			input: `{"value":{"a":1,"b":{"c":2,"d":3},"e":4},"paths":["a","b.c"]}`,
			want:  `{"a":1,"b":{"c":2}}`},
		{name: "pick keeps the value's key order", key: "pick",
			input: `{"value":{"z":1,"a":2,"m":3},"paths":["m","z"]}`,
			want:  `{"z":1,"m":3}`},
		{name: "pick skips missing paths", key: "pick",
			input: `{"value":{"a":1,"b":{"d":3}},"paths":["x","b.c","a.q"]}`,
			want:  `{}`},
		{name: "pick whole object wins over a sub-path", key: "pick",
			input: `{"value":{"b":{"c":2,"d":3}},"paths":["b.c","b"]}`,
			want:  `{"b":{"c":2,"d":3}}`},
		{name: "pick escaped dot and exact numbers", key: "pick",
			input: `{"value":{"a.b":12345678901234567890,"a":{"b":0}},"paths":["a\\.b"]}`,
			want:  `{"a.b":12345678901234567890}`},
		{name: "pick keeps arrays and strings", key: "pick",
			input: `{"value":{"s":"é\"\n\u0001<","l":[1,{"x":null},true]},"paths":["s","l"]}`,
			want:  `{"s":"é\"\n\u0001<","l":[1,{"x":null},true]}`},
		{name: "pick value must be an object", key: "pick",
			input: `{"value":[1],"paths":["a"]}`, wantErr: "pick: value must be an object"},
		{name: "pick empty key", key: "pick",
			input: `{"value":{},"paths":["a..b"]}`, wantErr: `pick: path "a..b" has an empty key`},
		{name: "rename", key: "rename",
			input: `{"value":{"a":1,"b":{"c":2}},"map":{"a":"x","b.c":"y.z"}}`,
			want:  `{"b":{},"x":1,"y":{"z":2}}`},
		{name: "rename swaps", key: "rename",
			input: `{"value":{"a":1,"b":2},"map":{"a":"b","b":"a"}}`,
			want:  `{"b":1,"a":2}`},
		{name: "rename skips missing", key: "rename",
			input: `{"value":{"a":1},"map":{"q":"r"}}`,
			want:  `{"a":1}`},
		{name: "rename into an existing object", key: "rename",
			input: `{"value":{"a":1,"o":{"k":0}},"map":{"a":"o.a"}}`,
			want:  `{"o":{"k":0,"a":1}}`},
		{name: "rename through a scalar", key: "rename",
			input:   `{"value":{"a":1,"s":"x"},"map":{"a":"s.t"}}`,
			wantErr: `rename: cannot write "s.t": "s" is not an object`},
		{name: "rename map value must be a string", key: "rename",
			input: `{"value":{"a":1},"map":{"a":7}}`, wantErr: `rename: map["a"] must be a string path`},
		{name: "merge", key: "merge",
			input: `{"values":[{"a":1,"o":{"x":1,"y":1},"l":[1]},{"o":{"y":2,"z":2},"l":[2]},null,{"b":true}]}`,
			want:  `{"a":1,"o":{"x":1,"y":2,"z":2},"l":[2],"b":true}`},
		{name: "merge object replaces scalar and back", key: "merge",
			input: `{"values":[{"a":1,"b":{"c":1}},{"a":{"x":1},"b":3}]}`,
			want:  `{"a":{"x":1},"b":3}`},
		{name: "merge nothing", key: "merge", input: `{"values":[]}`, want: `{}`},
		{name: "merge non-object", key: "merge",
			input: `{"values":[{},"s"]}`, wantErr: "merge: values[1] must be an object or null"},
		{name: "pick paths must be strings", key: "pick",
			input: `{"value":{},"paths":["a",1]}`, wantErr: "pick: paths must be an array of strings"},
		{name: "pick value is required", key: "pick",
			input: `{"paths":[]}`, wantErr: "pick: value is required"},
		{name: "input must be an object", key: "pick",
			input: `[]`, wantErr: "pick: input must be an object"},
		{name: "input is required", key: "rename",
			input: `null`, wantErr: "rename: input is required"},
		{name: "merge values must be an array", key: "merge",
			input: `{"values":{}}`, wantErr: "merge: values must be an array"},
		{name: "unknown transform", key: "flatten", input: `{}`,
			wantErr: `pdk: connector json has no transform "flatten"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := connector.Call("transform", []byte(`{"key":"`+tc.key+`","input":`+tc.input+`}`))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Call() = %s, %v; want error containing %q", out, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call() error = %v", err)
			}
			if want := `{"output":` + tc.want + `}`; string(out) != want {
				t.Errorf("Call()\n got %s\nwant %s", out, want)
			}
		})
	}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	m, err := connector.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"appKey":"json"`, `"version":"1.0.0"`, `"auth":{"type":"none"}`, `"hosts":[]`, `"triggers":[]`, `"actions":[]`, `"key":"pick"`, `"key":"rename"`, `"key":"merge"`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("manifest lacks %s:\n%s", want, m)
		}
	}
}

func TestSplitPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path    string
		want    []string
		wantErr bool
	}{
		{path: "a", want: []string{"a"}},
		{path: "a.b.c", want: []string{"a", "b", "c"}},
		{path: `a\.b.c`, want: []string{"a.b", "c"}},
		{path: `a\\.b`, want: []string{`a\`, "b"}},
		{path: "", wantErr: true},
		{path: ".a", wantErr: true},
		{path: "a.", wantErr: true},
		{path: `a\`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			got, err := splitPath(tc.path)
			if (err != nil) != tc.wantErr || strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("splitPath(%q) = %q, %v", tc.path, got, err)
			}
		})
	}
}

func FuzzTransforms(f *testing.F) {
	f.Add("pick", `{"value":{"a":{"b":1}},"paths":["a.b"]}`)
	f.Add("rename", `{"value":{"a":{"b":1}},"map":{"a.b":"c"}}`)
	f.Add("merge", `{"values":[{"a":1},{"a":{"b":[]}}]}`)
	f.Fuzz(func(t *testing.T, key, input string) {
		out, err := connector.Call("transform", []byte(`{"key":"`+key+`","input":`+input+`}`))
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid output %q", out)
		}
	})
}

// FuzzParse checks that parse accepts exactly what encoding/json accepts and
// that encode(parse(x)) means the same as x.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,"x\u00e9\n",true,false,null,{}]}`, `"\ud83d\ude00"`, `[]`, `01`, `{"a":1,"a":2}`, "\"\xff\"", ` 1 `, `[1,]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parse(data)
		if (err == nil) != json.Valid(data) {
			t.Fatalf("parse(%q) error = %v, json.Valid = %v", data, err, json.Valid(data))
		}
		if err != nil {
			return
		}
		out := encode(nil, v)
		want, err := decodeAny(data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeAny(out)
		if err != nil {
			t.Fatalf("encode gave invalid JSON %q for %q", out, data)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("encode(parse(%q)) = %q", data, out)
		}
	})
}

// decodeAny decodes with encoding/json, keeping numbers as text.
func decodeAny(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}
