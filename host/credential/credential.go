package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/splicehq/splice/host/keyring"
	"github.com/splicehq/splice/host/kv"
)

// Limits on what one credential may hold.
const (
	MaxKeyBytes     = 128      // consumer and credential keys
	MaxSecretsBytes = 64 << 10 // the secrets of one credential, as JSON
)

var (
	// ErrNotFound is returned for a credential that is not stored (for this consumer).
	ErrNotFound = errors.New("credential: not found")
	// ErrInvalid is returned for a credential that cannot be stored as given.
	ErrInvalid = errors.New("credential: invalid")
)

var (
	currentKeyName = []byte("meta/datakey")
	dataKeyPrefix  = "meta/datakey/"
	recordPrefix   = "cred/"
)

// Credential is a consumer's credential for one app, without its secrets.
type Credential struct {
	Consumer  string            `json:"consumer"`
	Key       string            `json:"credentialKey"`
	AppKey    string            `json:"appKey"`
	Fields    map[string]string `json:"fields,omitempty"` // non-secret fields, returned by the API
	KeyID     string            `json:"keyId"`            // the data key that sealed the secrets
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// record is what is stored: the credential and its sealed secrets.
type record struct {
	Credential
	Sealed []byte `json:"sealed"`
}

// Options configures Open.
type Options struct {
	// Env is the environment's name; it is bound into every sealed record.
	Env string `json:"env"`
	// Master seals the environment's data keys. Required.
	Master *keyring.Master `json:"-"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// Store is one environment's credentials.
type Store struct {
	db     *kv.DB
	master *keyring.Master
	ring   *keyring.Keyring
	env    string
	now    func() time.Time
}

// Open returns the Store of db's environment, creating and storing its first data key when it has
// none. Every stored data key is opened with the master key, so that records sealed before a
// rotation still open.
//
// # Errors
//
// A keyring error (keyring.ErrWrongKey: the master key is not the one the environment was created
// with) or a kv error.
func Open(ctx context.Context, db *kv.DB, opts Options) (*Store, error) {
	if opts.Master == nil || opts.Env == "" {
		return nil, fmt.Errorf("%w: options: env and master are required", ErrInvalid)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{db: db, master: opts.Master, env: opts.Env, now: opts.Now}
	cur, err := db.Get(currentKeyName)
	if errors.Is(err, kv.ErrNotFound) {
		sealed, dk, err := opts.Master.NewDataKey()
		if err != nil {
			return nil, fmt.Errorf("credential: open %s: %w", opts.Env, err)
		}
		if err := db.Write(ctx, kv.Put([]byte(dataKeyPrefix+dk.ID()), sealed), kv.Put(currentKeyName, []byte(dk.ID()))); err != nil {
			return nil, fmt.Errorf("credential: open %s: store data key: %w", opts.Env, err)
		}
		cur = []byte(dk.ID())
	} else if err != nil {
		return nil, fmt.Errorf("credential: open %s: %w", opts.Env, err)
	}
	var current *keyring.DataKey
	var old []*keyring.DataKey
	var after []byte
	for {
		kvs, next, err := db.Scan([]byte(dataKeyPrefix), after, kv.MaxScanLimit)
		if err != nil {
			return nil, fmt.Errorf("credential: open %s: %w", opts.Env, err)
		}
		for _, p := range kvs {
			dk, err := opts.Master.OpenDataKey(keyring.SealedKey(p.Value))
			if err != nil {
				return nil, fmt.Errorf("credential: open %s: data key %s: %w", opts.Env, strings.TrimPrefix(string(p.Key), dataKeyPrefix), err)
			}
			if dk.ID() == string(cur) {
				current = dk
			} else {
				old = append(old, dk)
			}
		}
		if next == nil {
			break
		}
		after = next
	}
	if current == nil {
		return nil, fmt.Errorf("credential: open %s: the current data key %s is not stored", opts.Env, cur)
	}
	if s.ring, err = keyring.NewKeyring(current, old...); err != nil {
		return nil, fmt.Errorf("credential: open %s: %w", opts.Env, err)
	}
	return s, nil
}

// Rotate makes a new data key current, stored (sealed under the master key) before it is used.
// Records sealed by older keys still open, and are re-sealed under the new key the next time
// Secrets reads them.
func (s *Store) Rotate(ctx context.Context) error {
	sealed, dk, err := s.master.NewDataKey()
	if err != nil {
		return fmt.Errorf("credential: rotate %s: %w", s.env, err)
	}
	if err := s.db.Write(ctx, kv.Put([]byte(dataKeyPrefix+dk.ID()), sealed), kv.Put(currentKeyName, []byte(dk.ID()))); err != nil {
		return fmt.Errorf("credential: rotate %s: %w", s.env, err)
	}
	return s.ring.Rotate(dk)
}

func recordKey(consumer, key string) []byte {
	return []byte(recordPrefix + url.PathEscape(consumer) + "/" + url.PathEscape(key))
}

// aad binds a sealed record to its environment, consumer and credential key.
func (s *Store) aad(consumer, key string) []byte {
	return []byte("splice/credential\x00" + s.env + "\x00" + consumer + "\x00" + key)
}

func checkKeys(consumer, key string) error {
	switch {
	case consumer == "" || key == "":
		return fmt.Errorf("%w: consumer and credential key are required", ErrInvalid)
	case len(consumer) > MaxKeyBytes || len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: consumer or credential key longer than %d bytes", ErrInvalid, MaxKeyBytes)
	}
	return nil
}

// Put stores c and its secrets, replacing any credential with the same consumer and key (whose
// creation time it keeps). The secrets are sealed before anything is written.
func (s *Store) Put(ctx context.Context, c Credential, secrets map[string]string) error {
	if err := checkKeys(c.Consumer, c.Key); err != nil {
		return err
	}
	if c.AppKey == "" {
		return fmt.Errorf("%w: appKey is required", ErrInvalid)
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return fmt.Errorf("credential: put %s: secrets: %w", c.Key, err)
	}
	if len(plain) > MaxSecretsBytes {
		return fmt.Errorf("%w: secrets of %d bytes, over %d", ErrInvalid, len(plain), MaxSecretsBytes)
	}
	sealed, err := s.ring.Seal(plain, s.aad(c.Consumer, c.Key))
	clear(plain)
	if err != nil {
		return fmt.Errorf("credential: put %s: %w", c.Key, err)
	}
	now := s.now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	if old, err := s.get(c.Consumer, c.Key); err == nil {
		c.CreatedAt = old.CreatedAt
	}
	c.KeyID = s.ring.Current().ID()
	return s.write(ctx, record{Credential: c, Sealed: sealed})
}

func (s *Store) write(ctx context.Context, r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("credential: put %s: %w", r.Key, err)
	}
	if err := s.db.Write(ctx, kv.Put(recordKey(r.Consumer, r.Key), b)); err != nil {
		return fmt.Errorf("credential: put %s: %w", r.Key, err)
	}
	return nil
}

func (s *Store) get(consumer, key string) (record, error) {
	var r record
	if err := checkKeys(consumer, key); err != nil {
		return r, err
	}
	b, err := s.db.Get(recordKey(consumer, key))
	if errors.Is(err, kv.ErrNotFound) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("credential: get %s: %w", key, err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("credential: get %s: corrupt record: %w", key, err)
	}
	return r, nil
}

// Get returns a consumer's credential, without its secrets. Another consumer's credential is
// ErrNotFound, as is one that does not exist.
func (s *Store) Get(consumer, key string) (Credential, error) {
	r, err := s.get(consumer, key)
	return r.Credential, err
}

// Secrets opens a credential's secrets, for the HTTP broker only. A record sealed by an older data
// key is re-sealed under the current one.
func (s *Store) Secrets(ctx context.Context, consumer, key string) (map[string]string, error) {
	r, err := s.get(consumer, key)
	if err != nil {
		return nil, err
	}
	aad := s.aad(consumer, key)
	plain, err := s.ring.Open(r.Sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("credential: secrets of %s: %w", key, err)
	}
	defer clear(plain)
	var secrets map[string]string
	if err := json.Unmarshal(plain, &secrets); err != nil {
		return nil, fmt.Errorf("credential: secrets of %s: corrupt", key)
	}
	if s.ring.NeedsReseal(r.Sealed) {
		if r.Sealed, err = s.ring.Seal(plain, aad); err == nil {
			r.KeyID = s.ring.Current().ID()
			err = s.write(ctx, r)
		}
		if err != nil {
			return nil, fmt.Errorf("credential: re-seal %s: %w", key, err)
		}
	}
	return secrets, nil
}

// List returns up to limit of a consumer's credentials (without secrets) after the credential key
// after ("" for the first page), and the cursor of the next page ("" when there is none).
func (s *Store) List(consumer, after string, limit int) ([]Credential, string, error) {
	if consumer == "" {
		return nil, "", fmt.Errorf("%w: consumer is required", ErrInvalid)
	}
	prefix := []byte(recordPrefix + url.PathEscape(consumer) + "/")
	var from []byte
	if after != "" {
		from = recordKey(consumer, after)
	}
	kvs, next, err := s.db.Scan(prefix, from, limit)
	if err != nil {
		return nil, "", fmt.Errorf("credential: list: %w", err)
	}
	out := make([]Credential, 0, len(kvs))
	for _, p := range kvs {
		var r record
		if err := json.Unmarshal(p.Value, &r); err != nil {
			return nil, "", fmt.Errorf("credential: list: corrupt record %q: %w", p.Key, err)
		}
		out = append(out, r.Credential)
	}
	cursor := ""
	if next != nil && len(out) > 0 {
		cursor = out[len(out)-1].Key
	}
	return out, cursor, nil
}

// Delete removes a consumer's credential; deleting one that does not exist is ErrNotFound.
func (s *Store) Delete(ctx context.Context, consumer, key string) error {
	if _, err := s.get(consumer, key); err != nil {
		return err
	}
	if err := s.db.Write(ctx, kv.Delete(recordKey(consumer, key))); err != nil {
		return fmt.Errorf("credential: delete %s: %w", key, err)
	}
	return nil
}
