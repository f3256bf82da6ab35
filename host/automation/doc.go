// Package automation defines automations (schemas/automation.schema.json) and compiles them:
// decoding against the schema, then compiling every template (package mapping) and condition
// (github.com/expr-lang/expr) once per automation version, and checking what each reads (known
// sources, earlier steps in scope, item only inside a forEach, unique step ids).
//
// It owns the automation's shape, its compile-time checks and where automations are kept: a
// Store holds an environment's automations as ledger objects (per consumer, plus the owner of
// each id, since a webhook URL names the automation alone) with their programs compiled once. Checks against an environment
// (the connectors and keys exist, the credential is the consumer's and for that app, literal
// inputs validate against the action's input schema) and running automations are the engine's.
// It is the only package that imports expr. A *Program and a *Condition are immutable and safe
// for concurrent use.
//
// # Why conditions use expr
//
// Filters and forEach clauses are written by consumers and run for every event. expr-lang/expr
// compiles an expression once, checks its variables (the sources, nothing else) and its result
// type (boolean) at compile time, has no statements, loops or side effects, bounds the size of
// what it compiles (MaxConditionNodes) and the memory it allocates when it runs (its default
// budget), which is what a hand-written evaluator would have to get right on its own.
package automation
