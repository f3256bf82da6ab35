// Package credential stores consumers' credentials for one environment: their non-secret fields in
// the clear and their secrets sealed (AES-256-GCM, package keyring) under the environment's data
// key, which is itself stored sealed under the master key.
//
// It owns the credential records and the environment's data keys, stored as objects of the
// environment's ledger (so any ledger backend holds them). Get and List never return secrets: the Credential type has no field for them. Only
// Secrets opens them, for the HTTP broker that injects them into requests. A sealed record is bound
// to its environment, consumer and credential key (the AEAD's additional data), so it cannot be
// copied to another consumer's record and opened there.
//
// Objects: kind "credential", scoped to the consumer, id the credential key, holds a JSON record
// with the sealed secrets; kind "datakey" (the environment's), id the key's id, a sealed data key;
// "meta"/"datakey" the current data key's id. Writes are compare-and-swaps on the object version.
//
// A *Store is safe for concurrent use.
package credential
