package crossbar

import "testing"

func TestNegotiate(t *testing.T) {
	const (
		mp3 = "audio/mpeg"
		wav = "audio/wav"
	)
	firefoxAudio := "audio/webm,audio/ogg,audio/wav,audio/*;q=0.9,application/ogg;q=0.7,video/*;q=0.6,*/*;q=0.5"
	tests := []struct {
		accept    string
		audioType string
		want      Representation
		wantOK    bool
	}{
		// No preference: the document.
		{"", mp3, RepJSON, true},
		{"   ", mp3, RepJSON, true},
		{"*/*", mp3, RepJSON, true}, // Chrome's <audio>, curl
		{"application/json", mp3, RepJSON, true},
		{"application/x-json", mp3, RepJSON, true},
		{"application/*", mp3, RepJSON, true},
		{"Application/JSON; charset=UTF-8", mp3, RepJSON, true},

		// Audio by name, by wildcard, or by the attachment's own type.
		{"audio/mpeg", mp3, RepAudio, true},
		{"audio/mp3", mp3, RepAudio, true},
		{"audio/*", mp3, RepAudio, true},
		{"audio/wav", wav, RepAudio, true},
		{"AUDIO/WAV", "audio/WAV; rate=8000", RepAudio, true},
		{firefoxAudio, mp3, RepAudio, true}, // audio/* q=0.9 beats */* q=0.5
		{"audio/mpeg", wav, RepAudio, true}, // Kazoo compatible: served with its real type
		{"audio/mpeg", "", RepAudio, true},  // no attachment: the handler answers 404

		// The highest q wins; on a tie the earlier range does.
		{"application/json;q=0.5, audio/mpeg", mp3, RepAudio, true},
		{"audio/mpeg;q=0.5, application/json", mp3, RepJSON, true},
		{"audio/mpeg, application/json", mp3, RepAudio, true},
		{"application/json, audio/mpeg", mp3, RepJSON, true},
		{"audio/mpeg;q=0.501, */*;q=0.5", mp3, RepAudio, true},
		{"*/*;q=0.1, text/html, audio/*;q=0.2", mp3, RepAudio, true},
		{`audio/mpeg;foo="a,b;q=0";q=0.3, application/json;q=0.2`, mp3, RepAudio, true}, // quoted , and ; are data

		// Nothing acceptable: 406.
		{"text/html", mp3, 0, false},
		{"audio/mpeg;q=0", mp3, 0, false},
		{"audio/wav", mp3, 0, false},
		{"audio/wav", "", 0, false},
		{"application/json;q=0, audio/*;q=0.000", mp3, 0, false},
		{"text/html, audio/mpeg;q=1.5", mp3, 0, false}, // the malformed range is skipped, text/html remains

		// Malformed ranges are skipped; a header with nothing usable counts as absent.
		{"audio/mpeg;q=abc, application/json;q=0.1", mp3, RepJSON, true},
		{"audio/mpeg;q=0.1234, application/json;q=0.1", mp3, RepJSON, true},
		{"audio/mpeg;q=1.001, application/json;q=0.1", mp3, RepJSON, true},
		{"audio/mpeg;q=.5, application/json;q=0.1", mp3, RepJSON, true},
		{"audio/mpeg;q, application/json;q=0.1", mp3, RepJSON, true},
		{"audio, application/json;q=0.1", mp3, RepJSON, true},
		{"*/mpeg, application/json;q=0.1", mp3, RepJSON, true},
		{"audio/mp eg, application/json;q=0.1", mp3, RepJSON, true},
		{"garbage", mp3, RepJSON, true},
		{",,", mp3, RepJSON, true},
		{`audio/mpeg;name="say \"hi\"";q=0.9, application/json;q=0.8`, mp3, RepAudio, true},
		{`audio/mpeg;name="a"b", application/json;q=0.8`, mp3, RepJSON, true},
		{`audio/mpeg;name="ends in \", application/json;q=0.8`, mp3, RepJSON, true}, // never closes
		{"audio/mpeg;q=1.000", mp3, RepAudio, true},
		{"audio/mpeg ; Q=0.9 , application/json ; q=0.8", mp3, RepAudio, true},
	}
	for _, tt := range tests {
		t.Run(tt.accept+" with "+tt.audioType, func(t *testing.T) {
			got, ok := Negotiate(tt.accept, tt.audioType)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Negotiate(%q, %q) = %v, %v; want %v, %v", tt.accept, tt.audioType, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRepresentationString(t *testing.T) {
	for rep, want := range map[Representation]string{RepJSON: "json", RepAudio: "audio", 7: "unknown"} {
		if got := rep.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(rep), got, want)
		}
	}
}
