package api

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// pieceReader yields src a few KB at a time, as a socket does, then err (io.EOF when nil).
type pieceReader struct {
	src   []byte
	piece int
	err   error
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.src) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.piece)], r.src)
	r.src = r.src[n:]
	return n, nil
}

// writeSizes records each write.
type writeSizes struct {
	bytes.Buffer
	sizes []int
	fail  error
}

func (w *writeSizes) Write(p []byte) (int, error) {
	if w.fail != nil {
		return 0, w.fail
	}
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

func TestCopyAudio(t *testing.T) {
	audio := make([]byte, 1<<20+123)
	for i := range audio {
		audio[i] = byte(i * 7)
	}
	cut := errors.New("connection reset")
	tests := []struct {
		name    string
		src     io.Reader
		dst     *writeSizes
		want    int64
		wantErr error
	}{
		{"small pieces are gathered", &pieceReader{src: audio, piece: 5000}, &writeSizes{}, int64(len(audio)), nil},
		{"large reads", &pieceReader{src: audio, piece: audioBufferSize}, &writeSizes{}, int64(len(audio)), nil},
		{"a read error after some bytes", &pieceReader{src: audio[:300000], piece: 5000, err: cut}, &writeSizes{}, 300000, cut},
		{"a write error", &pieceReader{src: audio, piece: 5000}, &writeSizes{fail: cut}, 0, cut},
		{"empty", &pieceReader{}, &writeSizes{}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := copyAudio(tt.dst, tt.src)
			if n != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("copied %d, err %v; want %d, %v", n, err, tt.want, tt.wantErr)
			}
			if !bytes.Equal(tt.dst.Bytes(), audio[:n]) {
				t.Fatalf("the %d bytes written differ from the source", n)
			}
			if len(tt.dst.sizes) > 2+int(n)/audioWriteMin {
				t.Errorf("%d writes for %d bytes", len(tt.dst.sizes), n)
			}
			for i, size := range tt.dst.sizes {
				// The first bytes go out as they come; then no write is small but the last.
				if i > 0 && i < len(tt.dst.sizes)-1 && size < audioWriteMin {
					t.Errorf("write %d of %d: %d bytes, want at least %d", i, len(tt.dst.sizes), size, audioWriteMin)
				}
			}
		})
	}
}
