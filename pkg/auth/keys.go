package auth

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// SigningKeyAttachment is where Kazoo keeps a system key: the PKCS#1 PEM private key.
const SigningKeyAttachment = "private_key.pem"

type cachedKey struct {
	key     *rsa.PublicKey // nil: the kid is unknown
	fetched time.Time
}

// publicKey returns the public half of system_auth/<kid>'s private key. Unknown kids and
// failed lookups are remembered, so a stream of forged kids costs one lookup per KeyRetry.
// refresh asks for a fresh read (after a signature failure), within the same bound.
func (k *Kazoo) publicKey(ctx context.Context, kid string, refresh bool) (*rsa.PublicKey, error) {
	now := k.opts.Now()
	k.mu.Lock()
	c, ok := k.keys[kid]
	k.mu.Unlock()
	if ok {
		age := now.Sub(c.fetched)
		fresh := (c.key != nil && age < k.opts.KeyTTL && !refresh) || age < k.opts.KeyRetry
		if fresh {
			if c.key == nil {
				return nil, ErrInvalidToken
			}
			return c.key, nil
		}
	}
	key, err := k.loadKey(ctx, kid)
	if err != nil && !errors.Is(err, ErrInvalidToken) {
		return nil, err // the datastore failed: do not remember anything
	}
	k.mu.Lock()
	if len(k.keys) > 10000 {
		k.keys = map[string]cachedKey{} // bounded: forged kids cannot grow it forever
	}
	k.keys[kid] = cachedKey{key: key, fetched: now}
	k.mu.Unlock()
	if key == nil {
		return nil, ErrInvalidToken
	}
	return key, nil
}

// loadKey reads the key document; it never creates one (Kazoo would, as a side effect).
func (k *Kazoo) loadKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	if _, err := k.store.SystemDoc(ctx, recording.SystemAuthDB, kid); err != nil {
		if recording.IsNotFound(err) {
			return nil, ErrInvalidToken
		}
		return nil, err
	}
	pemBytes, err := k.store.SystemAttachment(ctx, recording.SystemAuthDB, kid, SigningKeyAttachment, 64<<10)
	switch {
	case recording.IsNotFound(err), recording.ErrorCode(err) == recording.EInvalid:
		return nil, ErrInvalidToken
	case err != nil:
		return nil, err
	}
	priv, err := ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		return nil, ErrInvalidToken
	}
	return &priv.PublicKey, nil
}

// ParsePrivateKeyPEM reads exactly one PEM block holding an RSA private key, PKCS#1 as Kazoo
// writes it (PKCS#8 accepted too).
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block")
	}
	if key, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return key, nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not an RSA private key: %w", err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return key, nil
}
