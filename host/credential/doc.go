// Package credential stores consumers' credentials for one environment: their non-secret fields in
// the clear and their secrets sealed (AES-256-GCM, package keyring) under the environment's data
// key, which is itself stored sealed under the master key.
//
// It owns the credential records and their keys in the environment's kv.DB, and the environment's
// data keys. Get and List never return secrets: the Credential type has no field for them. Only
// Secrets opens them, for the HTTP broker that injects them into requests. A sealed record is bound
// to its environment, consumer and credential key (the AEAD's additional data), so it cannot be
// copied to another consumer's record and opened there.
//
// Key layout: "cred/<consumer>/<credentialKey>" (both path-escaped) holds a JSON record;
// "meta/datakey/<id>" holds a sealed data key and "meta/datakey" the current one's id.
//
// A *Store is safe for concurrent use.
package credential
