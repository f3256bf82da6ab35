// Package schemas holds Splice's normative JSON Schemas and embeds them in the binary, so that
// the code validates against the very files published in this folder.
//
// It owns the schema documents and their names, nothing else: compiling them and validating
// documents is package validate's job, and the Go mirror of the connector manifest lives in
// package abi. Everything it exports is read-only and safe for concurrent use.
//
// The files:
//
//   - [ManifestFile] (connector-manifest.schema.json): the connector manifest that a connector's
//     describe export returns (see DESIGN.md, "Connector contract").
//   - [ExchangeFile] (exchange.schema.json): one recorded HTTP exchange of a connector, as the
//     broker records it in a run.
//   - [AutomationFile] (automation.schema.json): an automation, as a consumer writes it.
//   - [RunFile] (run.schema.json): a run and its step records.
//
// openapi.json, the OpenAPI 3.1 document of the management API and the webhook ingress, is
// published here too but not embedded (FS holds the *.schema.json files): it is for callers, and
// host/api's tests check it against the routes.
//
// # Notes
//
// Every schema is JSON Schema draft 2020-12, has an absolute $id under
// https://splice.dev/schemas/, and sets additionalProperties to false on every object Splice
// defines, so that a misspelt field is an error rather than a silently ignored value.
package schemas
