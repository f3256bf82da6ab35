package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	pdk "github.com/splicehq/splice/pdk/go"
)

// selection is the tree of the paths to pick: a node is either taken whole
// or has children.
type selection struct {
	whole    bool
	children map[string]*selection
}

// pick keeps only the paths of the value, in the order of the value's keys.
// Input: {"value": object, "paths": [string]}.
func pick(ctx *pdk.Context, raw json.RawMessage) (json.RawMessage, error) {
	in, err := parseInput("pick", raw)
	if err != nil {
		return nil, err
	}
	root, err := objectField("pick", in, "value")
	if err != nil {
		return nil, err
	}
	paths, err := stringsField("pick", in, "paths")
	if err != nil {
		return nil, err
	}
	sel := &selection{}
	for _, p := range paths {
		keys, err := splitPath(p)
		if err != nil {
			return nil, fmt.Errorf("pick: %w", err)
		}
		n := sel
		for _, k := range keys {
			if n.whole {
				break
			}
			if n.children == nil {
				n.children = map[string]*selection{}
			}
			c := n.children[k]
			if c == nil {
				c = &selection{}
				n.children[k] = c
			}
			n = c
		}
		n.whole, n.children = true, nil
	}
	return encode(nil, pickFrom(root, sel)), nil
}

func pickFrom(o *object, sel *selection) *object {
	out := newObject()
	for _, k := range o.keys {
		c := sel.children[k]
		if c == nil {
			continue
		}
		v := o.vals[k]
		if c.whole {
			out.set(k, v)
			continue
		}
		if sub, ok := v.(*object); ok {
			if p := pickFrom(sub, c); len(p.keys) > 0 {
				out.set(k, p)
			}
		}
	}
	return out
}

// rename moves every old path of in.Map to its new path: the old values are
// all read from the original object, then all old paths are removed, then
// the new paths are written in the order of the map.
// Input: {"value": object, "map": {old: new}}.
func rename(ctx *pdk.Context, raw json.RawMessage) (json.RawMessage, error) {
	in, err := parseInput("rename", raw)
	if err != nil {
		return nil, err
	}
	root, err := objectField("rename", in, "value")
	if err != nil {
		return nil, err
	}
	m, err := objectField("rename", in, "map")
	if err != nil {
		return nil, err
	}
	type move struct {
		from, to []string
		to0      string
		value    any
	}
	var moves []move
	for _, old := range m.keys {
		newPath, ok := m.vals[old].(string)
		if !ok {
			return nil, fmt.Errorf("rename: map[%q] must be a string path", old)
		}
		from, err := splitPath(old)
		if err != nil {
			return nil, fmt.Errorf("rename: %w", err)
		}
		to, err := splitPath(newPath)
		if err != nil {
			return nil, fmt.Errorf("rename: %w", err)
		}
		if v, ok := lookup(root, from); ok {
			moves = append(moves, move{from: from, to: to, to0: newPath, value: clone(v)})
		}
	}
	for _, mv := range moves {
		if parent, ok := lookup(root, mv.from[:len(mv.from)-1]); ok {
			parent.(*object).del(mv.from[len(mv.from)-1])
		}
	}
	for _, mv := range moves {
		if err := setPath(root, mv.to, mv.value); err != nil {
			return nil, fmt.Errorf("rename: cannot write %q: %w", mv.to0, err)
		}
	}
	return encode(nil, root), nil
}

// setPath writes v at keys inside o, creating objects on the way.
func setPath(o *object, keys []string, v any) error {
	for i, k := range keys[:len(keys)-1] {
		next, ok := o.get(k)
		if !ok {
			n := newObject()
			o.set(k, n)
			o = n
			continue
		}
		if o, ok = next.(*object); !ok {
			return fmt.Errorf("%q is not an object", strings.Join(keys[:i+1], "."))
		}
	}
	o.set(keys[len(keys)-1], v)
	return nil
}

// merge deep-merges the values: a later value wins, objects merge key by
// key. Input: {"values": [object or null]}.
func merge(ctx *pdk.Context, raw json.RawMessage) (json.RawMessage, error) {
	in, err := parseInput("merge", raw)
	if err != nil {
		return nil, err
	}
	v, ok := in.get("values")
	values, isArray := v.([]any)
	if !ok || !isArray {
		return nil, errors.New("merge: values must be an array")
	}
	out := newObject()
	for i, v := range values {
		switch v := v.(type) {
		case nil:
		case *object:
			mergeInto(out, v)
		default:
			return nil, fmt.Errorf("merge: values[%d] must be an object or null", i)
		}
	}
	return encode(nil, out), nil
}

func mergeInto(dst, src *object) {
	for _, k := range src.keys {
		sv := src.vals[k]
		if so, ok := sv.(*object); ok {
			if do, ok := dst.vals[k].(*object); ok {
				mergeInto(do, so)
				continue
			}
		}
		dst.set(k, sv)
	}
}

// parseInput decodes a transform's input, which must be an object.
func parseInput(transform string, raw json.RawMessage) (*object, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: input is required", transform)
	}
	v, err := parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: input: %w", transform, err)
	}
	o, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("%s: input must be an object", transform)
	}
	return o, nil
}

// objectField returns in[field], which must be an object.
func objectField(transform string, in *object, field string) (*object, error) {
	v, ok := in.get(field)
	if !ok {
		return nil, fmt.Errorf("%s: %s is required", transform, field)
	}
	o, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be an object", transform, field)
	}
	return o, nil
}

// stringsField returns in[field], which must be an array of strings.
func stringsField(transform string, in *object, field string) ([]string, error) {
	v, ok := in.get(field)
	if !ok {
		return nil, fmt.Errorf("%s: %s is required", transform, field)
	}
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be an array of strings", transform, field)
	}
	out := make([]string, len(a))
	for i, e := range a {
		if out[i], ok = e.(string); !ok {
			return nil, fmt.Errorf("%s: %s must be an array of strings", transform, field)
		}
	}
	return out, nil
}
