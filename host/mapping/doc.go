// Package mapping compiles and evaluates the templates of automations' inputs: JSON documents
// whose strings may hold {{path}} expressions, with github.com/tidwall/gjson path syntax over a
// scope document whose members are the sources (trigger, steps, item, automation, run, consumer).
//
// It owns the template syntax and its evaluation, nothing else: which sources exist in a given
// step, which steps came before, and whether a missing value is an error are the engine's.
// It is the only package that imports gjson. A *Template is immutable and safe for concurrent
// use.
//
// # Syntax
//
//   - A string that is exactly one expression, "{{trigger.order.total}}", takes the value's JSON
//     type (a number stays a number, an object an object); a path that matches nothing gives null.
//   - Any other string interpolates text: strings unquoted, other values as compact JSON, null and
//     missing values as nothing. "Order {{trigger.order.id}} by {{trigger.customer.name}}".
//   - Expressions nest and resolve inside out: "{{steps.lookup.output.items.{{item.index}}.name}}"
//     reads item.index first and uses its text in the outer path (at most 8 levels).
//   - `\{{` is a literal "{{". Spaces around a path are ignored.
//   - A path must start with one of the sources. Object keys are never templates.
//
// # Why compile
//
// An automation's inputs are evaluated for every run; parsing them once per automation version
// turns each evaluation into a walk of a small tree with one gjson lookup per expression, and
// reports a malformed template when the automation is saved, not when it first runs.
package mapping
