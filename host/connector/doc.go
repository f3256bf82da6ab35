// Package connector loads connectors: it compiles a module in the sandbox, asks it to describe
// itself, validates the manifest against schemas/connector-manifest.schema.json, and compiles it
// for use under the effective limits, min(environment policy, manifest request).
//
// It owns the step from "bytes an operator uploaded" to "a connector calls can be made on", and the
// rule that a connector is called only through the exports its manifest declares. Storing
// connectors and their versions is left to the store; running automations to the engine.
//
// A *Connector is safe for concurrent use.
package connector
