// Command json is the Splice connector "json": pure JSON transforms (pick,
// rename, merge) that need no network and no credential. See README.md.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o json.wasm .
package main

import pdk "github.com/splicehq/splice/pdk/go"

// connector is the declaration the module serves; tests call it natively.
var connector = pdk.Connector{
	AppKey:      "json",
	Name:        "JSON",
	Version:     "1.0.0",
	Description: "Pure JSON transforms: pick paths, rename paths, deep-merge objects.",
	Auth:        pdk.Auth{Type: pdk.AuthNone},
	Hosts:       []string{},
	Transforms: []pdk.Transform{
		{
			Key:          "pick",
			Name:         "Pick paths",
			Description:  "Keeps only the listed dotted paths of an object; paths that are missing are left out.",
			InputSchema:  pickInputSchema,
			OutputSchema: objectOutputSchema,
			Handler:      pdk.Handle(pick),
		},
		{
			Key:          "rename",
			Name:         "Rename paths",
			Description:  "Moves values from old dotted paths to new ones; every old path is read from the original object.",
			InputSchema:  renameInputSchema,
			OutputSchema: objectOutputSchema,
			Handler:      pdk.Handle(rename),
		},
		{
			Key:          "merge",
			Name:         "Deep merge",
			Description:  "Deep-merges a list of objects; for the same key a later object wins, and nested objects are merged.",
			InputSchema:  mergeInputSchema,
			OutputSchema: objectOutputSchema,
			Handler:      pdk.Handle(merge),
		},
	},
}

func init() { pdk.Register(connector) }

func main() {}

const pathDoc = `A dotted path of object keys, e.g. \"b.c\"; a backslash escapes a dot or a backslash in a key (\"a\\\\.b\" is the key \"a.b\"). Paths go through objects only, never into arrays.`

const pickInputSchema = `{
  "type": "object",
  "required": ["value", "paths"],
  "additionalProperties": false,
  "properties": {
    "value": {"type": "object", "description": "The object to pick from."},
    "paths": {
      "type": "array",
      "description": "The paths to keep.",
      "items": {"type": "string", "minLength": 1, "description": "` + pathDoc + `"}
    }
  }
}`

const renameInputSchema = `{
  "type": "object",
  "required": ["value", "map"],
  "additionalProperties": false,
  "properties": {
    "value": {"type": "object", "description": "The object to rename paths in."},
    "map": {
      "type": "object",
      "description": "Old path to new path. Missing old paths are skipped; new paths are written in the order given, creating objects as needed.",
      "additionalProperties": {"type": "string", "minLength": 1, "description": "` + pathDoc + `"}
    }
  }
}`

const mergeInputSchema = `{
  "type": "object",
  "required": ["values"],
  "additionalProperties": false,
  "properties": {
    "values": {
      "type": "array",
      "description": "The objects to merge, first to last; null entries are skipped.",
      "items": {"type": ["object", "null"]}
    }
  }
}`

const objectOutputSchema = `{"type": "object"}`
