// Package server wires Splice together on one port: it opens the data directory (the master key,
// the operator token, one Badger database per environment), builds each environment's stores,
// broker and engine, and serves the webhook ingress and the management API (package ingress, with
// package api behind it) until its context ends, then stops gracefully.
//
// It is the only package that knows the concrete types of the others; each of them asks for the
// small interface it needs (ingress.Receiver, engine.Connectors, engine.Automations, api.Environments).
// A Server is safe for concurrent use. Its lock (mu) guards the set of environments; an
// environment's own lock (env.mu) guards its loaded connectors; the first is taken before the
// second, never the reverse.
//
// # Why connectors are loaded per environment and kept
//
// A connector version is immutable, so an environment compiles and describes each module once
// (the sandbox's compilation cache makes that cheap after a restart) and keeps the loaded
// connector for as long as it is open. Callers that ask for a module while it loads wait for that
// load (after a restart every worker asks for the same connectors at once). The active version of each app is looked up once and
// forgotten when a deploy or an activation changes it; nothing else changes it, because one
// process owns the environment's database.
package server
