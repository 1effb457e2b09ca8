package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries Sign's value: the receiver checks with it that a delivery is ours,
// unaltered and recent.
const SignatureHeader = "X-Recordings-Signature"

// DefaultSignatureTolerance is how far a signature's time may be from the receiver's clock
// when Verify is given no tolerance.
const DefaultSignatureTolerance = 5 * time.Minute

// Verify's errors, for errors.Is; their messages add the details.
var (
	ErrSignatureMalformed = errors.New("malformed signature header")
	ErrSignatureMismatch  = errors.New("no signature matches")
	ErrSignatureExpired   = errors.New("signature timestamp outside the tolerance")
)

// Sign is the X-Recordings-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with secret>". The time is
// signed with the body so that a captured delivery cannot be replayed later.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(signature(secret, ts, body))
}

// signature is the HMAC of "<ts>.<body>".
func signature(secret, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return mac.Sum(nil)
}

// Verify checks a signature header for body, as a receiver does: one of its v1 entries (a
// sender rotating its secret may send several) must be the HMAC of the body with secret, and
// its time at most tolerance (DefaultSignatureTolerance if zero or less) away from now.
// Errors: ErrSignatureMalformed, ErrSignatureMismatch, ErrSignatureExpired.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs, err := parseSignature(header)
	if err != nil {
		return err
	}
	want := signature(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		// Every entry is compared, in constant time, so that timing tells nothing.
		matched = hmac.Equal(sig, want) || matched
	}
	if !matched {
		return fmt.Errorf("%w: none of the %d v1 signatures is the body's with this secret", ErrSignatureMismatch, len(sigs))
	}
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	unix, _ := strconv.ParseInt(ts, 10, 64) // parseSignature checked it
	if skew := now.Sub(time.Unix(unix, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)", ErrSignatureExpired,
			time.Unix(unix, 0).UTC().Format(time.RFC3339), skew.Round(time.Second), tolerance)
	}
	return nil
}

// parseSignature reads "t=<unix seconds>,v1=<hex>[,v1=<hex>…]"; entries of other versions are
// skipped, so that a receiver keeps working when a newer scheme is sent alongside.
func parseSignature(header string) (ts string, sigs [][]byte, err error) {
	malformed := func(why string) error { return fmt.Errorf("%w: %s", ErrSignatureMalformed, why) }
	for entry := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok {
			return "", nil, malformed(fmt.Sprintf("entry %q is not key=value", entry))
		}
		switch key {
		case "t":
			if ts != "" {
				return "", nil, malformed("two timestamps")
			}
			if n, err := strconv.ParseInt(value, 10, 64); err != nil || n < 0 || strconv.FormatInt(n, 10) != value {
				return "", nil, malformed(fmt.Sprintf("timestamp %q is not unix seconds", value))
			}
			ts = value
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, malformed("a v1 signature is not 64 hex digits")
			}
			sigs = append(sigs, sig)
		}
	}
	switch {
	case ts == "":
		return "", nil, malformed("no timestamp (t=)")
	case len(sigs) == 0:
		return "", nil, malformed("no v1 signature")
	}
	return ts, sigs, nil
}
