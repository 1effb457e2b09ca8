package api

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
)

// RateLimit is one token bucket per key: Rate requests per second, bursts of Burst.
// Zero Rate disables it.
type RateLimit struct {
	Rate  float64
	Burst int
}

// limiters keeps a bucket per client IP or account; idle buckets are dropped.
type limiters struct {
	limit RateLimit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	limiter  *rate.Limiter
	lastSeen time.Time
}

// idleBucket is how long an unused bucket is kept; a full bucket after that is the same as new.
const idleBucket = 10 * time.Minute

func newLimiters(l RateLimit, now func() time.Time) *limiters {
	if l.Rate <= 0 {
		return nil
	}
	if l.Burst < 1 {
		l.Burst = int(math.Max(1, math.Ceil(l.Rate)))
	}
	return &limiters{limit: l, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket; when empty it says how long until the next one.
func (l *limiters) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > idleBucket {
		for k, b := range l.buckets {
			if now.Sub(b.lastSeen) > idleBucket {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{limiter: rate.NewLimiter(rate.Limit(l.limit.Rate), l.limit.Burst)}
		l.buckets[key] = b
	}
	b.lastSeen = now
	r := b.limiter.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// tooManyRequests answers Kazoo's 429 with a Retry-After.
func tooManyRequests(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeError(w, r, &crossbar.APIError{Status: http.StatusTooManyRequests, Message: "too_many_requests",
		Data: map[string]any{"message": "rate limit reached, retry later"}})
}

// limitByIP applies the per-client-IP bucket before anything else is done for the request.
func (s *server) limitByIP(next http.Handler) http.Handler {
	if s.ipLimits == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			ip = r.RemoteAddr
		}
		if ok, wait := s.ipLimits.allow(ip); !ok {
			s.metrics.RateLimited("ip")
			tooManyRequests(w, r, wait)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitByAccount applies the per-account bucket once the path's account is known.
func (s *server) limitByAccount(next http.Handler) http.Handler {
	if s.accountLimits == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.accountLimits.allow(reqCtx(r).accountID); !ok {
			s.metrics.RateLimited("account")
			tooManyRequests(w, r, wait)
			return
		}
		next.ServeHTTP(w, r)
	})
}
