// Package validate checks documents against JSON Schemas: connector manifests against the
// normative schemas/connector-manifest.schema.json (plus the rules a schema cannot express),
// and, for the engine, action and trigger inputs and outputs against the schemas connectors
// declare.
//
// It owns compiling schemas and turning failures into [*Error] values that name, for each
// failure, the keyword, the instance path (a JSON pointer) and the schema path. It leaves the
// wire types to package abi, the schema files to package schemas, and what to do with a
// failure to its callers.
//
// [Manifest], [Compile] and [*Schema] are safe for concurrent use.
//
// # Rules beyond the schema
//
// [Manifest] also rejects, with these keywords:
//
//   - uniqueKeys: two triggers, actions, transforms or auth fields with the same key;
//   - the keyword that failed (type, $ref, pattern, ...), at a path under the schema: an
//     inputSchema, payloadSchema or outputSchema that is not a JSON Schema that compiles;
//   - hostGlob: a host that is an IP address pattern other than one IPv4 address, has a
//     numeric top-level label, or is a wildcard over a single label ("*.com").
//
// # Why schemas may not reference other documents
//
// A connector's schemas are untrusted input. The compiler resolves $ref and $schema to the
// drafts' metaschemas, which it embeds, and to nothing else: no file, no network. A schema
// that needs anything more fails to compile.
//
// # Why the depth of schemas is limited
//
// The library's compile time grows faster than linearly with the nesting depth of a schema: a
// 90 KB manifest whose inputSchema nests "items" 9000 deep kept a CPU busy for minutes. Manifests
// and schemas may therefore nest arrays and objects at most [MaxDepth] (64) deep, which real
// schemas stay far below. Even so, validating an adversarial 1 MiB manifest full of schemas
// costs seconds of CPU: callers validate manifests when a connector is deployed, not per call.
//
// # Why panics are recovered
//
// Compiling and validating run a third-party library on untrusted input. Fuzzing has found no
// panic in it, but should one occur, it becomes a cause with keyword "schema" rather than a
// crash of the host: the library keeps no state across calls that a panic could corrupt (each
// compile has its own compiler, and compiled schemas are immutable).
//
// # Why the manifest schema is compiled once, lazily
//
// Compiling the manifest schema takes longer than validating most manifests, and its result
// never changes, so the package compiles it on first use and shares it. Every other schema
// gets a fresh compiler, so that schemas from different connectors can never see one another
// (two of them may use the same $id).
//
// # Why most documents are not decoded
//
// The engine validates four documents a run. The library validates Go values, and decoding a
// document into them cost as much as validating it. A schema that uses only type, const (true,
// false, null), properties, required, additionalProperties, items, the length and number bounds,
// allOf, anyOf and $ref is also compiled into a form that checks a document's bytes directly
// (quick.go): the chat connector's schemas took 3 to 5 times less time (BenchmarkValidate).
// That check only ever says "valid" or "don't know": on "don't know" (an invalid document, or
// one it leaves to the library, such as a string with an escape under a length limit) Validate
// decodes the document and the library decides, and gives the error. FuzzQuick checks that it
// never calls valid a document the library refuses, and TestQuickKnowsEveryField that a keyword
// the library adds is not silently ignored.
package validate
