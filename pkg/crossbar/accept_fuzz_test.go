package crossbar

import (
	"strings"
	"testing"
)

// FuzzNegotiate: no Accept header makes Negotiate panic, and its answer follows its rules:
// audio only when the header names an audio type (or the attachment's own type), the answer
// does not depend on letter case or on empty list elements, and a header with nothing
// usable in it is JSON.
func FuzzNegotiate(f *testing.F) {
	for _, seed := range [][2]string{
		{"", "audio/mpeg"}, {"*/*", ""}, {"audio/mpeg", "audio/mpeg"}, {"audio/*", "audio/wav"},
		{"application/json;q=0.5, audio/mpeg", "audio/mpeg"}, {"audio/mpeg;q=0, application/json;q=0", "audio/mpeg"},
		{"audio/wav", "audio/wav; codecs=1"}, {"audio/WAV", "Audio/Wav"}, {"text/html", "audio/mpeg"},
		{`audio/mpeg;x="a,b;q=0";q=0.9, application/json;q=0.8`, ""}, {`audio/mpeg;x="unterminated, */*`, ""},
		{"audio/mpeg;q=1.001", ""}, {"audio/mpeg;q=0.0001", ""}, {"audio/mpeg;q=", ""}, {"*/audio", ""},
		{",,,", ""}, {";q=1", ""}, {"audio/mpeg;Q=0.2, application/json;q=0.1", ""}, {"\x00/\xff", "\xff"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, accept, audioType string) {
		rep, ok := Negotiate(accept, audioType)
		if ok && rep != RepJSON && rep != RepAudio {
			t.Fatalf("Negotiate(%q, %q) = %v", accept, audioType, rep)
		}
		if !ok && rep != 0 {
			t.Fatalf("Negotiate(%q, %q) refused but returned %v", accept, audioType, rep)
		}
		lower := strings.ToLower(accept)
		ownType := strings.ToLower(strings.TrimSpace(stripParams(audioType)))
		if ok && rep == RepAudio && !strings.Contains(lower, "audio/") && (ownType == "" || !strings.Contains(lower, ownType)) {
			t.Fatalf("Negotiate(%q, %q) = audio, but the header names no audio type", accept, audioType)
		}
		if strings.TrimSpace(strings.Trim(accept, ", \t")) == "" && (!ok || rep != RepJSON) {
			t.Fatalf("Negotiate(%q, %q) = %v, %v; an empty header means JSON", accept, audioType, rep, ok)
		}
		// Letter case (ASCII: Unicode case mapping could turn a non-token into a token) and
		// empty list elements change nothing.
		for _, variant := range []string{asciiUpper(accept), accept + ",", ", " + accept} {
			if r2, ok2 := Negotiate(variant, audioType); r2 != rep || ok2 != ok {
				t.Fatalf("Negotiate(%q) = %v, %v but Negotiate(%q) = %v, %v", accept, rep, ok, variant, r2, ok2)
			}
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
