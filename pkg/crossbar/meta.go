package crossbar

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"
)

// maxRequestIDLength bounds a client's X-Request-ID: it lands in logs and every response.
const maxRequestIDLength = 64

// RequestID reuses the client's X-Request-ID, as Kazoo does, when it is 1..64 characters
// of [A-Za-z0-9._-] (anything else could forge log lines or headers); otherwise it makes
// a new random 32-hex id.
func RequestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-ID"); validRequestID(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-':
		default:
			return false
		}
	}
	return true
}

// NodeName is the envelope's node: base64url without padding of md5(name), as Kazoo's
// kz_nodes:node_encoded hides its Erlang node name.
func NodeName(hostname string) string {
	sum := md5.Sum([]byte(hostname))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Timestamp renders t as the envelope's timestamp: ISO 8601, UTC, whole seconds.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
