package api

import "testing"

func TestContentDisposition(t *testing.T) {
	tests := []struct {
		inline bool
		name   string
		want   string
	}{
		{false, "call.mp3", `attachment; filename="call.mp3"`},
		{true, "call one.mp3", `inline; filename="call one.mp3"`},
		{false, `a"b\c` + "\r\n.mp3", `attachment; filename="a_b_c__.mp3"`},
		{false, "l'été (1).mp3", `attachment; filename="l'_t_ (1).mp3"; filename*=UTF-8''l%27%C3%A9t%C3%A9%20%281%29.mp3`},
		{false, "appel-été.mp3", `attachment; filename="appel-_t_.mp3"; filename*=UTF-8''appel-%C3%A9t%C3%A9.mp3`},
	}
	for _, tt := range tests {
		if got := contentDisposition(tt.inline, tt.name); got != tt.want {
			t.Errorf("contentDisposition(%v, %q) = %q, want %q", tt.inline, tt.name, got, tt.want)
		}
	}
}
