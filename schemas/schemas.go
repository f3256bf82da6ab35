package schemas

import "embed"

// ManifestFile is the name, within [FS], of the connector manifest schema. The file is
// normative: a manifest is valid exactly when it validates against this schema and passes the
// semantic checks package validate documents.
const ManifestFile = "connector-manifest.schema.json"

// ManifestID is the $id of the connector manifest schema, the URL its references resolve
// against.
const ManifestID = "https://splice.dev/schemas/connector-manifest.schema.json"

// FS holds every *.json schema of this folder, read-only, under its file name. It is safe for
// concurrent use.
//
//go:embed *.schema.json
var FS embed.FS

// ExchangeFile is the name, within [FS], of the schema of a recorded HTTP exchange (one
// connector request through the host's broker, secrets masked), the format runs keep and
// replay reads.
const ExchangeFile = "exchange.schema.json"

// AutomationFile is the name, within [FS], of the automation schema: what a consumer writes to
// create or update an automation.
const AutomationFile = "automation.schema.json"

// RunFile is the name, within [FS], of the run schema: a run with the record of each step, as the
// engine records it and the API returns it.
const RunFile = "run.schema.json"
