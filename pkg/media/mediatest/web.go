package mediatest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Web is a web server keeping objects as kz_att_http stores them: GET reads, DELETE removes;
// RefuseDeletes makes DELETE fail as a read-only provider would.
type Web struct {
	*httptest.Server
	mu      sync.Mutex
	objects map[string][]byte
	refuse  bool
	deletes int
}

// NewWeb starts a Web server, closed when the test ends.
func NewWeb(t testing.TB) *Web {
	ws := &Web{objects: map[string][]byte{}}
	ws.Server = httptest.NewServer(http.HandlerFunc(ws.serve))
	t.Cleanup(ws.Close)
	return ws
}

func (ws *Web) serve(w http.ResponseWriter, r *http.Request) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		b, ok := ws.objects[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	case http.MethodDelete:
		if ws.refuse {
			http.Error(w, "read-only", http.StatusForbidden)
			return
		}
		ws.deletes++
		delete(ws.objects, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// Put stores an object at path.
func (ws *Web) Put(path string, b []byte) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.objects[path] = b
}

// Has reports whether an object is at path.
func (ws *Web) Has(path string) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	_, ok := ws.objects[path]
	return ok
}

// RefuseDeletes makes every DELETE answer 403 (true) or succeed again (false).
func (ws *Web) RefuseDeletes(refuse bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.refuse = refuse
}

// Deletes is the number of objects deleted so far.
func (ws *Web) Deletes() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.deletes
}

// URLOf is the object's URL with a user and password in it, as a storage plan may write it.
func (ws *Web) URLOf(path, password string) string {
	return strings.Replace(ws.URL, "http://", "http://kazoo:"+password+"@", 1) + path
}
