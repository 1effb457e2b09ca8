package webhooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

func TestSignFormat(t *testing.T) {
	at := time.Unix(1700000000, 0)
	body := []byte(`{"event":"recording.created"}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte("1700000000." + string(body)))
	want := "t=1700000000,v1=" + hex.EncodeToString(mac.Sum(nil))
	if got := webhooks.Sign("s3cret", at, body); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	at := time.Unix(1700000000, 0)
	body := []byte(`{"id":"abc"}`)
	header := webhooks.Sign("s3cret", at, body)
	v1 := strings.SplitN(header, ",", 2)[1]
	rotated := webhooks.Sign("old", at, body) + "," + v1 // the old secret's signature, then the new one's
	for _, c := range []struct {
		name   string
		secret string
		header string
		body   string
		now    time.Time
		want   error
	}{
		{"round trip", "s3cret", header, string(body), at, nil},
		{"a little clock skew", "s3cret", header, string(body), at.Add(-4 * time.Minute), nil},
		{"secret rotation: the second v1 matches", "s3cret", rotated, string(body), at, nil},
		{"secret rotation: the first v1 matches", "old", rotated, string(body), at, nil},
		{"spaces and an unknown version", "s3cret", " t=1700000000 , v0=zz , " + v1, string(body), at, nil},
		{"wrong secret", "other", header, string(body), at, webhooks.ErrSignatureMismatch},
		{"altered body", "s3cret", header, `{"id":"abd"}`, at, webhooks.ErrSignatureMismatch},
		{"another time signed", "s3cret", "t=1700000001," + v1, string(body), at, webhooks.ErrSignatureMismatch},
		{"stale", "s3cret", header, string(body), at.Add(6 * time.Minute), webhooks.ErrSignatureExpired},
		{"from the future", "s3cret", header, string(body), at.Add(-6 * time.Minute), webhooks.ErrSignatureExpired},
		{"empty", "s3cret", "", string(body), at, webhooks.ErrSignatureMalformed},
		{"no timestamp", "s3cret", v1, string(body), at, webhooks.ErrSignatureMalformed},
		{"no signature", "s3cret", "t=1700000000", string(body), at, webhooks.ErrSignatureMalformed},
		{"two timestamps", "s3cret", "t=1700000000,t=1700000000," + v1, string(body), at, webhooks.ErrSignatureMalformed},
		{"timestamp not a number", "s3cret", "t=soon," + v1, string(body), at, webhooks.ErrSignatureMalformed},
		{"signed timestamp", "s3cret", "t=+1700000000," + v1, string(body), at, webhooks.ErrSignatureMalformed},
		{"signature not hex", "s3cret", "t=1700000000,v1=xyz", string(body), at, webhooks.ErrSignatureMalformed},
		{"signature cut short", "s3cret", header[:len(header)-2], string(body), at, webhooks.ErrSignatureMalformed},
		{"entry without =", "s3cret", header + ",junk", string(body), at, webhooks.ErrSignatureMalformed},
	} {
		err := webhooks.Verify(c.secret, c.header, []byte(c.body), c.now, 5*time.Minute)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestVerifyDefaultTolerance(t *testing.T) {
	at := time.Unix(1700000000, 0)
	header := webhooks.Sign("k", at, nil)
	if err := webhooks.Verify("k", header, nil, at.Add(webhooks.DefaultSignatureTolerance-time.Second), 0); err != nil {
		t.Errorf("within the default tolerance: %v", err)
	}
	if err := webhooks.Verify("k", header, nil, at.Add(webhooks.DefaultSignatureTolerance+time.Second), 0); !errors.Is(err, webhooks.ErrSignatureExpired) {
		t.Errorf("past the default tolerance: %v", err)
	}
}
