package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// withRequest gives every request its id and envelope metadata, turns a panic into a 500
// envelope, and writes one access-log line (never the token, never the raw query).
func (s *server) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		rc := &requestContext{}
		rc.meta = s.meta(r)
		r = r.WithContext(withRequestContext(r.Context(), rc))
		rw := &recordingWriter{ResponseWriter: w, rc: rc, stall: s.cfg.StallTimeout}
		defer func() {
			if rw.stall > 0 {
				// the deadline would outlive this request on a keep-alive connection
				_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
			}
			p := recover()
			aborted := p == http.ErrAbortHandler // a stream cut on purpose: log it, then let net/http drop the connection
			if p != nil && !aborted {
				s.log.Error("panic serving request", zap.Any("panic", p), zap.String("request_id", rc.meta.RequestID), zap.Stack("stack"))
				if rc.status == 0 {
					writeError(rw, r, crossbar.Internal())
				}
			}
			route := orDefault(rc.route, "unmatched")
			s.metrics.ObserveRequest(route, r.Method, rc.status, time.Since(started))
			s.log.Info("request",
				zap.String("method", r.Method),
				zap.String("route", route),
				zap.Int("status", rc.status),
				zap.Int64("bytes", rc.bytes),
				zap.Duration("duration", time.Since(started)),
				zap.String("request_id", rc.meta.RequestID),
				zap.String("account_id", rc.accountID),
				zap.String("credentials", rc.caller.Method),
				zap.Bool("system_token", rc.caller.AllAccounts),
				zap.Bool("aborted", aborted),
			)
			if aborted {
				panic(p)
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

// noteRoute records the matched route's template for the access log (paths hold ids).
func noteRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if t, err := route.GetPathTemplate(); err == nil {
				reqCtx(r).route = t
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recordingWriter notes status and size for the access log, and drops a client that stops
// reading (each write must finish within stall); it keeps Flush for streaming.
type recordingWriter struct {
	http.ResponseWriter
	rc    *requestContext
	stall time.Duration
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.rc.status == 0 {
		w.rc.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.rc.status == 0 {
		w.rc.status = http.StatusOK
	}
	if w.stall > 0 {
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(w.stall))
	}
	n, err := w.ResponseWriter.Write(b)
	w.rc.bytes += int64(n)
	return n, err
}

func (w *recordingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestToken reads the token like crossbar: X-Auth-Token, else the auth_token query value
// (browsers' <audio src> cannot send headers).
func requestToken(r *http.Request) string {
	if t := strings.TrimSpace(r.Header.Get("X-Auth-Token")); t != "" {
		return t
	}
	return r.URL.Query().Get("auth_token")
}

// requestCredentials gathers what crossbar reads: the token, X-Auth-Account-Id, and
// Basic credentials when no token is sent.
func requestCredentials(r *http.Request) auth.Credentials {
	c := auth.Credentials{Token: requestToken(r), AccountHeader: strings.TrimSpace(r.Header.Get("X-Auth-Account-Id"))}
	if c.Token == "" {
		if user, pass, ok := r.BasicAuth(); ok {
			c.Basic = &auth.BasicCredentials{AccountID: user, Secret: pass}
		}
	}
	return c
}

// authenticate answers 401 unless the request carries valid credentials (423 for an
// account whose trial is over).
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		creds := requestCredentials(r)
		rc.meta.AuthToken = creds.Token
		id, err := s.authn.Authenticate(r.Context(), creds)
		if err == nil {
			id, err = auth.ResolvePrivilege(r.Context(), s.store, id)
		}
		var expired *auth.AccountExpiredError
		switch {
		case errors.Is(err, auth.ErrInvalidToken):
			writeError(w, r, crossbar.InvalidCredentials())
			return
		case errors.As(err, &expired):
			writeError(w, r, crossbar.AccountExpired(expired.ExpiredAt))
			return
		case err != nil:
			s.fail(w, r, err, "")
			return
		}
		rc.caller.Identity = id
		next.ServeHTTP(w, r)
	})
}

// loadAccount checks the account id of the path and loads its document (404 when it does not
// exist, as crossbar answers before authorizing).
func (s *server) loadAccount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		accountID, _ := pathVar(r, "account_id")
		if !recording.ValidAccountID(accountID) {
			writeError(w, r, &crossbar.APIError{
				Status:  http.StatusNotFound,
				Message: "bad identifier",
				Data:    map[string]any{"message": "invalid account_id '" + accountID + "'"},
			})
			return
		}
		rc.accountID = accountID // logged even when the account turns out not to exist
		doc, err := s.accounts.get(r.Context(), accountID)
		if err != nil {
			s.fail(w, r, err, accountID)
			return
		}
		rc.account = doc
		next.ServeHTTP(w, r)
	})
}

