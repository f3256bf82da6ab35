// Package api is the management API (/v1, JSON), with /healthz and /metrics: operator routes
// (environments, connectors, promotion, consumer tokens) behind the operator's bearer token, and
// consumer routes (credentials, automations, runs, activity) behind a consumer JWT of the route's
// environment whose sub is the consumer. A consumer only ever sees its own objects: another's
// answer 404, not 403. Errors are {"error": {"code", "message", "details"}} with the codes of
// package problem (host/internal/problem), the one catalog. schemas/openapi.json describes every
// route; a test checks that the two agree.
//
// It owns HTTP concerns only: parsing, authentication, status codes. What the routes do is the
// stores' and the engine's, reached through Environment, which host/server fills. An *API is
// safe for concurrent use.
package api
