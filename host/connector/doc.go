// Package connector loads connectors: it compiles a module in the sandbox, asks it to describe
// itself, validates the manifest against schemas/connector-manifest.schema.json, and compiles it
// for use under the effective limits, min(environment policy, manifest request).
//
// It owns the step from "bytes an operator uploaded" to "a connector calls can be made on", and the
// rule that a connector is called only through the exports its manifest declares. Its [Catalog]
// stores an environment's deployments in the environment's ledger: each version's module (a blob)
// and manifest, immutable once deployed, and each app's active version. Running automations is
// left to the engine.
//
// A *Connector is safe for concurrent use.
package connector