// authorize asks the policy whether the caller may do the route's action on the path's
// account, before any recording is read. Each handler asks again per recording.
func (s *server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		action, declared, served := routeAction(r)
		switch {
		case !declared:
			// a route registered without an action: refused, never served unchecked
			s.log.Error("route declares no authorization action", zap.String("route", rc.route))
			writeError(w, r, crossbar.Forbidden())
			return
		case !served:
			next.ServeHTTP(w, r) // 405, without reading anything
			return
		}
		if err := s.loadCaller(r.Context(), rc); err != nil {
			s.fail(w, r, err, "")
			return
		}
		pathUser, _ := pathVar(r, "user_id")
		d := s.policy.Decide(authz.Request{Caller: rc.caller, Action: action,
			Target: authz.AccountOf(rc.accountID, rc.account), PathUser: pathUser})
		if !d.Allowed {
			writeError(w, r, refusal(d.Reason, rc.caller.Account))
			return
		}
		rc.onlyOwner = d.OnlyOwner
		next.ServeHTTP(w, r)
	})
}

// loadCaller loads the caller's own account document (none for system tokens).
func (s *server) loadCaller(ctx context.Context, rc *requestContext) error {
	id := rc.caller.Identity
	switch {
	case id.AllAccounts:
		return nil
	case id.AccountID == rc.accountID:
		rc.caller.Account = authz.AccountOf(id.AccountID, rc.account)
		return nil
	case !recording.ValidAccountID(id.AccountID):
		rc.caller.Account = authz.AccountOf(id.AccountID, nil)
		return nil
	}
	own, err := s.accounts.get(ctx, id.AccountID)
	if err != nil && !recording.IsNotFound(err) {
		return err
	}
	rc.caller.Account = authz.AccountOf(id.AccountID, own)
	return nil
}

// refusal is the envelope of a policy's refusal: Kazoo's 423 for an expired trial, else 403
// naming the reason.
func refusal(why authz.Reason, callerAccount authz.Account) *crossbar.APIError {
	if why == authz.TrialExpired {
		return crossbar.AccountExpired(callerAccount.TrialExpires)
	}
	return crossbar.ForbiddenBecause(why.Message())
}

// loadUser checks that the user of a /users/{user_id}/… path exists in the account.
func (s *server) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		userID, ok := pathVar(r, "user_id")
		if !ok || !validDocID(userID) {
			writeError(w, r, crossbar.BadIdentifier(userID))
			return
		}
		if _, err := s.store.User(r.Context(), rc.accountID, userID); err != nil {
			s.fail(w, r, err, userID)
			return
		}
		rc.userID = userID
		next.ServeHTTP(w, r)
	})
}

// pathVar returns a decoded path variable; ok is false when its escaping is invalid.
func pathVar(r *http.Request, name string) (string, bool) {
	raw := mux.Vars(r)[name]
	v, err := url.PathUnescape(raw)
	if err != nil {
		return raw, false
	}
	return v, true
}

// validDocID accepts ids that stay inside their database: no "_" prefix, no "/".
func validDocID(id string) bool {
	if id == "" || len(id) > recording.MaxRecordingIDLength || id[0] == '_' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("@._~-", c) >= 0) {
			return false
		}
	}
	return true
}
